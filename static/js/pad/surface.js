// The drawing surface: the canvas and its size, pointer events turned into
// strokes, and what is drawn on it (the strokes, a photo, the boxes of a number).

import { canvas, setPadStatus, ui } from "./dom.js";
import { state } from "./state.js";
import { tint } from "../why.js";

const ctx = canvas.getContext("2d");

function colours() {
  const style = getComputedStyle(document.documentElement);
  return { paper: style.getPropertyValue("--paper").trim() || "#fff",
           ink: style.getPropertyValue("--ink").trim() || "#111" };
}

export function lineWidth() {
  return Math.max(6, Math.round(Math.min(state.size.w, state.size.h) / 16));
}

export function resize() {
  const rect = canvas.getBoundingClientRect();
  if (!rect.width || !rect.height) return;
  const { size, answer } = state;
  // The drawing scales with the pad (rotation, a new window size).
  if (size.w && (Math.abs(rect.width - size.w) > 0.5 || Math.abs(rect.height - size.h) > 0.5)) {
    const k = Math.min(rect.width / size.w, rect.height / size.h);
    for (const stroke of state.strokes) for (const p of stroke) { p[0] *= k; p[1] *= k; }
    if (state.current) for (const p of state.current) { p[0] *= k; p[1] *= k; }
    if (answer && answer.digits && !state.photo) {
      for (const d of answer.digits.concat(answer.separators || [])) d.box = d.box.map((v) => v * k);
    }
  }
  const dpr = window.devicePixelRatio || 1;
  state.size = { w: rect.width, h: rect.height };
  canvas.width = Math.round(rect.width * dpr);
  canvas.height = Math.round(rect.height * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  redraw();
}

// One stroke, smoothed, on the pad (or on `target`, another canvas's context).
function strokePath(points, ink, target = ctx) {
  target.lineWidth = lineWidth();
  target.lineCap = "round";
  target.lineJoin = "round";
  target.strokeStyle = ink;
  target.fillStyle = ink;
  if (points.length === 1) {
    target.beginPath();
    target.arc(points[0][0], points[0][1], target.lineWidth / 2, 0, Math.PI * 2);
    target.fill();
    return;
  }
  // Quadratic curves through the midpoints give smooth strokes.
  target.beginPath();
  target.moveTo(points[0][0], points[0][1]);
  for (let i = 1; i < points.length - 1; i++) {
    const mx = (points[i][0] + points[i + 1][0]) / 2;
    const my = (points[i][1] + points[i + 1][1]) / 2;
    target.quadraticCurveTo(points[i][0], points[i][1], mx, my);
  }
  const last = points[points.length - 1];
  target.lineTo(last[0], last[1]);
  target.stroke();
}

export function redraw() {
  const { paper, ink } = colours();
  const { size, photo } = state;
  ctx.clearRect(0, 0, size.w, size.h);
  ctx.fillStyle = paper;
  ctx.fillRect(0, 0, size.w, size.h);
  if (photo) {
    const k = Math.min(size.w / photo.bitmap.width, size.h / photo.bitmap.height);
    const w = photo.bitmap.width * k;
    const h = photo.bitmap.height * k;
    ctx.drawImage(photo.bitmap, (size.w - w) / 2, (size.h - h) / 2, w, h);
  }
  state.strokes.forEach((s) => strokePath(s, ink));
  if (state.current) strokePath(state.current, ink);
  drawOverlay();
  drawBoxes();
  ui.hint.hidden = state.strokes.length > 0 || state.current !== null || photo !== null;
}

// "Why this digit" on the ink, laid over the person's own strokes.
function drawOverlay() {
  const o = state.overlay;
  if (!o || !o.placement || o.target !== state.target) return;
  const { sx, sy, ox, oy } = o.placement;
  const { size, photo } = state;
  // Where the 28x28 square lies in the drawing's own pixels.
  let x = -ox / sx;
  let y = -oy / sy;
  let w = 28 / sx;
  let h = 28 / sy;
  if (photo) { // the picture's pixels, drawn centred and scaled on the pad
    if (!o.size) return;
    const k = Math.min(size.w / photo.bitmap.width, size.h / photo.bitmap.height);
    const scale = (photo.bitmap.width * k) / o.size[0];
    x = (size.w - photo.bitmap.width * k) / 2 + x * scale;
    y = (size.h - photo.bitmap.height * k) / 2 + y * scale;
    w *= scale;
    h *= scale;
  }
  const layer = document.createElement("canvas");
  layer.width = canvas.width;
  layer.height = canvas.height;
  const lctx = layer.getContext("2d");
  const dpr = canvas.width / size.w;
  lctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  if (!photo) { // the person's own strokes are the mask: only ink is coloured
    state.strokes.forEach((s) => strokePath(s, "#fff", lctx));
    lctx.globalCompositeOperation = "source-in";
  }
  lctx.imageSmoothingEnabled = true;
  lctx.drawImage(tint(o.map), x, y, w, h);
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(layer, 0, 0);
  ctx.restore();
}

// Where a box in the answer's pixels lies on the pad: the canvas itself for
// strokes; for a picture, where it is drawn (centred, scaled to fit).
function onPad(box) {
  const { photo, answer, size } = state;
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
  const { answer } = state;
  if (state.mode !== "number" || !answer || !answer.digits) return;
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
    const chosen = state.target === d;
    ctx.lineWidth = chosen ? 3 : 1.5;
    ctx.setLineDash(d.verdict === "sure" ? [] : [6, 4]);
    ctx.strokeStyle = (d.verdict === "sure" ? style.getPropertyValue("--accent")
                                            : style.getPropertyValue("--accent-2")).trim();
    ctx.strokeRect(x0 - 4, y0 - 4, x1 - x0 + 8, y1 - y0 + 8);
  });
  ctx.setLineDash([]);
}

function boxAt(p) {
  const { answer } = state;
  if (state.mode !== "number" || !answer || !answer.digits) return null;
  return answer.digits.find((d) => p[0] >= d.box[0] - 6 && p[0] <= d.box[2] + 6 &&
                                   p[1] >= d.box[1] - 6 && p[1] <= d.box[3] + 6) || null;
}

function point(event) {
  const rect = canvas.getBoundingClientRect();
  const x = Math.min(Math.max(event.clientX - rect.left, 0), rect.width);
  const y = Math.min(Math.max(event.clientY - rect.top, 0), rect.height);
  return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
}

// Pointer events (mouse, finger, pen) become strokes. `on.newDrawing()` when a
// stroke starts over a photo; `on.stroke()` after each stroke; `on.tapDigit(d)`
// when a tap lands on a digit's box instead of drawing.
export function listen(on) {
  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 && event.pointerType === "mouse") return;
    event.preventDefault();
    try {
      canvas.setPointerCapture(event.pointerId); // keep the stroke when leaving the pad
    } catch (err) {
      // Not an active pointer (synthetic events): draw without capture.
    }
    if (state.photo) on.newDrawing(); // a stroke on a photo starts a new drawing
    state.cleared = null;
    setPadStatus("");
    state.current = [point(event)];
    state.strokeStart = performance.now();
    redraw();
  });

  canvas.addEventListener("pointermove", (event) => {
    const current = state.current;
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
    const current = state.current;
    if (!current) return;
    if (event && event.type === "pointerup") {
      const p = point(event);
      const last = current[current.length - 1];
      if (p[0] !== last[0] || p[1] !== last[1]) current.push(p);
    }
    const first = current[0];
    const last = current[current.length - 1];
    const tap = current.length <= 2 && performance.now() - state.strokeStart < 300 &&
      Math.abs(first[0] - last[0]) + Math.abs(first[1] - last[1]) < 4;
    const tapped = tap ? boxAt(first) : null;
    state.current = null;
    if (tapped) { // a tap on a digit's box chooses that digit, it draws nothing
      on.tapDigit(tapped);
      return;
    }
    state.strokes.push(current);
    redraw();
    performance.mark("pad:lift");
    on.stroke();
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  canvas.addEventListener("lostpointercapture", () => endStroke(null));
}

// What the pad reads, for a screen reader.
export function describePad(text) {
  canvas.setAttribute("aria-label", "Drawing pad: " + text);
}
