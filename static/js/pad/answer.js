// The answer view for one digit: the big digit (or its correction), the verdict
// in words with buttons for the alternatives, the bars, the 28x28 image.

import { announce, ui } from "./dom.js";
import { NONE, article, describe, fillBars, mark } from "./format.js";
import { armFlagButtons, flag } from "./flags.js";
import { state } from "./state.js";
import { describePad } from "./surface.js";

export function renderDigit(data) {
  ui.result.hidden = false;
  ui.number.hidden = true;
  ui.headline.hidden = false;
  ui.flagTitle.textContent = "Wrong? It was:";
  ui.seen.src = data.preprocessed;
  const none = data.verdict === "not_a_digit";
  state.target = data;
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
export function showHeadline(data) {
  const { none, unsure, alternatives, text } = describe(data);
  const corrected = data.flaggedAs != null;
  const read = none ? "no digit" : String(data.digit);
  ui.digit.textContent = corrected ? mark(data.flaggedAs) : none ? "?" : String(data.digit);
  ui.digit.classList.toggle("corrected", corrected);
  ui.verdict.className = "verdict" + (corrected ? " verdict-corrected" : none ? " verdict-none"
                                                : unsure ? " verdict-unsure" : "");
  ui.verdict.textContent = corrected
    ? "Corrected by you" + (data.flaggedAs === NONE ? ": not a digit" : "") + ". The model read " + read + "."
    : text;
  ui.alternatives.replaceChildren(...(corrected ? [] : alternatives).map((d) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "It's " + article(d);
    button.dataset.digit = String(d);
    button.addEventListener("click", () => flag(d));
    return button;
  }));
  const shown = corrected ? (data.flaggedAs === NONE ? "no digit" : data.flaggedAs) + ", corrected by you" : read;
  describePad(none && !corrected ? "no digit read" : "reads " + shown);
}

// The likeliest digits, each digit listed once; a refusal's closest digits only below the fold.
function renderBars(data) {
  const { refused, rest } = fillBars(data, ui.topBars, ui.bars, ui.faint);
  if (refused !== ui.fold.classList.contains("refused")) ui.fold.open = false; // folded again when its meaning changes
  ui.fold.classList.toggle("refused", refused);
  ui.foldTitle.textContent = refused ? "Closest digits" : "Other digits";
  ui.bars.setAttribute("aria-label", refused ? "The closest digits" : "The other digits");
  ui.fold.hidden = !rest;
  ui.topBars.hidden = !ui.topBars.children.length;
}
