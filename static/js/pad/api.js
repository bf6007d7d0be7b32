// The API client: what the page sends to /api/predict, /api/read and the flag
// endpoints, and the replies as plain objects. Which request to send, and when,
// is main.js's; what the replies mean on screen, the views'.

import { MODES, state } from "./state.js";
import { lineWidth } from "./surface.js";

const REQUEST_TIMEOUT_MS = 10000;

// A retry of the same drawing (its reply was lost) carries the same key, so
// the server answers the row it stored instead of storing a second one.
const pageKey = Math.random().toString(36).slice(2, 12) + Date.now().toString(36);

function drawingRequest() {
  const key = { "Idempotency-Key": [pageKey, state.mode, state.drawingEpoch, state.version].join("-") };
  if (state.photo) {
    const form = new FormData();
    form.append("image", state.photo.blob, "photo.png");
    return { body: form, headers: key };
  }
  const body = { strokes: state.strokes, width: Math.round(state.size.w), height: Math.round(state.size.h),
                 line_width: lineWidth() };
  if (state.storedId !== null && state.storedEpoch === state.drawingEpoch) body.replaces = state.storedId;
  return { body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...key } };
}

// The drawing on the pad, read in the current mode. Resolves to
// {reply: {status, ok, data, retryAfter}} or {failure: "network" | "aborted"};
// `state.controller` aborts it.
export async function readDrawing() {
  const { body, headers } = drawingRequest();
  const controller = new AbortController();
  state.controller = controller;
  const timeout = setTimeout(() => controller.abort("timeout"), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(MODES[state.mode].endpoint, { method: "POST", headers, body,
                                                              signal: controller.signal });
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    return { reply: { status: response.status, ok: response.ok, data,
                      retryAfter: Number(response.headers.get("Retry-After")) || 0 } };
  } catch (err) {
    return { failure: controller.signal.aborted && controller.signal.reason !== "timeout" ? "aborted" : "network" };
  } finally {
    clearTimeout(timeout);
    state.controller = null;
  }
}

// A picture read as a number without storing it: the reply, or null.
export async function readPictureAsNumber(blob) {
  try {
    const form = new FormData();
    form.append("image", blob, "photo.png");
    form.append("store", "false");
    const response = await fetch(MODES.number.endpoint, { method: "POST", body: form });
    return response.ok ? await response.json() : null;
  } catch (err) {
    return null;
  }
}

// POST (a label) or DELETE (label undefined) a prediction's flag: {ok, status, data}.
// Throws when the server cannot be reached.
export async function sendFlag(predictionId, label) {
  const url = "/api/predictions/" + predictionId + "/flag";
  const response = label === undefined
    ? await fetch(url, { method: "DELETE" })
    : await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                         body: JSON.stringify({ label: label }) });
  const data = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, data };
}

// Inside the network for what is on screen: a stored prediction's layers, or,
// for a drawing not stored, the drawing's. {ok, data}; never throws.
export async function insideOf(predictionId, everyFilter) {
  const query = everyFilter ? "?all=1" : "";
  try {
    let response;
    if (predictionId != null) {
      response = await fetch("/api/predictions/" + predictionId + "/inside" + query);
    } else {
      const { body, headers } = drawingRequest();
      delete headers["Idempotency-Key"];
      response = await fetch("/api/inside" + query, { method: "POST", headers, body });
    }
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, data };
  } catch (err) {
    return { ok: false, data: {} };
  }
}
