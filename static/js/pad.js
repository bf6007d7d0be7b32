// DigitPad drawing pad: pointer drawing, undo/clear, live prediction, flagging.
(function () {
  "use strict";

  const DEBOUNCE_MS = 220;
  const canvas = document.getElementById("pad");
  const ctx = canvas.getContext("2d");
  const hint = document.getElementById("pad-hint");
  const emptyState = document.getElementById("empty-state");
  const resultBox = document.getElementById("result");
  const digitOut = document.getElementById("digit");
  const confidenceOut = document.getElementById("confidence");
  const seenImg = document.getElementById("preprocessed");
  const barsList = document.getElementById("bars");
  const flagButtons = document.getElementById("flag-buttons");
  const flagStatus = document.getElementById("flag-status");
  const errorBox = document.getElementById("error");

  const strokes = []; // each stroke: array of [x, y] in CSS pixels
  let current = null;
  let size = { w: 0, h: 0 };
  let timer = null;
  let requestSeq = 0; // id of the newest request sent
  let shownSeq = 0; // id of the request whose answer is on screen
  let inflight = null;
  let predictionId = null;

  // ------------------------------------------------------------ drawing
  function lineWidth() {
    return Math.max(6, Math.round(Math.min(size.w, size.h) / 16));
  }

  function resize() {
    const rect = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    size = { w: rect.width, h: rect.height };
    canvas.width = Math.round(rect.width * dpr);
    canvas.height = Math.round(rect.height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    redraw();
  }

  function strokePath(points) {
    ctx.lineWidth = lineWidth();
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
    ctx.fillStyle = "#111";
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
    ctx.clearRect(0, 0, size.w, size.h);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, size.w, size.h);
    strokes.forEach(strokePath);
    if (current) strokePath(current);
    hint.hidden = strokes.length > 0 || current !== null;
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
    clearTimeout(timer);
    current = [point(event)];
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
    strokes.push(current);
    current = null;
    redraw();
    schedulePredict();
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  canvas.addEventListener("lostpointercapture", () => endStroke(null));

  // --------------------------------------------------------- prediction
  function schedulePredict() {
    clearTimeout(timer);
    timer = setTimeout(predict, DEBOUNCE_MS);
  }

  function showEmpty() {
    clearTimeout(timer);
    requestSeq += 1; // any answer still on its way is now stale
    shownSeq = requestSeq;
    if (inflight) inflight.abort();
    predictionId = null;
    resultBox.hidden = true;
    emptyState.hidden = false;
    errorBox.hidden = true;
  }

  async function predict() {
    if (!strokes.length) return showEmpty();
    const seq = ++requestSeq;
    if (inflight) inflight.abort();
    inflight = new AbortController();
    const body = {
      strokes: strokes,
      width: Math.round(size.w),
      height: Math.round(size.h),
      line_width: lineWidth(),
    };
    try {
      const response = await fetch("/api/predict", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: inflight.signal,
      });
      const data = await response.json();
      if (seq < requestSeq || seq <= shownSeq) return; // a newer drawing exists
      shownSeq = seq;
      if (!response.ok) {
        if (response.status === 422) return showEmpty();
        throw new Error(data.error || "prediction failed");
      }
      render(data);
    } catch (err) {
      if (err.name === "AbortError" || seq < requestSeq) return;
      errorBox.textContent = "Could not get a prediction: " + err.message;
      errorBox.hidden = false;
    }
  }

  function render(data) {
    predictionId = data.prediction_id;
    errorBox.hidden = true;
    emptyState.hidden = true;
    resultBox.hidden = false;
    digitOut.textContent = String(data.digit);
    confidenceOut.textContent = (data.confidence * 100).toFixed(1) + "% sure";
    seenImg.src = data.preprocessed;
    flagStatus.textContent = "";
    data.probabilities.forEach((p, digit) => {
      const item = barsList.children[digit];
      const pct = (p * 100).toFixed(1) + "%";
      item.querySelector(".bar-fill").style.width = Math.max(p * 100, 0.5) + "%";
      item.querySelector(".bar-value").textContent = pct;
      item.classList.toggle("top", digit === data.digit);
      item.setAttribute("aria-label", digit + ": " + pct);
      item.dataset.probability = String(p);
    });
    canvas.setAttribute("aria-label", "Drawing pad");
    for (const button of flagButtons.children) {
      button.disabled = Number(button.dataset.digit) === data.digit;
    }
  }

  // ------------------------------------------------------------ flagging
  async function flag(label) {
    if (predictionId === null) return;
    flagStatus.textContent = "Saving…";
    try {
      const response = await fetch("/api/predictions/" + predictionId + "/flag", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ label: label }),
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || "could not save");
      flagStatus.textContent = "Saved: it was a " + data.label + ". Thank you!";
      flagStatus.classList.add("saved");
    } catch (err) {
      flagStatus.textContent = "Not saved: " + err.message;
      flagStatus.classList.remove("saved");
    }
  }

  // ------------------------------------------------------------ controls
  function undo() {
    if (!strokes.length) return;
    strokes.pop();
    redraw();
    if (strokes.length) schedulePredict();
    else showEmpty();
  }

  function clear() {
    strokes.length = 0;
    current = null;
    redraw();
    showEmpty();
  }

  function buildControls() {
    for (let d = 0; d < 10; d++) {
      const item = document.createElement("li");
      item.className = "bar";
      item.innerHTML =
        '<span class="bar-label">' + d + '</span>' +
        '<span class="bar-track"><span class="bar-fill"></span></span>' +
        '<span class="bar-value">0%</span>';
      barsList.appendChild(item);
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = String(d);
      button.dataset.digit = String(d);
      button.setAttribute("aria-label", "It was " + d);
      button.setAttribute("aria-keyshortcuts", String(d));
      button.addEventListener("click", () => flag(d));
      flagButtons.appendChild(button);
    }
  }

  document.getElementById("undo").addEventListener("click", undo);
  document.getElementById("clear").addEventListener("click", clear);
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
    } else if (/^[0-9]$/.test(key) && !resultBox.hidden) {
      flag(Number(key));
    }
  });

  buildControls();
  window.addEventListener("resize", resize);
  resize();
})();
