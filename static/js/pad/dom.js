// The drawing page's elements, found once, and the two lines of text the page
// speaks through: the status under the pad and the screen reader's announcement.

export const $ = (id) => document.getElementById(id);
export const canvas = $("pad");

export const ui = {
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

export function announce(text) {
  ui.announce.textContent = text;
}

export function setPadStatus(text) {
  ui.padStatus.textContent = text;
}
