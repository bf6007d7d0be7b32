// How an answer reads: percentages, verdict words, the probability bars, and a
// number as the person corrected it. No state: the views decide what is on
// screen, these helpers only say how it looks.

export const NONE = "none"; // the label of "not a digit", as the API says it
const TOP_BARS = 3;
const LISTED = 4; // at most this many digits named in a "Not sure" answer

// One decimal everywhere; the ends say what they are instead of a false 0.0% or 100.0%.
export function percent(p) {
  const text = (p * 100).toFixed(1);
  if (text === "0.0" || p < 0) return "<0.1%";
  if (text === "100.0") return ">99.9%";
  return text + "%";
}

// Too small to draw: listed by name instead.
function negligible(p) {
  return percent(p) === "<0.1%";
}

export function article(digit) {
  return digit === 8 ? "an 8" : "a " + digit;
}

// The mark a label leaves in a number: the digit, or "?" for no digit.
export function mark(label) {
  return label === NONE ? "?" : String(label);
}

function words(list, and) {
  return list.length < 2 ? list.join("") : list.slice(0, -1).join(", ") + (and ? " and " : " or ") + list[list.length - 1];
}

// What a person reads for a verdict. "Sure" only where the server said "sure".
export function describe(d) {
  const none = d.verdict === "not_a_digit";
  const sure = d.verdict === "sure";
  const unsure = !none && !sure;
  const likely = unsure ? (d.alternatives || []).filter((a) => a !== d.digit) : [];
  const options = [d.digit].concat(likely);
  // A long list says nothing: the likeliest few, then "another digit".
  const named = options.length > LISTED ? options.slice(0, LISTED - 1) : options;
  const alternatives = named.slice(1); // each gets an "It's a 7" button
  let text;
  if (none) {
    text = "That doesn't look like a digit.";
  } else if (sure) {
    text = "Sure: " + percent(d.confidence);
  } else if (alternatives.length) {
    const listed = named.map(String).concat(named.length < options.length ? ["another digit"] : []);
    text = "Not sure: " + words(listed) + "?";
  } else {
    text = "Probably " + d.digit + ", but not sure (" + percent(d.confidence) + ").";
  }
  return { none, sure, unsure, alternatives, text };
}

function makeBar(digit, p, top) {
  const item = document.createElement("li");
  item.className = "bar" + (top ? " top" : "");
  item.innerHTML = '<span class="bar-label"></span>' +
    '<span class="bar-track"><span class="bar-fill"></span></span><span class="bar-value"></span>';
  const value = percent(p);
  item.querySelector(".bar-label").textContent = String(digit);
  item.querySelector(".bar-fill").style.width = Math.max(p * 100, 0.5) + "%";
  item.querySelector(".bar-value").textContent = value;
  item.setAttribute("aria-label", digit + ": " + value);
  item.dataset.probability = String(p);
  item.dataset.digit = String(digit);
  return item;
}

// Each digit once: the likeliest few as bars (`top`), the others below the
// fold (`rest`), the negligible ones named in one line (`faint`). A refusal
// draws no answer: its closest digits go below the fold, muted.
export function fillBars(data, top, rest, faint) {
  const order = data.probabilities.map((p, d) => [p, d]).sort((a, b) => b[0] - a[0]);
  const shown = order.filter(([p], i) => i === 0 || !negligible(p));
  const refused = data.verdict === "not_a_digit";
  const first = shown.slice(0, TOP_BARS);
  top.replaceChildren(...(refused ? [] : first.map(([p, d]) => makeBar(d, p, d === data.digit))));
  rest.replaceChildren(...(refused ? first : shown.slice(TOP_BARS)).map(([p, d]) => makeBar(d, p, false)));
  const tiny = refused ? [] : order.slice(shown.length).map(([, d]) => d).sort((a, b) => a - b);
  faint.textContent = tiny.length ? (shown.length > 1 ? "The others" : "All the others") +
    ", each under 0.1%: " + words(tiny.map(String), true) + "." : "";
  faint.hidden = !tiny.length;
  return { refused, rest: rest.children.length + tiny.length };
}

// The number as it stands: each digit as read or as corrected, the
// separators where they were written ("12.428-"). A digit corrected to
// "not a digit" leaves the number.
export function numberText(data) {
  const digits = data.digits || [];
  const texts = digits.map((d) => d.flaggedAs === NONE ? "" : d.flaggedAs != null ? String(d.flaggedAs)
    : d.verdict === "not_a_digit" ? "?" : String(d.digit));
  const written = data.written || data.text || "";
  // In "written" each digit is one character, a digit or "?", left to right like `digits`.
  if ((written.match(/[0-9?]/g) || []).length !== digits.length) return texts.join("");
  let next = 0;
  return written.replace(/[0-9?]/g, () => texts[next++]);
}

// Under the number: which digits the person corrected, how many are still in doubt.
export function numberVerdict(digits) {
  const corrected = digits.map((d, i) => d.flaggedAs != null ? i + 1 : 0).filter(Boolean);
  const doubtful = digits.filter((d) => d.flaggedAs == null && d.verdict !== "sure").length;
  return (corrected.length ? (corrected.length === 1 ? "Digit " : "Digits ") +
      words(corrected.map(String), true) + " corrected by you. " : "") +
    (doubtful ? doubtful + " of " + digits.length + (digits.length === 1 ? " digit" : " digits") +
      (doubtful === 1 ? " is" : " are") +
      " uncertain. " : "") + "Tap a digit read wrong to correct it.";
}

// A digit's card: as read (with how sure), or as corrected (with what was read).
export function fillCard(card, d) {
  const { none, sure, unsure, alternatives } = describe(d);
  const corrected = d.flaggedAs != null;
  card.className = "digit-card" + (corrected ? " corrected" : none ? " none" : unsure ? " unsure" : "");
  card.querySelector(".card-digit").textContent = corrected ? mark(d.flaggedAs) : none ? "?" : String(d.digit);
  card.querySelector(".card-confidence").textContent = corrected ? "corrected" : percent(d.confidence);
  card.querySelector(".card-verdict").textContent = corrected ? "read as " + (none ? "?" : d.digit)
    : none ? "not a digit" : sure ? "sure"
    : alternatives.length ? "or " + alternatives.join(" or ") + "?" : "not sure";
}
