// "Inside the network": the folded panel under the answer. Opened, it asks the
// server for the shown digit's layers (the served model computes them) and
// draws each stage's activation maps, the scores before and after
// calibration, and, on the pad, the ink that argued for the answer and for the
// runner-up. Closed, it costs nothing.

import { insideOf } from "./api.js";
import { $ } from "./dom.js";
import { state } from "./state.js";
import { redraw } from "./surface.js";
import { AGAINST, FOR, named } from "../why.js";
import { percent } from "./format.js";

const panel = $("inside");
const body = $("inside-body");

let shown = null; // the target whose layers are on screen
let everyFilter = false;

function element(tag, attrs, text) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "className") el.className = value; else el.setAttribute(key, value);
  }
  if (text !== undefined) el.textContent = text;
  return el;
}

// A map sent as base64 bytes (0 black to 255 white), drawn pixel for pixel and scaled by CSS.
function mapCanvas(pixels, height, width, label) {
  const canvas = element("canvas", { width, height, role: "img", "aria-label": label, className: "inside-map" });
  const bytes = Uint8Array.from(atob(pixels), (c) => c.charCodeAt(0));
  const image = canvas.getContext("2d").createImageData(width, height);
  for (let i = 0; i < bytes.length; i++) {
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = bytes[i];
    image.data[4 * i + 3] = 255;
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
  return canvas;
}

function stageView(stage) {
  const section = element("section", { className: "inside-stage", "aria-label": stage.title });
  section.append(element("h3", {}, stage.title), element("p", { className: "inside-caption" }, stage.caption));
  if (stage.maps) {
    const [h, w] = stage.shape;
    const grid = element("div", { className: "inside-maps" });
    for (const m of stage.maps) {
      grid.append(mapCanvas(m.pixels, h, w, "Filter " + (m.filter + 1) + ", mean response " + m.strength.toFixed(2)));
    }
    section.append(grid);
    const more = stage.filters - stage.maps.length;
    const note = element("p", { className: "inside-note" },
      (more > 0 ? "The " + stage.maps.length + " strongest of " : "All ") + stage.filters + " filters, " +
      h + "x" + w + " each, strongest first.");
    section.append(note);
  } else {
    const strongest = stage.strongest.map((u) => "unit " + (u.unit + 1) + " (" + u.value.toFixed(2) + ")").join(", ");
    section.append(element("p", { className: "inside-note" },
      stage.units + " numbers; the largest: " + strongest + "."));
  }
  return section;
}

function scoresView(scores) {
  const table = element("table", { className: "inside-scores" });
  table.append(element("caption", {}, scores.caption));
  const head = element("tr");
  head.append(element("th", { scope: "col" }, "Answer"), element("th", { scope: "col" }, "Network"),
              element("th", { scope: "col" }, "Calibrated"));
  const thead = element("thead");
  thead.append(head);
  table.append(thead);
  const rows = element("tbody");
  scores.labels.forEach((label, i) => {
    const row = element("tr");
    row.append(element("th", { scope: "row" }, label === "none" ? "not a digit" : String(label)),
               element("td", {}, percent(scores.before[i])), element("td", {}, percent(scores.after[i])));
    rows.append(row);
  });
  table.append(rows);
  return table;
}

function whyView(why) {
  const box = element("section", { className: "inside-why", "aria-label": "Why this answer" });
  box.append(element("h3", {}, "Why " + named(why.top)), element("p", { id: "inside-sentence" }, why.sentence));
  const legend = element("p", { className: "inside-legend" });
  const swatch = (rgb, text) => {
    const item = element("span", { className: "inside-swatch" });
    const dot = element("span", { className: "inside-dot", "aria-hidden": "true" });
    dot.style.background = "rgb(" + rgb.join(",") + ")";
    item.append(dot, document.createTextNode(text));
    return item;
  };
  legend.append(swatch(FOR, "ink for " + named(why.top)), swatch(AGAINST, "ink for " + named(why.runner_up)));
  const toggle = element("button", { type: "button", id: "inside-overlay", "aria-pressed": "true" }, "Show on the drawing");
  toggle.addEventListener("click", () => {
    const on = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", String(on));
    state.overlay = on ? overlayOf(shown) : null;
    redraw();
  });
  box.append(legend, toggle, element("p", { className: "inside-note" }, "How: " + why.method + "."));
  return box;
}

function overlayOf(target) {
  return target && target.inside ? { target, ...target.inside.why, placement: target.inside.placement,
                                      size: target.inside.size } : null;
}

function render(data) {
  body.replaceChildren();
  if (data.member) body.append(element("p", { className: "inside-note" },
    "The model averages " + data.member.of + " networks; these are the layers of " + data.member.name + "."));
  body.append(whyView(data.why));
  const input = element("section", { className: "inside-stage", "aria-label": "Input" });
  input.append(element("h3", {}, "Input"), element("p", { className: "inside-caption" }, data.input.caption));
  input.append(element("img", { src: data.input.png, width: "84", height: "84", className: "inside-input",
                                alt: "The 28 by 28 input the network reads" }));
  body.append(input);
  for (const stage of data.stages) body.append(stageView(stage));
  body.append(scoresView(data.scores));
  const all = element("button", { type: "button", id: "inside-all", "aria-pressed": String(everyFilter) },
                      everyFilter ? "Show the strongest filters only" : "Show every filter");
  all.addEventListener("click", () => { everyFilter = !everyFilter; load(true); });
  body.append(all);
}

function status(text) {
  body.replaceChildren(element("p", { className: "inside-status", id: "inside-status" }, text));
}

// Layers of what the answer shows: the digit, or the chosen digit of a number.
async function load(force) {
  const target = state.target;
  if (!panel.open || !target) return;
  if (target === shown && !force) return;
  shown = target;
  if (!target.inside || force) {
    status("Looking inside…");
    const reply = await insideOf(target.prediction_id, everyFilter);
    if (shown !== target) return; // another answer meanwhile
    if (!reply.ok) return status("Could not look inside: " + (reply.data.error || "the server did not answer") + ".");
    target.inside = reply.data;
  }
  render(target.inside);
  state.overlay = overlayOf(target);
  redraw();
}

// A new answer (or another digit chosen): follow it if the panel is open.
export function refreshInside() {
  if (state.overlay && state.overlay.target !== state.target) state.overlay = null;
  if (panel.open) load(false);
  else shown = null;
}

export function listenInside() {
  panel.addEventListener("toggle", () => {
    if (panel.open) return load(false);
    state.overlay = null; // folded: the drawing is shown as drawn
    shown = null;
    redraw();
  });
}
