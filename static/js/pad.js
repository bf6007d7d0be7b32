// DigitPad drawing page: draw (or photograph) a digit or a number, read the answer,
// flag what was read wrong.
(function () {
  "use strict";

  const RETRY_MS = [1000, 2000, 4000, 8000, 15000]; // waits between automatic retries
  const REQUEST_TIMEOUT_MS = 10000;
  const UPLOAD_SIDE = 640; // photos are scaled down before they leave the phone
  const view = window.DigitPadAnswer; // how an answer reads (answer.js)
  const NONE = view.NONE;

  const $ = (id) => document.getElementById(id);
  const canvas = $("pad");
  const ctx = canvas.getContext("2d");
  const ui = {
    hint: $("pad-hint"), padStatus: $("pad-status"), empty: $("empty-state"),
    problem: $("problem"), problemTitle: $("problem-title"), problemText: $("problem-text"),
    retry: $("retry"), result: $("result"), digit: $("digit"), verdict: $("verdict"),
    alternatives: $("alternatives"), seen: $("preprocessed"), topBars: $("top-bars"),
    bars: $("bars"), faint: $("faint-digits"), fold: $("all-bars"), foldTitle: $("all-bars-title"),
    flag: $("flag"), flagButtons: $("flag-buttons"),
    flagMessage: $("flag-message"), flagStatus: $("flag-status"), flagUndo: $("flag-undo"),
    wasDigit: $("was-digit"), announce: $("announce"), layout: $("layout"),
    title: $("pad-title"), headline: $("headline"),
    flagTitle: $("flag-title"), number: $("number-result"), numberText: $("number-text"),
    numberVerdict: $("number-verdict"), numberDigits: $("number-digits"),
    numberOffer: $("number-offer"), numberOfferText: $("number-offer-text"),
    numberOfferButton: $("number-offer-button"), copy: $("copy-number"), copyStatus: $("copy-status"),
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
      if (answer && answer.digits && !photo) {
        for (const d of answer.digits.concat(answer.separators || [])) d.box = d.box.map((v) => v * k);
      }
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
    ui.fold.open = false;
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
    ui.fold.open = false;
    setFlagStatus("", "");
    setCopyStatus("");
    redraw();
  }

  function render(data) {
    answer = data;
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

  function renderDigit(data) {
    ui.result.hidden = false;
    ui.number.hidden = true;
    ui.headline.hidden = false;
    ui.flagTitle.textContent = "Wrong? It was:";
    ui.seen.src = data.preprocessed;
    const none = data.verdict === "not_a_digit";
    target = data;
    data.flaggedAs = null;
    showHeadline(data);
    renderBars(data);
    // "Not a digit" has no "wrong?" buttons; a person who did draw a digit can still say which.
    ui.flag.hidden = none;
    ui.wasDigit.hidden = !none;
    armFlagButtons(data);
    announce(none ? ui.verdict.textContent : data.digit + ". " + ui.verdict.textContent);
  }

  // The big answer: the model's, or the one its drawer corrected it to.
  function showHeadline(data) {
    const { none, unsure, alternatives, text } = view.describe(data);
    const corrected = data.flaggedAs != null;
    const read = none ? "no digit" : String(data.digit);
    ui.digit.textContent = corrected ? view.mark(data.flaggedAs) : none ? "?" : String(data.digit);
    ui.digit.classList.toggle("corrected", corrected);
    ui.verdict.className = "verdict" + (corrected ? " verdict-corrected" : none ? " verdict-none"
                                                  : unsure ? " verdict-unsure" : "");
    ui.verdict.textContent = corrected
      ? "Corrected by you" + (data.flaggedAs === NONE ? ": not a digit" : "") + ". The model read " + read + "."
      : text;
    ui.alternatives.replaceChildren(...(corrected ? [] : alternatives).map((d) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "It's " + view.article(d);
      button.dataset.digit = String(d);
      button.addEventListener("click", () => flag(d));
      return button;
    }));
    const shown = corrected ? (data.flaggedAs === NONE ? "no digit" : data.flaggedAs) + ", corrected by you" : read;
    canvas.setAttribute("aria-label", "Drawing pad: " + (none && !corrected ? "no digit read" : "reads " + shown));
  }

  // The likeliest digits, each digit listed once; a refusal's closest digits only below the fold.
  function renderBars(data) {
    const { refused, rest } = view.fillBars(data, ui.topBars, ui.bars, ui.faint);
    if (refused !== ui.fold.classList.contains("refused")) ui.fold.open = false; // folded again when its meaning changes
    ui.fold.classList.toggle("refused", refused);
    ui.foldTitle.textContent = refused ? "Closest digits" : "Other digits";
    ui.bars.setAttribute("aria-label", refused ? "The closest digits" : "The other digits");
    ui.fold.hidden = !rest;
    ui.topBars.hidden = !ui.topBars.children.length;
  }

  function labelOf(button) {
    return button.dataset.label === NONE ? NONE : Number(button.dataset.label);
  }

  function armFlagButtons(d) {
    const none = d.verdict === "not_a_digit";
    for (const button of ui.flagButtons.children) {
      const label = labelOf(button);
      if (label === NONE) {
        button.hidden = none; // the model said so already
      } else {
        const isAnswer = label === d.digit && !none;
        button.disabled = isAnswer;
        button.classList.toggle("is-answer", isAnswer);
        button.setAttribute("aria-label", isAnswer ? label + " is the answer" : "It was " + label);
      }
      button.setAttribute("aria-pressed", String(d.flaggedAs === label));
    }
    ui.flag.classList.toggle("refused", none);
    setFlagStatus("", "");
  }

  // ------------------------------------------------------------ numbers
  function renderNumber(data) {
    ui.number.hidden = false;
    ui.result.hidden = true;
    target = null;
    ui.numberDigits.replaceChildren(...(data.digits || []).map((d, i) => {
      const item = document.createElement("li");
      const card = document.createElement("button");
      card.type = "button";
      card.dataset.index = String(i);
      card.setAttribute("aria-pressed", "false");
      card.innerHTML = '<span class="visually-hidden"></span><span class="card-digit"></span>' +
        '<span class="card-confidence"></span><span class="card-verdict"></span>';
      card.querySelector(".visually-hidden").textContent = "Digit " + (i + 1) + ":";
      card.addEventListener("click", () => chooseDigit(d));
      d.card = card;
      d.flaggedAs = d.flag != null ? d.flag : null; // corrected before this stroke
      item.appendChild(card);
      return item;
    }));
    showNumber(data);
    announce("Read " + ui.numberText.textContent);
  }

  // The number as it stands, corrections included; each digit's card.
  function showNumber(data) {
    const digits = data.digits || [];
    const text = view.numberText(data);
    if (ui.numberText.textContent !== text) setCopyStatus("");
    ui.numberText.textContent = text; // "12.428": separators as written
    ui.copy.hidden = !text;
    ui.numberVerdict.textContent = view.numberVerdict(digits);
    for (const d of digits) view.fillCard(d.card, d);
    canvas.setAttribute("aria-label", "Drawing pad: reads " + (text || "nothing"));
  }

  function setCopyStatus(text, state) {
    ui.copyStatus.textContent = text;
    ui.copyStatus.className = "copy-status" + (state ? " " + state : "");
  }

  ui.copy.addEventListener("click", async () => {
    const text = ui.numberText.textContent;
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard here");
      await navigator.clipboard.writeText(text);
      setCopyStatus("Copied", "saved");
    } catch (err) {
      // The number stays selected: the phone's own Copy takes it.
      const range = document.createRange();
      range.selectNodeContents(ui.numberText);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      setCopyStatus("Could not copy: the number is selected, copy it from there.", "failed");
    }
  });

  // A digit of the number is chosen: the "wrong?" buttons now correct it alone.
  function chooseDigit(d) {
    if (!answer || !answer.digits || answer.digits.indexOf(d) < 0) return;
    target = d;
    for (const other of answer.digits) other.card.setAttribute("aria-pressed", String(other === d));
    const index = answer.digits.indexOf(d) + 1;
    ui.result.hidden = false;
    ui.headline.hidden = true;
    ui.fold.hidden = true;
    ui.topBars.hidden = true;
    ui.wasDigit.hidden = true;
    ui.flag.hidden = false;
    ui.flagTitle.textContent = "Digit " + index + (d.verdict === "not_a_digit" ? ", read as no digit" : ", read as " + d.digit) + ". It was:";
    armFlagButtons(d);
    if (d.flaggedAs != null) setFlagStatus(savedText(d.flaggedAs), "saved", true);
    redraw();
  }

  // What was flagged shows at once: the headline, or the number and its card.
  function showFlagged(chosen) {
    if (chosen.card) showNumber(answer);
    else showHeadline(chosen);
  }

  function announce(text) {
    ui.announce.textContent = text;
  }

  // ------------------------------------------------------------ flagging
  // Right under the answer; "Undo" stays for as long as the flag's drawing is on the pad.
  function setFlagStatus(text, state, undoable) {
    ui.flagMessage.textContent = text;
    ui.flagStatus.classList.toggle("saved", state === "saved");
    ui.flagStatus.classList.toggle("failed", state === "failed");
    ui.flagStatus.classList.toggle("idle", !text);
    ui.flagUndo.hidden = !undoable;
  }

  function savedText(label) {
    return label === NONE ? "Saved: not a digit." : "Saved: it was " + view.article(label) + ".";
  }

  function markChosen(label) {
    for (const button of ui.flagButtons.children) {
      button.setAttribute("aria-pressed", String(labelOf(button) === label));
    }
  }

  function notSaved(chosen, why) {
    markChosen(chosen.flaggedAs);
    setFlagStatus(why, "failed", chosen.flaggedAs != null); // an earlier flag still stands
  }

  // `label`: the digit the drawing should have been read as, or NONE.
  async function flag(label) {
    if (!target || target.prediction_id == null) return;
    const refused = target.verdict === "not_a_digit";
    if (label === NONE ? refused : label === target.digit && !refused) {
      setFlagStatus(label === NONE ? "The model said so already." : label + " is the answer already. " +
                    "If it is wrong, choose the digit it should have been.", "", target.flaggedAs != null);
      return;
    }
    const chosen = target;
    ui.flag.hidden = false;
    markChosen(label);
    setFlagStatus("Saving…", "");
    try {
      const response = await fetch("/api/predictions/" + chosen.prediction_id + "/flag", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ label: label }),
      });
      const data = await response.json().catch(() => ({}));
      if (chosen !== target) return;
      if (!response.ok) return notSaved(chosen, "Not saved: " + (data.error || "the server refused it") + ".");
      chosen.flaggedAs = data.label === NONE ? NONE : Number(data.label);
      showFlagged(chosen);
      setFlagStatus(savedText(chosen.flaggedAs) + " Thank you!", "saved", true);
    } catch (err) {
      if (chosen !== target) return;
      notSaved(chosen, navigator.onLine === false
        ? "Not saved: you are offline. Choose again when you are back online."
        : "Not saved: DigitPad cannot be reached. Choose again in a moment.");
    }
  }

  async function unflag() {
    if (!target || target.flaggedAs == null) return;
    const chosen = target;
    try {
      const response = await fetch("/api/predictions/" + chosen.prediction_id + "/flag",
                                   { method: "DELETE" });
      const data = await response.json().catch(() => ({}));
      if (chosen !== target) return;
      if (!response.ok && response.status !== 404) {
        return setFlagStatus("Could not undo: " + (data.error || "the server refused it") + ".", "failed", true);
      }
      chosen.flaggedAs = null;
      showFlagged(chosen); // the model's answer again
      markChosen(null);
      setFlagStatus("Flag taken back.", "");
    } catch (err) {
      if (chosen === target) setFlagStatus("Could not undo: DigitPad cannot be reached.", "failed", true);
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
    const labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, NONE];
    ui.flagButtons.replaceChildren(...labels.map((label) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.label = String(label);
      if (label === NONE) {
        button.textContent = "Not a digit";
        button.className = "flag-none";
        button.setAttribute("aria-label", "It was not a digit");
        button.setAttribute("aria-keyshortcuts", "N");
      } else {
        button.textContent = String(label);
        button.dataset.digit = String(label);
        button.setAttribute("aria-label", "It was " + label);
        button.setAttribute("aria-keyshortcuts", String(label));
      }
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => flag(label));
      return button;
    }));
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
    } else if (!target || ui.result.hidden || ui.flag.hidden) {
      return; // no "wrong?" buttons on screen: the keys choose nothing
    } else if (/^[0-9]$/.test(key)) {
      flag(Number(key));
    } else if (key.toLowerCase() === "n" && !ui.flagButtons.lastElementChild.hidden) {
      flag(NONE);
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
