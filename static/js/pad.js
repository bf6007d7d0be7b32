// DigitPad drawing page: draw (or photograph) a digit or a number, read the answer,
// flag what was read wrong.
(function () {
  "use strict";

  const RETRY_MS = [1000, 2000, 4000, 8000, 15000]; // waits between automatic retries
  const REQUEST_TIMEOUT_MS = 10000;
  const UNDO_FLAG_MS = 8000; // how long "Undo" stays beside a saved flag
  const UPLOAD_SIDE = 640; // photos are scaled down before they leave the phone
  const TOP_BARS = 3;

  const $ = (id) => document.getElementById(id);
  const canvas = $("pad");
  const ctx = canvas.getContext("2d");
  const ui = {
    hint: $("pad-hint"), padStatus: $("pad-status"), empty: $("empty-state"),
    problem: $("problem"), problemTitle: $("problem-title"), problemText: $("problem-text"),
    retry: $("retry"), result: $("result"), digit: $("digit"), verdict: $("verdict"),
    alternatives: $("alternatives"), seen: $("preprocessed"), topBars: $("top-bars"),
    bars: $("bars"), flag: $("flag"), flagButtons: $("flag-buttons"),
    flagMessage: $("flag-message"), flagStatus: $("flag-status"), flagUndo: $("flag-undo"),
    wasDigit: $("was-digit"), announce: $("announce"), layout: $("layout"),
    title: $("pad-title"), headline: $("headline"), allBars: $("all-bars"),
    flagTitle: $("flag-title"), number: $("number-result"), numberText: $("number-text"),
    numberVerdict: $("number-verdict"), numberDigits: $("number-digits"),
    numberOffer: $("number-offer"), numberOfferText: $("number-offer-text"),
    numberOfferButton: $("number-offer-button"),
  };
  const MODES = {
    digit: { endpoint: "/api/predict", title: "Draw a digit", idField: "prediction_id" },
    number: { endpoint: "/api/read", title: "Write a number", idField: "number_id" },
  };

  // ------------------------------------------------------------ state
  const strokes = []; // each stroke: array of [x, y] in CSS pixels of the pad
  let current = null; // the stroke being drawn
  let strokeStart = 0;
  let photo = null; // {bitmap, blob} when the pad shows a picture instead of strokes
  let cleared = null; // what Clear removed, until the next drawing: Undo brings it back
  let size = { w: 0, h: 0 };
  let version = 0; // bumps on every change of the drawing
  let drawingEpoch = 0; // bumps when a new drawing starts (Clear, a photo)
  let storedId = null; // the stored prediction of this drawing: the next request replaces it
  let storedEpoch = -1;
  let mode = readMode();
  let answer = null; // the reply on screen
  let target = null; // what a flag applies to: the digit shown, or the chosen digit of a number
  let sending = false; // at most one request in flight
  let pending = false; // the drawing changed while one was in flight
  let controller = null;
  let retryTimer = null;
  let retries = 0;
  let flagTimer = null;

  // ------------------------------------------------------------ drawing
  function colours() {
    const style = getComputedStyle(document.documentElement);
    return { paper: style.getPropertyValue("--paper").trim() || "#fff",
             ink: style.getPropertyValue("--ink").trim() || "#111" };
  }

  function lineWidth() {
    return Math.max(6, Math.round(Math.min(size.w, size.h) / 16));
  }

  function resize() {
    const rect = canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) return;
    // The drawing scales with the pad (rotation, a new window size).
    if (size.w && (Math.abs(rect.width - size.w) > 0.5 || Math.abs(rect.height - size.h) > 0.5)) {
      const k = Math.min(rect.width / size.w, rect.height / size.h);
      for (const stroke of strokes) for (const p of stroke) { p[0] *= k; p[1] *= k; }
      if (current) for (const p of current) { p[0] *= k; p[1] *= k; }
      if (answer && answer.digits) for (const d of answer.digits) d.box = d.box.map((v) => v * k);
    }
    const dpr = window.devicePixelRatio || 1;
    size = { w: rect.width, h: rect.height };
    canvas.width = Math.round(rect.width * dpr);
    canvas.height = Math.round(rect.height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    redraw();
  }

  function strokePath(points, ink) {
    ctx.lineWidth = lineWidth();
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = ink;
    ctx.fillStyle = ink;
    if (points.length === 1) {
      ctx.beginPath();
      ctx.arc(points[0][0], points[0][1], ctx.lineWidth / 2, 0, Math.PI * 2);
      ctx.fill();
      return;
    }
    // Quadratic curves through the midpoints give smooth strokes.
    ctx.beginPath();
    ctx.moveTo(points[0][0], points[0][1]);
    for (let i = 1; i < points.length - 1; i++) {
      const mx = (points[i][0] + points[i + 1][0]) / 2;
      const my = (points[i][1] + points[i + 1][1]) / 2;
      ctx.quadraticCurveTo(points[i][0], points[i][1], mx, my);
    }
    const last = points[points.length - 1];
    ctx.lineTo(last[0], last[1]);
    ctx.stroke();
  }

  function redraw() {
    const { paper, ink } = colours();
    ctx.clearRect(0, 0, size.w, size.h);
    ctx.fillStyle = paper;
    ctx.fillRect(0, 0, size.w, size.h);
    if (photo) {
      const k = Math.min(size.w / photo.bitmap.width, size.h / photo.bitmap.height);
      const w = photo.bitmap.width * k;
      const h = photo.bitmap.height * k;
      ctx.drawImage(photo.bitmap, (size.w - w) / 2, (size.h - h) / 2, w, h);
    }
    strokes.forEach((s) => strokePath(s, ink));
    if (current) strokePath(current, ink);
    drawBoxes();
    ui.hint.hidden = strokes.length > 0 || current !== null || photo !== null;
  }

  // Where a box in the answer's pixels lies on the pad: the canvas itself for
  // strokes; for a picture, where it is drawn (centred, scaled to fit).
  function onPad(box) {
    if (!photo || !answer.size) return box;
    const k = Math.min(size.w / photo.bitmap.width, size.h / photo.bitmap.height);
    const w = photo.bitmap.width * k;
    const h = photo.bitmap.height * k;
    const sx = w / answer.size[0];
    const sy = h / answer.size[1];
    const left = (size.w - w) / 2;
    const top = (size.h - h) / 2;
    return [left + box[0] * sx, top + box[1] * sy, left + box[2] * sx, top + box[3] * sy];
  }

  // Number mode: a box around each digit read, the chosen one drawn thicker;
  // the separators (points, commas, dashes) greyed, as no digit.
  function drawBoxes() {
    if (mode !== "number" || !answer || !answer.digits) return;
    const style = getComputedStyle(document.documentElement);
    ctx.lineWidth = 1;
    ctx.setLineDash([2, 3]);
    ctx.strokeStyle = style.getPropertyValue("--muted").trim();
    for (const s of answer.separators || []) {
      const [x0, y0, x1, y1] = onPad(s.box);
      ctx.strokeRect(x0 - 3, y0 - 3, x1 - x0 + 6, y1 - y0 + 6);
    }
    answer.digits.forEach((d) => {
      const [x0, y0, x1, y1] = onPad(d.box);
      const chosen = target === d;
      ctx.lineWidth = chosen ? 3 : 1.5;
      ctx.setLineDash(d.verdict === "sure" ? [] : [6, 4]);
      ctx.strokeStyle = (d.verdict === "sure" ? style.getPropertyValue("--accent")
                                              : style.getPropertyValue("--accent-2")).trim();
      ctx.strokeRect(x0 - 4, y0 - 4, x1 - x0 + 8, y1 - y0 + 8);
    });
    ctx.setLineDash([]);
  }

  function boxAt(p) {
    if (mode !== "number" || !answer || !answer.digits) return null;
    return answer.digits.find((d) => p[0] >= d.box[0] - 6 && p[0] <= d.box[2] + 6 &&
                                     p[1] >= d.box[1] - 6 && p[1] <= d.box[3] + 6) || null;
  }

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    const x = Math.min(Math.max(event.clientX - rect.left, 0), rect.width);
    const y = Math.min(Math.max(event.clientY - rect.top, 0), rect.height);
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 && event.pointerType === "mouse") return;
    event.preventDefault();
    try {
      canvas.setPointerCapture(event.pointerId); // keep the stroke when leaving the pad
    } catch (err) {
      // Not an active pointer (synthetic events): draw without capture.
    }
    if (photo) startDrawing(); // a stroke on a photo starts a new drawing
    cleared = null;
    setPadStatus("");
    current = [point(event)];
    strokeStart = performance.now();
    redraw();
  });

  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    event.preventDefault();
    // Coalesced events fill in the points the browser merged between frames.
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) {
      const p = point(e);
      const last = current[current.length - 1];
      if (Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]) >= 1) current.push(p);
    }
    redraw();
  });

  function endStroke(event) {
    if (!current) return;
    if (event && event.type === "pointerup") {
      const p = point(event);
      const last = current[current.length - 1];
      if (p[0] !== last[0] || p[1] !== last[1]) current.push(p);
    }
    const tap = current.length <= 2 && performance.now() - strokeStart < 300 &&
      Math.abs(current[0][0] - current[current.length - 1][0]) + Math.abs(current[0][1] - current[current.length - 1][1]) < 4;
    const tapped = tap ? boxAt(current[0]) : null;
    if (tapped) { // a tap on a digit's box chooses that digit, it draws nothing
      current = null;
      chooseDigit(tapped);
      return;
    }
    strokes.push(current);
    current = null;
    redraw();
    performance.mark("pad:lift");
    changed();
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  canvas.addEventListener("lostpointercapture", () => endStroke(null));

  // ------------------------------------------------------------ asking the server
  // No debounce: a request leaves as the pen lifts. While one is in flight the
  // next waits, and only the newest drawing is sent when it returns.
  function changed() {
    version += 1;
    clearTimeout(retryTimer);
    retries = 0;
    if (!strokes.length && !photo) return showEmpty();
    pending = true;
    if (!sending) send();
  }

  function startDrawing() {
    drawingEpoch += 1;
    strokes.length = 0;
    current = null;
    photo = null;
  }

  // A retry of the same drawing (its reply was lost) carries the same key, so
  // the server answers the row it stored instead of storing a second one.
  const pageKey = Math.random().toString(36).slice(2, 12) + Date.now().toString(36);

  function requestBody() {
    const key = { "Idempotency-Key": [pageKey, mode, drawingEpoch, version].join("-") };
    if (photo) {
      const form = new FormData();
      form.append("image", photo.blob, "photo.png");
      return { body: form, headers: key };
    }
    const body = { strokes: strokes, width: Math.round(size.w), height: Math.round(size.h),
                   line_width: lineWidth() };
    if (storedId !== null && storedEpoch === drawingEpoch) body.replaces = storedId;
    return { body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...key } };
  }

  async function send() {
    pending = false;
    sending = true;
    const seq = version;
    const epoch = drawingEpoch;
    const { body, headers } = requestBody();
    controller = new AbortController();
    const timeout = setTimeout(() => controller.abort("timeout"), REQUEST_TIMEOUT_MS);
    let reply = null;
    let failure = null;
    try {
      const response = await fetch(MODES[mode].endpoint, { method: "POST", headers, body,
                                                          signal: controller.signal });
      let data = {};
      try { data = await response.json(); } catch (err) { data = {}; }
      reply = { status: response.status, ok: response.ok, data,
                retryAfter: Number(response.headers.get("Retry-After")) || 0 };
    } catch (err) {
      failure = controller.signal.aborted && controller.signal.reason !== "timeout" ? "aborted" : "network";
    } finally {
      clearTimeout(timeout);
      sending = false;
      controller = null;
    }
    const id = reply && reply.ok ? reply.data[MODES[mode].idField] : null;
    if (epoch === drawingEpoch && id != null) {
      storedId = id; // even a stale reply names this drawing's row
      storedEpoch = epoch;
    }
    if (pending) return send(); // the drawing changed meanwhile: only the newest counts
    if (seq !== version || failure === "aborted") return;
    if (failure) return trouble("network");
    if (reply.ok) {
      retries = 0;
      return render(reply.data);
    }
    // An empty drawing is no problem; any other refusal says why in the server's words.
    if (reply.status === 422 && !photo && /empty/.test(reply.data.error || "")) return showEmpty();
    // A limit that lifts soon is waited out; a daily one (the storage quota) is explained.
    if (reply.status === 429 && reply.retryAfter <= 120) return trouble("busy", reply.retryAfter);
    if (reply.status >= 500) return trouble("server");
    return trouble("refused", 0, reply.data.error);
  }

  // ------------------------------------------------------------ plain-language problems
  function trouble(kind, waitSeconds, detail) {
    const offline = navigator.onLine === false;
    const texts = {
      network: offline
        ? ["You are offline.", "Your drawing is kept; it will be read as soon as you are back online."]
        : ["DigitPad cannot be reached right now.", "Your drawing is kept; it will be read as soon as the connection is back."],
      server: ["DigitPad could not read this drawing just now.", "The server had a problem; trying again on its own."],
      busy: ["Many drawings at once.", "Waiting a moment before trying again."],
      refused: ["This drawing could not be read.", detail ? capitalise(detail) + "." : "Try drawing it again."],
    };
    const [title, text] = texts[kind];
    if (photo) setPadStatus(kind === "refused" ? "Draw on the pad to start again." : "");
    ui.problemTitle.textContent = title;
    ui.problemText.textContent = text;
    ui.problem.hidden = false;
    ui.result.hidden = true;
    ui.number.hidden = true;
    ui.empty.hidden = true;
    ui.retry.hidden = kind === "refused";
    announce(title);
    if (kind !== "refused" && !offline) {
      const wait = waitSeconds ? waitSeconds * 1000 : RETRY_MS[Math.min(retries, RETRY_MS.length - 1)];
      retries += 1;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(retryNow, wait);
    }
  }

  function retryNow() {
    clearTimeout(retryTimer);
    if (!strokes.length && !photo) return showEmpty();
    ui.problemText.textContent = "Trying again…";
    pending = true;
    if (!sending) send();
  }

  ui.retry.addEventListener("click", () => { retries = 0; retryNow(); });
  window.addEventListener("online", () => { if (!ui.problem.hidden) { retries = 0; retryNow(); } });
  window.addEventListener("offline", () => { if (!ui.problem.hidden || sending) trouble("network"); });

  function capitalise(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // ------------------------------------------------------------ showing the answer
  function showEmpty() {
    clearTimeout(retryTimer);
    pending = false;
    if (controller) controller.abort();
    answer = null;
    target = null;
    ui.result.hidden = true;
    ui.number.hidden = true;
    ui.problem.hidden = true;
    ui.empty.hidden = false;
    redraw();
  }

  function article(digit) {
    return digit === 8 ? "an 8" : "a " + digit;
  }

  function percent(p) {
    return (p * 100).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1) + "%";
  }

  function render(data) {
    answer = data;
    clearTimeout(flagTimer);
    ui.problem.hidden = true;
    ui.empty.hidden = true;
    ui.numberOffer.hidden = true;
    if (photo) setPadStatus("Draw on the pad to start again.");
    if (mode === "number") renderNumber(data);
    else renderDigit(data);
    if (photo && mode === "digit" && data.verdict !== "sure") offerNumber(photo);
    redraw();
    performance.mark("pad:answer");
    try { performance.measure("pad:lift-to-answer", "pad:lift", "pad:answer"); } catch (err) { /* a photo */ }
  }

  // What a person reads for a verdict: "Sure: 98%", "Not sure: 4 or 9?", "not a digit".
  function describe(d) {
    const none = d.verdict === "not_a_digit";
    const unsure = d.verdict === "unsure";
    const alternatives = unsure ? (d.alternatives || []).filter((a) => a !== d.digit) : [];
    let text;
    if (none) {
      text = "That doesn't look like a digit.";
    } else if (unsure && alternatives.length) {
      const options = [d.digit].concat(alternatives).map(String);
      text = "Not sure: " + options.slice(0, -1).join(", ") + " or " + options[options.length - 1] + "?";
    } else if (unsure) {
      text = "Probably " + d.digit + ", but not sure (" + percent(d.confidence) + ").";
    } else {
      text = "Sure: " + percent(d.confidence);
    }
    return { none, unsure, alternatives, text };
  }

  function renderDigit(data) {
    ui.result.hidden = false;
    ui.number.hidden = true;
    ui.headline.hidden = false;
    ui.allBars.hidden = false;
    ui.flagTitle.textContent = "Wrong? It was:";
    ui.seen.src = data.preprocessed;
    const { none, unsure, alternatives, text } = describe(data);
    target = data;
    ui.digit.textContent = none ? "?" : String(data.digit);
    ui.verdict.className = "verdict" + (none ? " verdict-none" : unsure ? " verdict-unsure" : "");
    ui.verdict.textContent = text;
    ui.alternatives.replaceChildren(...alternatives.map((d) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "It's " + article(d);
      button.dataset.digit = String(d);
      button.addEventListener("click", () => flag(d));
      return button;
    }));
    renderBars(data);
    // "Not a digit" has no "wrong?" buttons; a person who did draw a digit can still say which.
    ui.flag.hidden = none;
    ui.wasDigit.hidden = !none;
    armFlagButtons(data);
    canvas.setAttribute("aria-label", "Drawing pad: " + (none ? "no digit read" : "reads " + data.digit));
    announce(none ? text : data.digit + ". " + text);
  }

  function armFlagButtons(d) {
    const none = d.verdict === "not_a_digit";
    for (const button of ui.flagButtons.children) {
      const digit = Number(button.dataset.digit);
      const isAnswer = digit === d.digit && !none;
      button.disabled = isAnswer;
      button.classList.toggle("is-answer", isAnswer);
      button.setAttribute("aria-label", isAnswer ? digit + " is the answer" : "It was " + digit);
      button.setAttribute("aria-pressed", String(d.flaggedAs === digit));
    }
    setFlagStatus("", "");
  }

  // ------------------------------------------------------------ numbers
  function renderNumber(data) {
    ui.number.hidden = false;
    ui.result.hidden = true;
    target = null;
    const digits = data.digits || [];
    ui.numberText.textContent = data.written || data.text; // "12.428": separators as written
    const doubtful = digits.filter((d) => d.verdict !== "sure").length;
    ui.numberVerdict.textContent = doubtful
      ? doubtful + " of " + digits.length + (digits.length === 1 ? " digit is" : " digits are") +
        " uncertain. Tap a digit read wrong to correct it."
      : "Tap a digit read wrong to correct it.";
    ui.numberDigits.replaceChildren(...digits.map((d, i) => {
      const { none, unsure, alternatives } = describe(d);
      const item = document.createElement("li");
      const card = document.createElement("button");
      card.type = "button";
      card.className = "digit-card" + (none ? " none" : unsure ? " unsure" : "");
      card.dataset.index = String(i);
      card.setAttribute("aria-pressed", "false");
      const verdict = none ? "not a digit" : unsure ? (alternatives.length ? "or " + alternatives.join(" or ") + "?" : "not sure") : "sure";
      card.innerHTML = '<span class="visually-hidden"></span><span class="card-digit"></span>' +
        '<span class="card-confidence"></span><span class="card-verdict"></span>';
      card.querySelector(".visually-hidden").textContent = "Digit " + (i + 1) + ":";
      card.querySelector(".card-digit").textContent = none ? "?" : String(d.digit);
      card.querySelector(".card-confidence").textContent = percent(d.confidence);
      card.querySelector(".card-verdict").textContent = verdict;
      card.addEventListener("click", () => chooseDigit(d));
      d.card = card;
      d.flaggedAs = d.flag != null ? d.flag : null; // corrected before this stroke
      card.classList.toggle("flagged", d.flaggedAs !== null);
      item.appendChild(card);
      return item;
    }));
    canvas.setAttribute("aria-label", "Drawing pad: reads " + (data.text || "nothing"));
    announce("Read " + data.text);
  }

  // A digit of the number is chosen: the "wrong?" buttons now correct it alone.
  function chooseDigit(d) {
    if (!answer || !answer.digits || answer.digits.indexOf(d) < 0) return;
    target = d;
    for (const other of answer.digits) other.card.setAttribute("aria-pressed", String(other === d));
    const index = answer.digits.indexOf(d) + 1;
    ui.result.hidden = false;
    ui.headline.hidden = true;
    ui.allBars.hidden = true;
    ui.wasDigit.hidden = true;
    ui.flag.hidden = false;
    ui.flagTitle.textContent = "Digit " + index + (d.verdict === "not_a_digit" ? ", read as no digit" : ", read as " + d.digit) + ". It was:";
    ui.topBars.replaceChildren();
    armFlagButtons(d);
    if (d.flaggedAs != null) setFlagStatus("Saved: it was " + article(d.flaggedAs) + ".", "saved", true);
    redraw();
  }

  function renderBars(data) {
    data.probabilities.forEach((p, digit) => fillBar(ui.bars.children[digit], digit, p, data.digit));
    const order = data.probabilities.map((p, d) => [p, d]).sort((a, b) => b[0] - a[0]).slice(0, TOP_BARS);
    ui.topBars.replaceChildren(...order.map(([p, d]) => fillBar(makeBar(), d, p, data.digit)));
  }

  function makeBar() {
    const item = document.createElement("li");
    item.className = "bar";
    item.innerHTML = '<span class="bar-label"></span>' +
      '<span class="bar-track"><span class="bar-fill"></span></span><span class="bar-value"></span>';
    return item;
  }

  function fillBar(item, digit, p, top) {
    const pct = (p * 100).toFixed(1) + "%";
    item.querySelector(".bar-label").textContent = String(digit);
    item.querySelector(".bar-fill").style.width = Math.max(p * 100, 0.5) + "%";
    item.querySelector(".bar-value").textContent = pct;
    item.classList.toggle("top", digit === top);
    item.setAttribute("aria-label", digit + ": " + pct);
    item.dataset.probability = String(p);
    item.dataset.digit = String(digit);
    return item;
  }

  function announce(text) {
    ui.announce.textContent = text;
  }

  // ------------------------------------------------------------ flagging
  function setFlagStatus(text, state, undoable) {
    ui.flagMessage.textContent = text;
    ui.flagStatus.classList.toggle("saved", state === "saved");
    ui.flagStatus.classList.toggle("failed", state === "failed");
    ui.flagUndo.hidden = !undoable;
  }

  function markChosen(label) {
    for (const button of ui.flagButtons.children) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.digit) === label));
    }
  }

  async function flag(label) {
    if (!target || target.prediction_id == null) return;
    const none = target.verdict === "not_a_digit";
    if (label === target.digit && !none) {
      setFlagStatus(label + " is the answer already. If it is wrong, choose the digit it should have been.", "");
      return;
    }
    const chosen = target;
    ui.flag.hidden = false;
    markChosen(label);
    setFlagStatus("Saving…", "");
    clearTimeout(flagTimer);
    try {
      const response = await fetch("/api/predictions/" + chosen.prediction_id + "/flag", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ label: label }),
      });
      const data = await response.json().catch(() => ({}));
      if (chosen !== target) return;
      if (!response.ok) {
        markChosen(chosen.flaggedAs != null ? chosen.flaggedAs : -1);
        return setFlagStatus("Not saved: " + (data.error || "the server refused it") + ".", "failed");
      }
      chosen.flaggedAs = data.label;
      if (chosen.card) chosen.card.classList.add("flagged");
      setFlagStatus("Saved: it was " + article(data.label) + ". Thank you!", "saved", true);
      flagTimer = setTimeout(() => { ui.flagUndo.hidden = true; }, UNDO_FLAG_MS);
    } catch (err) {
      if (chosen !== target) return;
      markChosen(chosen.flaggedAs != null ? chosen.flaggedAs : -1);
      setFlagStatus(navigator.onLine === false
        ? "Not saved: you are offline. Choose the digit again when you are back online."
        : "Not saved: DigitPad cannot be reached. Choose the digit again in a moment.", "failed");
    }
  }

  async function unflag() {
    if (!target || target.flaggedAs == null) return;
    const chosen = target;
    clearTimeout(flagTimer);
    try {
      const response = await fetch("/api/predictions/" + chosen.prediction_id + "/flag",
                                   { method: "DELETE" });
      const data = await response.json().catch(() => ({}));
      if (chosen !== target) return;
      if (!response.ok && response.status !== 404) {
        return setFlagStatus("Could not undo: " + (data.error || "the server refused it") + ".", "failed");
      }
      chosen.flaggedAs = null;
      if (chosen.card) chosen.card.classList.remove("flagged");
      markChosen(-1);
      setFlagStatus("Flag taken back.", "");
    } catch (err) {
      setFlagStatus("Could not undo: DigitPad cannot be reached.", "failed", true);
    }
  }

  // ------------------------------------------------------------ pictures
  // A picture that is no single digit may be a number: read it as one (nothing
  // stored) and, if it holds several digits, offer Number mode with one tap.
  async function offerNumber(shown) {
    let data;
    try {
      const form = new FormData();
      form.append("image", shown.blob, "photo.png");
      form.append("store", "false");
      const response = await fetch(MODES.number.endpoint, { method: "POST", body: form });
      if (!response.ok) return;
      data = await response.json();
    } catch (err) {
      return; // only an offer: nothing to explain
    }
    if (photo !== shown || mode !== "digit" || !data.digits || data.digits.length < 2) return;
    ui.numberOfferText.textContent = "This looks like a number: " + (data.written || data.text) + ".";
    ui.numberOffer.hidden = false;
  }

  ui.numberOfferButton.addEventListener("click", () => {
    const shown = photo;
    applyMode("number", true);
    if (!shown) return;
    photo = shown; // the same picture, read as a number
    ui.hint.hidden = true;
    redraw();
    changed();
  });

  async function readPicture(file) {
    if (!file) return;
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch (err) {
      setPadStatus("That file is not a picture this browser can open.");
      return;
    }
    const k = Math.min(1, UPLOAD_SIDE / Math.max(bitmap.width, bitmap.height));
    const scaled = document.createElement("canvas");
    scaled.width = Math.max(1, Math.round(bitmap.width * k));
    scaled.height = Math.max(1, Math.round(bitmap.height * k));
    scaled.getContext("2d").drawImage(bitmap, 0, 0, scaled.width, scaled.height);
    const blob = await new Promise((resolve) => scaled.toBlob(resolve, "image/png"));
    cleared = null;
    startDrawing();
    photo = { bitmap, blob };
    setPadStatus("Reading the picture…");
    redraw();
    changed();
  }

  for (const id of ["photo-input", "upload-input"]) {
    const input = $(id);
    input.addEventListener("change", () => {
      readPicture(input.files && input.files[0]);
      input.value = ""; // the same file chosen again is read again
    });
  }

  // ------------------------------------------------------------ controls
  function setPadStatus(text) {
    ui.padStatus.textContent = text;
  }

  function undo() {
    if (!strokes.length && cleared) {
      strokes.push(...cleared.strokes);
      photo = cleared.photo;
      drawingEpoch = cleared.epoch;
      cleared = null;
      setPadStatus("");
      redraw();
      return changed();
    }
    if (!strokes.length) return;
    strokes.pop();
    redraw();
    changed();
  }

  function clear() {
    if (!strokes.length && !photo) return;
    cleared = { strokes: strokes.slice(), photo, epoch: drawingEpoch };
    startDrawing();
    setPadStatus("Cleared. Undo brings it back.");
    redraw();
    changed();
  }

  // Buttons act when the finger lifts: a tap right after a quick stroke is not
  // lost waiting for a click the browser may never send.
  function onTap(button, action) {
    let downOn = null;
    let tapped = -Infinity;
    button.addEventListener("pointerdown", (event) => { downOn = event.pointerId; });
    button.addEventListener("pointerup", (event) => {
      if (event.pointerType === "mouse" || downOn !== event.pointerId) return;
      downOn = null;
      tapped = performance.now();
      action();
    });
    button.addEventListener("click", () => {
      if (performance.now() - tapped < 700) return;
      action();
    });
  }

  function buildControls() {
    for (let d = 0; d < 10; d++) {
      const item = makeBar();
      ui.bars.appendChild(fillBar(item, d, 0, -1));
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = String(d);
      button.dataset.digit = String(d);
      button.setAttribute("aria-label", "It was " + d);
      button.setAttribute("aria-keyshortcuts", String(d));
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => flag(d));
      ui.flagButtons.appendChild(button);
    }
  }

  onTap($("undo"), undo);
  onTap($("clear"), clear);
  ui.flagUndo.addEventListener("click", unflag);
  ui.wasDigit.addEventListener("click", () => {
    ui.flag.hidden = false;
    ui.wasDigit.hidden = true;
    const first = ui.flagButtons.querySelector("button:not(:disabled)");
    if (first) first.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement || event.altKey || event.metaKey) return;
    const key = event.key;
    if ((event.ctrlKey && key.toLowerCase() === "z") || (!event.ctrlKey && key.toLowerCase() === "u")) {
      event.preventDefault();
      undo();
    } else if (event.ctrlKey) {
      return;
    } else if (key === "Escape" || key.toLowerCase() === "c") {
      clear();
    } else if (/^[0-9]$/.test(key) && target && !ui.result.hidden && !ui.flag.hidden) {
      flag(Number(key));
    }
  });

  // ------------------------------------------------------------ digit or number
  function readMode() {
    try {
      return localStorage.getItem("digitpad.mode") === "number" ? "number" : "digit";
    } catch (err) {
      return "digit"; // storage refused (private mode): the default
    }
  }

  function applyMode(next, remember) {
    const changedMode = next !== mode;
    mode = next;
    ui.layout.classList.toggle("mode-number", mode === "number");
    ui.title.textContent = MODES[mode].title;
    ui.hint.textContent = ui.hint.dataset[mode];
    for (const input of document.querySelectorAll('input[name="mode"]')) input.checked = input.value === mode;
    if (remember) {
      try { localStorage.setItem("digitpad.mode", mode); } catch (err) { /* not remembered */ }
    }
    if (changedMode) {
      startDrawing(); // a digit and a number are different drawings
      cleared = null;
      setPadStatus("");
      showEmpty();
    }
    resize();
  }

  for (const input of document.querySelectorAll('input[name="mode"]')) {
    input.addEventListener("change", () => { if (input.checked) applyMode(input.value, true); });
  }

  buildControls();
  applyMode(mode, false);
  window.addEventListener("resize", resize);
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", redraw);
  }
  resize();
})();
