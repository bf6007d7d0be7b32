// The "wrong?" buttons: flag what was read wrong with the right digit (or "not a
// digit"), say whether it was saved, and take a flag back while the drawing stays.

import { sendFlag } from "./api.js";
import { ui } from "./dom.js";
import { NONE, article } from "./format.js";
import { state } from "./state.js";

let onFlagged = () => {}; // shows a flag's effect at once (main.js sets it)

export function whenFlagged(show) {
  onFlagged = show;
}

// Right under the answer; "Undo" stays for as long as the flag's drawing is on the pad.
export function setFlagStatus(text, status, undoable) {
  ui.flagMessage.textContent = text;
  ui.flagStatus.classList.toggle("saved", status === "saved");
  ui.flagStatus.classList.toggle("failed", status === "failed");
  ui.flagStatus.classList.toggle("idle", !text);
  ui.flagUndo.hidden = !undoable;
}

export function savedText(label) {
  return label === NONE ? "Saved: not a digit." : "Saved: it was " + article(label) + ".";
}

function labelOf(button) {
  return button.dataset.label === NONE ? NONE : Number(button.dataset.label);
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

// The buttons for a digit: its own answer disabled, "Not a digit" hidden when that was the answer.
export function armFlagButtons(d) {
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

// `label`: the digit the drawing should have been read as, or NONE.
export async function flag(label) {
  const target = state.target;
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
    const { ok, data } = await sendFlag(chosen.prediction_id, label);
    if (chosen !== state.target) return;
    if (!ok) return notSaved(chosen, "Not saved: " + (data.error || "the server refused it") + ".");
    chosen.flaggedAs = data.label === NONE ? NONE : Number(data.label);
    onFlagged(chosen);
    setFlagStatus(savedText(chosen.flaggedAs) + " Thank you!", "saved", true);
  } catch (err) {
    if (chosen !== state.target) return;
    notSaved(chosen, navigator.onLine === false
      ? "Not saved: you are offline. Choose again when you are back online."
      : "Not saved: DigitPad cannot be reached. Choose again in a moment.");
  }
}

export async function unflag() {
  const chosen = state.target;
  if (!chosen || chosen.flaggedAs == null) return;
  try {
    const { ok, status, data } = await sendFlag(chosen.prediction_id);
    if (chosen !== state.target) return;
    if (!ok && status !== 404) {
      return setFlagStatus("Could not undo: " + (data.error || "the server refused it") + ".", "failed", true);
    }
    chosen.flaggedAs = null;
    onFlagged(chosen); // the model's answer again
    markChosen(null);
    setFlagStatus("Flag taken back.", "");
  } catch (err) {
    if (chosen === state.target) setFlagStatus("Could not undo: DigitPad cannot be reached.", "failed", true);
  }
}

// The eleven buttons, 0-9 and "Not a digit", and the keys that press them.
export function buildFlagButtons() {
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
  ui.flagUndo.addEventListener("click", unflag);
  ui.wasDigit.addEventListener("click", () => {
    ui.flag.hidden = false;
    ui.wasDigit.hidden = true;
    const first = ui.flagButtons.querySelector("button:not(:disabled)");
    if (first) first.focus();
  });
}

// Whether the "wrong?" buttons are on screen for the keys to press.
export function flagsShown() {
  return state.target && !ui.result.hidden && !ui.flag.hidden;
}

export function noneOffered() {
  return !ui.flagButtons.lastElementChild.hidden;
}
