// The number view: the number read so far (corrections included), a card per
// digit, choosing the digit a flag corrects, and Copy.

import { announce, ui } from "./dom.js";
import { fillCard, numberText, numberVerdict } from "./format.js";
import { armFlagButtons, savedText, setFlagStatus } from "./flags.js";
import { refreshInside } from "./inside.js";
import { state } from "./state.js";
import { describePad, redraw } from "./surface.js";

export function renderNumber(data) {
  ui.number.hidden = false;
  ui.result.hidden = true;
  state.target = null;
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
export function showNumber(data) {
  const digits = data.digits || [];
  const text = numberText(data);
  if (ui.numberText.textContent !== text) setCopyStatus("");
  ui.numberText.textContent = text; // "12.428": separators as written
  ui.copy.hidden = !text;
  ui.numberVerdict.textContent = numberVerdict(digits);
  for (const d of digits) fillCard(d.card, d);
  describePad("reads " + (text || "nothing"));
}

export function setCopyStatus(text, status) {
  ui.copyStatus.textContent = text;
  ui.copyStatus.className = "copy-status" + (status ? " " + status : "");
}

// A digit of the number is chosen: the "wrong?" buttons now correct it alone.
export function chooseDigit(d) {
  const { answer } = state;
  if (!answer || !answer.digits || answer.digits.indexOf(d) < 0) return;
  state.target = d;
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
  refreshInside();
  redraw();
}

export function listenForCopy() {
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
}
