// The drawing page's state, in one object: every module reads and changes it
// here, and nowhere else keeps a copy.

export const MODES = {
  digit: { endpoint: "/api/predict", title: "Draw a digit", idField: "prediction_id" },
  number: { endpoint: "/api/read", title: "Write a number", idField: "number_id" },
};

function rememberedMode() {
  try {
    return localStorage.getItem("digitpad.mode") === "number" ? "number" : "digit";
  } catch (err) {
    return "digit"; // storage refused (private mode): the default
  }
}

export const state = {
  strokes: [], // each stroke: array of [x, y] in CSS pixels of the pad
  current: null, // the stroke being drawn
  strokeStart: 0,
  photo: null, // {bitmap, blob} when the pad shows a picture instead of strokes
  cleared: null, // what Clear removed, until the next drawing: Undo brings it back
  size: { w: 0, h: 0 },
  version: 0, // bumps on every change of the drawing
  drawingEpoch: 0, // bumps when a new drawing starts (Clear, a photo)
  storedId: null, // the stored prediction of this drawing: the next request replaces it
  storedEpoch: -1,
  mode: rememberedMode(),
  answer: null, // the reply on screen
  target: null, // what a flag applies to: the digit shown, or the chosen digit of a number
  overlay: null, // "why this digit" on the pad: {target, map, placement, size}, or null
  sending: false, // at most one request in flight
  pending: false, // the drawing changed while one was in flight
  controller: null,
  retryTimer: null,
  retries: 0,
};

export function rememberMode(mode) {
  try { localStorage.setItem("digitpad.mode", mode); } catch (err) { /* not remembered */ }
}

export function isEmpty() {
  return !state.strokes.length && !state.photo;
}

// A new drawing: no strokes, no picture, the fold closed.
export function startDrawing() {
  state.drawingEpoch += 1;
  state.strokes.length = 0;
  state.current = null;
  state.photo = null;
}
