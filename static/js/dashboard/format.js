// Formatting shared by the dashboard's scripts (a dash for what was not recorded),
// and the page data the server writes into <script type="application/json"> blocks.

export function readData(id) {
  const el = document.getElementById(id);
  if (!el) return null;
  try {
    return JSON.parse(el.textContent);
  } catch (err) {
    return null;
  }
}

export function isNum(x) {
  return typeof x === "number" && isFinite(x);
}

export function pct(x, digits) {
  return isNum(x) ? (x * 100).toFixed(digits === undefined ? 2 : digits) + "%" : "—";
}

export function dec(x, digits) {
  return isNum(x) ? x.toFixed(digits === undefined ? 4 : digits) : "—";
}

export function duration(seconds) {
  if (!isNum(seconds)) return "";
  if (seconds < 60) return seconds.toFixed(1) + " s";
  const total = Math.round(seconds);
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return minutes + " min " + String(total % 60).padStart(2, "0") + " s";
  return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
}

// Text whose `backticked` parts are commands, shown as code (as the server renders it).
export function setCodeText(el, text) {
  while (el.firstChild) el.removeChild(el.firstChild);
  String(text).split("`").forEach(function (part, i) {
    if (!part) return;
    if (i % 2) {
      const code = document.createElement("code");
      code.textContent = part;
      el.appendChild(code);
    } else {
      el.appendChild(document.createTextNode(part));
    }
  });
}
