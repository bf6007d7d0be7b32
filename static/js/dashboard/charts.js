// Chart.js charts: the Okabe-Ito palette, dark mode and reduced motion followed,
// accuracy axes zoomed to the data, log loss axes, the reliability diagram.

import { dec, isNum, pct } from "./format.js";

// Okabe-Ito, in the order series and runs take them (yellow last: faint on white).
// The CSS variables of the same names win: in dark mode the black series is light grey.
const PALETTE_NAMES = ["--oi-blue", "--oi-orange", "--oi-green", "--oi-pink", "--oi-sky", "--oi-vermillion", "--oi-black", "--oi-yellow"];
const PALETTE_DEFAULTS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"];
export const PALETTE = PALETTE_DEFAULTS.slice();
const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3], [4, 2], [12, 4], [1, 2], [8, 2, 2, 2]];
const POINTS = ["circle", "rect", "triangle", "rectRot", "crossRot", "star", "rectRounded", "cross"];
const motionQuery = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;
const darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
let reducedMotion = !!(motionQuery && motionQuery.matches);
const charts = []; // every chart on the page, to follow a change of colour scheme or motion

// How a chart redraws: at once when motion is reduced, else with Chart.js's animation.
export function updateMode() {
  return reducedMotion ? "none" : undefined;
}

function cssVar(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function readPalette() {
  PALETTE_NAMES.forEach(function (name, i) {
    PALETTE[i] = cssVar(name, PALETTE_DEFAULTS[i]);
  });
}

export function chartsAvailable() {
  if (window.Chart) return true;
  document.body.classList.add("no-charts");
  // Without the chart library, the tables are the charts: show them.
  document.querySelectorAll("details.chart-data").forEach(function (details) {
    details.open = true;
  });
  return false;
}

let chartAnimation = null; // Chart.js's own animation settings, kept to restore them

export function setChartDefaults() {
  const Chart = window.Chart;
  if (chartAnimation === null) chartAnimation = Chart.defaults.animation;
  readPalette();
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = cssVar("--ink", "#333");
  Chart.defaults.borderColor = cssVar("--line", "#e3e6ea");
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.responsive = true;
  Chart.defaults.animation = reducedMotion ? false : chartAnimation;
  Chart.defaults.plugins.legend.labels.usePointStyle = true;
}

// Follow the system: a switch to dark mode recolours the charts, reduced motion stops them moving.
export function followSystem() {
  function restyle() {
    if (!window.Chart) return;
    reducedMotion = !!(motionQuery && motionQuery.matches);
    setChartDefaults();
    charts.forEach(function (chart) {
      chart.options.animation = reducedMotion ? false : chartAnimation;
      chart.data.datasets.forEach(function (set) {
        if (set.paletteIndex === undefined) return;
        const colour = Array.isArray(set.paletteIndex) ? set.paletteIndex.map(function (i) { return PALETTE[i]; }) : PALETTE[set.paletteIndex];
        set.borderColor = colour;
        set.backgroundColor = colour;
      });
      chart.update("none");
    });
  }
  [darkQuery, motionQuery].forEach(function (query) {
    if (query && query.addEventListener) query.addEventListener("change", restyle);
  });
}

function track(chart) {
  charts.push(chart);
  return chart;
}

export function lineDataset(label, values, index, extra) {
  const colour = PALETTE[index % PALETTE.length];
  return Object.assign({
    label: label,
    data: values.map(function (v) {
      return isNum(v) ? v : null;
    }),
    paletteIndex: index % PALETTE.length,
    borderColor: colour,
    backgroundColor: colour,
    borderDash: DASHES[index % DASHES.length],
    pointStyle: POINTS[index % POINTS.length],
    pointRadius: 2.5,
    pointHoverRadius: 5,
    borderWidth: 2,
    spanGaps: true,
    tension: 0.15,
  }, extra || {});
}

// Accuracy is read where the data is: zoomed, the axis spans the values (at
// least `minSpan`), never past 100% or below 0%; "full" shows 0-100%. Like
// TensorBoard's "ignore outliers", a line chart's zoom leaves out its lowest
// tenth (the first epochs, a dip), which stay in the table and at the edge.
function finiteValues(datasets) {
  const values = [];
  datasets.forEach(function (set) {
    set.data.forEach(function (v) {
      const y = v !== null && typeof v === "object" ? v.y : v;
      if (isNum(y)) values.push(y);
    });
  });
  return values.sort(function (a, b) { return a - b; });
}

function niceStep(raw) {
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * power;
}

function zoomedRange(sorted, minSpan, trim) {
  if (!sorted.length) return { min: 0, max: 1, step: 0.1 };
  const skip = sorted.length >= 5 ? Math.floor(sorted.length * trim) : 0;
  let lo = sorted[skip];
  let hi = sorted[sorted.length - 1];
  const span = Math.max(hi - lo, minSpan);
  const middle = (lo + hi) / 2;
  lo = Math.min(lo, middle - span / 2) - span * 0.08;
  hi = Math.max(hi, middle + span / 2) + span * 0.08;
  const step = niceStep((hi - lo) / 5);
  let min = Math.max(0, Math.floor(lo / step + 1e-9) * step);
  let max = Math.min(1, Math.ceil(hi / step - 1e-9) * step);
  if (max - min < minSpan) { // near 100%: the span grows downwards
    if (max >= 1) min = Math.max(0, 1 - Math.ceil(minSpan / step) * step);
    else max = Math.min(1, min + Math.ceil(minSpan / step) * step);
  }
  return { min: min, max: max, step: step };
}

export function applyAccuracyRange(chart, zoomed, minSpan, trim) {
  const y = chart.options.scales.y;
  const range = zoomed ? zoomedRange(finiteValues(chart.data.datasets), minSpan || 0.02,
    trim === undefined ? 0.1 : trim) : { min: 0, max: 1, step: 0.1 };
  y.min = range.min;
  y.max = range.max;
  y.ticks.stepSize = range.step;
}

// Loss spans orders of magnitude over a run: a log axis shows the late epochs too.
function applyLossScale(chart, log) {
  const y = chart.options.scales.y;
  y.type = log ? "logarithmic" : "linear";
  y.ticks.callback = log ? logTick : lossTick;
  y.beginAtZero = !log;
}

function logTick(v) {
  if (!isNum(v) || v <= 0) return "";
  const power = Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
  const mantissa = Math.round(v / power);
  return [1, 2, 5].indexOf(mantissa) >= 0 ? String(Number(v.toPrecision(2))) : "";
}

// A pair of toggle buttons above a chart; `apply(on)` changes it, then it redraws.
function addToggle(canvas, chart, text, initial, apply, describe) {
  const figure = canvas.closest("figure");
  if (!figure) return;
  let head = figure.querySelector(".chart-controls");
  if (!head) {
    head = document.createElement("div");
    head.className = "chart-controls";
    head.setAttribute("role", "group");
    head.setAttribute("aria-label", "Chart view: " + (figure.querySelector("figcaption") || {}).textContent);
    figure.insertBefore(head, figure.querySelector(".chart-box"));
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chart-toggle";
  let on = initial;
  button.textContent = text; // the label stays; aria-pressed (and its look) says which view
  button.title = describe;
  function show() {
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }
  button.addEventListener("click", function () {
    on = !on;
    apply(on);
    chart.update(reducedMotion ? "none" : undefined);
    show();
  });
  apply(on);
  chart.update("none");
  show();
  head.appendChild(button);
}

export function zoomToggle(canvas, chart, minSpan, trim) {
  addToggle(canvas, chart, "Zoom in", true, function (on) {
    applyAccuracyRange(chart, on, minSpan, trim);
  }, "Pressed: the axis spans the values (the lowest tenth of a curve left out); released: 0 to 100%");
}

export function logToggle(canvas, chart) {
  addToggle(canvas, chart, "Log scale", true, function (on) {
    applyLossScale(chart, on);
  }, "Pressed: a logarithmic loss axis; released: linear from 0");
}

export function lineChart(canvas, labels, datasets, yTitle, formatTick, formatTip) {
  const tip = formatTip || formatTick;
  return track(new window.Chart(canvas, {
    type: "line",
    data: { labels: labels, datasets: datasets },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { title: { display: true, text: "epoch" } },
        y: { title: { display: true, text: yTitle }, ticks: { callback: formatTick } },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: function (ctx) {
              return (ctx.dataset.fullName || ctx.dataset.label) + ": " + tip(ctx.parsed.y);
            },
          },
        },
      },
    },
  }));
}

export function barChart(canvas, labels, values, colours, yTitle, formatTick, xTitle, formatTip) {
  const tip = formatTip || formatTick;
  return track(new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: labels,
      datasets: [{ label: yTitle, data: values, backgroundColor: colours, borderColor: colours, borderWidth: 1 }],
    },
    options: {
      scales: {
        x: { title: { display: !!xTitle, text: xTitle || "" } },
        y: { beginAtZero: true, title: { display: true, text: yTitle }, ticks: { callback: formatTick } },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              return tip(ctx.parsed.y);
            },
          },
        },
      },
    },
  }));
}

export const pctTick = function (v) {
  return pct(v, 1);
};

export const pctTip = function (v) {
  return pct(v, 2);
};

export const lossTick = function (v) {
  return dec(v, 3);
};

export const lossTip = function (v) {
  return dec(v, 4);
};

// Reliability diagram: each bin's accuracy at its mean confidence, before and
// after calibration, against the diagonal where accuracy equals confidence.
function reliabilityPoints(bins) {
  return (bins || []).filter(function (b) {
    return b && b.count > 0 && isNum(b.accuracy);
  }).map(function (b) {
    const x = isNum(b.confidence) ? b.confidence : (b.lo + b.hi) / 2;
    return { x: x, y: b.accuracy, count: b.count, lo: b.lo, hi: b.hi };
  });
}

export function reliabilityChart(canvas, data) {
  const points = function (label, bins, index) {
    return lineDataset(label, [], index, { data: reliabilityPoints(bins), tension: 0, pointRadius: 3.5 });
  };
  const diagonal = {
    label: "perfectly calibrated",
    data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
    paletteIndex: 6,
    borderColor: PALETTE[6],
    backgroundColor: PALETTE[6],
    borderDash: DASHES[2],
    borderWidth: 1.5,
    pointRadius: 0,
    pointHoverRadius: 0,
    pointStyle: "line",
  };
  const axis = function (title) {
    return { type: "linear", min: 0, max: 1, title: { display: true, text: title }, ticks: { callback: function (v) { return pct(v, 0); } } };
  };
  return track(new window.Chart(canvas, {
    type: "line",
    data: { datasets: [points("after calibration", data.after, 0), points("before calibration", data.before, 1), diagonal] },
    options: {
      interaction: { mode: "nearest", intersect: false },
      scales: { x: axis("confidence (mean of each bin)"), y: axis("accuracy") },
      plugins: {
        tooltip: {
          filter: function (item) {
            return item.raw && item.raw.count !== undefined;
          },
          callbacks: {
            label: function (ctx) {
              const p = ctx.raw;
              return ctx.dataset.label + ": " + pct(p.y, 1) + " right at " + pct(p.x, 1) + " confidence (" +
                p.count.toLocaleString("en") + " images, bin " + pct(p.lo, 0) + "–" + pct(p.hi, 0) + ")";
            },
          },
        },
      },
    },
  }));
}
