// DigitPad drawing page: draw (or photograph) a digit or a number, read the
// answer, flag what was read wrong. This module wires the others together: it
// decides when a request leaves, what a reply puts on screen, and what the
// controls, the keys and the Digit/Number switch do.

import { readDrawing, readPictureAsNumber } from "./api.js";
import { renderDigit, showHeadline } from "./answer.js";
import { $, announce, setPadStatus, ui } from "./dom.js";
import { listenInside, refreshInside } from "./inside.js";
import { NONE } from "./format.js";
import { buildFlagButtons, flag, flagsShown, noneOffered, setFlagStatus, whenFlagged } from "./flags.js";
import { chooseDigit, listenForCopy, renderNumber, setCopyStatus, showNumber } from "./number.js";
import { MODES, isEmpty, rememberMode, startDrawing, state } from "./state.js";
import { listen, redraw, resize } from "./surface.js";

const RETRY_MS = [1000, 2000, 4000, 8000, 15000]; // waits between automatic retries
const UPLOAD_SIDE = 640; // photos are scaled down before they leave the phone

function newDrawing() {
  startDrawing();
  ui.fold.open = false;
}

// ------------------------------------------------------------ asking the server
// No debounce: a request leaves as the pen lifts. While one is in flight the
// next waits, and only the newest drawing is sent when it returns.
function changed() {
  state.version += 1;
  clearTimeout(state.retryTimer);
  state.retries = 0;
  if (isEmpty()) return showEmpty();
  state.pending = true;
  if (!state.sending) send();
}

async function send() {
  state.pending = false;
  state.sending = true;
  const seq = state.version;
  const epoch = state.drawingEpoch;
  const { reply, failure } = await readDrawing();
  state.sending = false;
  const id = reply && reply.ok ? reply.data[MODES[state.mode].idField] : null;
  if (epoch === state.drawingEpoch && id != null) {
    state.storedId = id; // even a stale reply names this drawing's row
    state.storedEpoch = epoch;
  }
  if (state.pending) return send(); // the drawing changed meanwhile: only the newest counts
  if (seq !== state.version || failure === "aborted") return;
  if (failure) return trouble("network");
  if (reply.ok) {
    state.retries = 0;
    return render(reply.data);
  }
  // An empty drawing is no problem; any other refusal says why in the server's words.
  if (reply.status === 422 && !state.photo && /empty/.test(reply.data.error || "")) return showEmpty();
  // A limit that lifts soon is waited out; a daily one (the storage quota) is explained.
  if (reply.status === 429 && reply.retryAfter <= 120) return trouble("busy", reply.retryAfter);
  if (reply.status >= 500) return trouble("server");
  return trouble("refused", 0, reply.data.error);
}

// ------------------------------------------------------------ plain-language problems
function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

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
  if (state.photo) setPadStatus(kind === "refused" ? "Draw on the pad to start again." : "");
  ui.problemTitle.textContent = title;
  ui.problemText.textContent = text;
  ui.problem.hidden = false;
  ui.result.hidden = true;
  ui.number.hidden = true;
  ui.empty.hidden = true;
  ui.retry.hidden = kind === "refused";
  announce(title);
  if (kind !== "refused" && !offline) {
    const wait = waitSeconds ? waitSeconds * 1000 : RETRY_MS[Math.min(state.retries, RETRY_MS.length - 1)];
    state.retries += 1;
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(retryNow, wait);
  }
}

function retryNow() {
  clearTimeout(state.retryTimer);
  if (isEmpty()) return showEmpty();
  ui.problemText.textContent = "Trying again…";
  state.pending = true;
  if (!state.sending) send();
}

// ------------------------------------------------------------ showing the answer
function showEmpty() {
  clearTimeout(state.retryTimer);
  state.pending = false;
  if (state.controller) state.controller.abort();
  state.answer = null;
  state.target = null;
  state.overlay = null;
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
  state.answer = data;
  ui.problem.hidden = true;
  ui.empty.hidden = true;
  ui.numberOffer.hidden = true;
  if (state.photo) setPadStatus("Draw on the pad to start again.");
  if (state.mode === "number") renderNumber(data);
  else renderDigit(data);
  refreshInside();
  if (state.photo && state.mode === "digit" && data.verdict !== "sure") offerNumber(state.photo);
  redraw();
  performance.mark("pad:answer");
  try { performance.measure("pad:lift-to-answer", "pad:lift", "pad:answer"); } catch (err) { /* a photo */ }
}

// What was flagged shows at once: the headline, or the number and its card.
function showFlagged(chosen) {
  if (chosen.card) showNumber(state.answer);
  else showHeadline(chosen);
}

// ------------------------------------------------------------ pictures
// A picture that is no single digit may be a number: read it as one (nothing
// stored) and, if it holds several digits, offer Number mode with one tap.
async function offerNumber(shown) {
  const data = await readPictureAsNumber(shown.blob);
  if (!data) return; // only an offer: nothing to explain
  if (state.photo !== shown || state.mode !== "digit" || !data.digits || data.digits.length < 2) return;
  ui.numberOfferText.textContent = "This looks like a number: " + (data.written || data.text) + ".";
  ui.numberOffer.hidden = false;
}

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
  state.cleared = null;
  newDrawing();
  state.photo = { bitmap, blob };
  setPadStatus("Reading the picture…");
  redraw();
  changed();
}

// ------------------------------------------------------------ controls
function undo() {
  const { strokes, cleared } = state;
  if (!strokes.length && cleared) {
    strokes.push(...cleared.strokes);
    state.photo = cleared.photo;
    state.drawingEpoch = cleared.epoch;
    state.cleared = null;
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
  if (isEmpty()) return;
  state.cleared = { strokes: state.strokes.slice(), photo: state.photo, epoch: state.drawingEpoch };
  newDrawing();
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

function onKey(event) {
  if (event.target instanceof HTMLInputElement || event.altKey || event.metaKey) return;
  const key = event.key;
  if ((event.ctrlKey && key.toLowerCase() === "z") || (!event.ctrlKey && key.toLowerCase() === "u")) {
    event.preventDefault();
    undo();
  } else if (event.ctrlKey) {
    return;
  } else if (key === "Escape" || key.toLowerCase() === "c") {
    clear();
  } else if (!flagsShown()) {
    return; // no "wrong?" buttons on screen: the keys choose nothing
  } else if (/^[0-9]$/.test(key)) {
    flag(Number(key));
  } else if (key.toLowerCase() === "n" && noneOffered()) {
    flag(NONE);
  }
}

// ------------------------------------------------------------ digit or number
function applyMode(next, remember) {
  const changedMode = next !== state.mode;
  state.mode = next;
  ui.layout.classList.toggle("mode-number", next === "number");
  ui.title.textContent = MODES[next].title;
  ui.hint.textContent = ui.hint.dataset[next];
  for (const input of document.querySelectorAll('input[name="mode"]')) input.checked = input.value === next;
  if (remember) rememberMode(next);
  if (changedMode) {
    newDrawing(); // a digit and a number are different drawings
    state.cleared = null;
    setPadStatus("");
    showEmpty();
  }
  resize();
}

// ------------------------------------------------------------ start
listen({ newDrawing, stroke: changed, tapDigit: chooseDigit });
whenFlagged(showFlagged);
buildFlagButtons();
listenForCopy();
listenInside();
onTap($("undo"), undo);
onTap($("clear"), clear);
document.addEventListener("keydown", onKey);

ui.retry.addEventListener("click", () => { state.retries = 0; retryNow(); });
window.addEventListener("online", () => { if (!ui.problem.hidden) { state.retries = 0; retryNow(); } });
window.addEventListener("offline", () => { if (!ui.problem.hidden || state.sending) trouble("network"); });

ui.numberOfferButton.addEventListener("click", () => {
  const shown = state.photo;
  applyMode("number", true);
  if (!shown) return;
  state.photo = shown; // the same picture, read as a number
  ui.hint.hidden = true;
  redraw();
  changed();
});
for (const id of ["photo-input", "upload-input"]) {
  const input = $(id);
  input.addEventListener("change", () => {
    readPicture(input.files && input.files[0]);
    input.value = ""; // the same file chosen again is read again
  });
}
for (const input of document.querySelectorAll('input[name="mode"]')) {
  input.addEventListener("change", () => { if (input.checked) applyMode(input.value, true); });
}

applyMode(state.mode, false);
window.addEventListener("resize", resize);
if (window.matchMedia) {
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", redraw);
}
resize();
