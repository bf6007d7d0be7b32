// DigitPad dashboard: sortable run table, compare picker, live progress of
// running runs, Chart.js charts (the reliability diagram among them), and the
// confusion matrix's count/rate toggle.
// Page data comes from <script type="application/json"> blocks:
//   #dashboard-data (run list), #run-data (one run), #compare-data (comparison).
(function () {
  "use strict";

  // Okabe-Ito, in the order series and runs take them (yellow last: faint on white).
  // The CSS variables of the same names win: in dark mode the black series is light grey.
  const PALETTE_NAMES = ["--oi-blue", "--oi-orange", "--oi-green", "--oi-pink", "--oi-sky", "--oi-vermillion", "--oi-black", "--oi-yellow"];
  const PALETTE_DEFAULTS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"];
  const PALETTE = PALETTE_DEFAULTS.slice();
  const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3], [4, 2], [12, 4], [1, 2], [8, 2, 2, 2]];
  const POINTS = ["circle", "rect", "triangle", "rectRot", "crossRot", "star", "rectRounded", "cross"];
  const LIVE = ["queued", "running"];
  const STATUS_MARKS = { succeeded: "✓", failed: "✗", running: "▶", queued: "…" };
  const motionQuery = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;
  const darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  let reducedMotion = !!(motionQuery && motionQuery.matches);
  const charts = []; // every chart on the page, to follow a change of colour scheme or motion

  function cssVar(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function readPalette() {
    PALETTE_NAMES.forEach(function (name, i) {
      PALETTE[i] = cssVar(name, PALETTE_DEFAULTS[i]);
    });
  }

  function readData(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    try {
      return JSON.parse(el.textContent);
    } catch (err) {
      return null;
    }
  }

  // ------------------------------------------------------------ formatting
  function isNum(x) {
    return typeof x === "number" && isFinite(x);
  }
  function pct(x, digits) {
    return isNum(x) ? (x * 100).toFixed(digits === undefined ? 2 : digits) + "%" : "—";
  }
  function dec(x, digits) {
    return isNum(x) ? x.toFixed(digits === undefined ? 4 : digits) : "—";
  }
  function duration(seconds) {
    if (!isNum(seconds)) return "";
    if (seconds < 60) return seconds.toFixed(1) + " s";
    const total = Math.round(seconds);
    const minutes = Math.floor(total / 60);
    if (minutes < 60) return minutes + " min " + String(total % 60).padStart(2, "0") + " s";
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  // ------------------------------------------------------------ sortable tables
  // Header buttons sort by the cells' data-sort values; empty values go last.
  function initSortable(table) {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach(function (th, column) {
      const button = th.querySelector(".sort-button");
      if (!button) return;
      button.addEventListener("click", function () {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) {
          other.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        sortRows(table, column, button.dataset.sortType === "number", ascending);
      });
    });
  }

  function sortRows(table, column, numeric, ascending) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const key = function (row) {
      const cell = row.cells[column];
      const raw = cell ? (cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim()) : "";
      if (raw === "") return null;
      if (numeric) {
        const value = parseFloat(raw);
        return isNaN(value) ? null : value;
      }
      return raw.toLowerCase();
    };
    const keyed = rows.map(function (row, index) {
      return { row: row, key: key(row), index: index };
    });
    keyed.sort(function (a, b) {
      if (a.key === null && b.key === null) return a.index - b.index;
      if (a.key === null) return 1;
      if (b.key === null) return -1;
      let order;
      if (numeric) order = a.key - b.key;
      else order = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      if (order === 0) return a.index - b.index;
      return ascending ? order : -order;
    });
    keyed.forEach(function (item) {
      body.appendChild(item.row);
    });
  }

  // ------------------------------------------------------------ compare picker
  function initComparePicker(form, compareUrl) {
    const button = document.getElementById("compare-button");
    const hint = document.getElementById("compare-hint");
    const boxes = function () {
      return Array.from(form.querySelectorAll('input[name="runs"]:checked'));
    };
    function update() {
      const n = boxes().length;
      button.disabled = n < 2;
      hint.textContent = n < 2 ? "Tick two or more runs." : n + " runs selected.";
    }
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const ids = boxes().map(function (box) {
        return box.value;
      });
      if (ids.length < 2) return;
      window.location.assign(compareUrl + "?runs=" + ids.map(encodeURIComponent).join(","));
    });
    update();
  }

  // ------------------------------------------------------------ live progress
  // Polls a progress URL every `every` ms while the run is queued or running;
  // calls onData with each reply, and onDone once the run has finished.
  function poll(url, every, onData, onDone) {
    let failures = 0;
    function tick() {
      fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          onData(data);
          if (LIVE.indexOf(data.status) >= 0) window.setTimeout(tick, every);
          else onDone(data);
        })
        .catch(function () {
          failures += 1; // the server may be restarting: back off, keep trying
          window.setTimeout(tick, Math.min(30000, every * Math.pow(2, failures)));
        });
    }
    window.setTimeout(tick, every);
  }

  // Text whose `backticked` parts are commands, shown as code (as the server renders it).
  function setCodeText(el, text) {
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

  function renderProgress(box, data) {
    if (!box) return;
    const field = function (name) {
      return box.querySelector('[data-field="' + name + '"]');
    };
    const phase = field("phase");
    const bar = field("bar");
    const epoch = field("epoch");
    const eta = field("eta");
    if (phase) {
      setCodeText(phase, data.phase || data.waiting || (data.status === "queued" ? "waiting to start" : data.status));
      // A queued job that no worker will take says so in words, and stands out.
      phase.classList.toggle("live-stuck", !data.phase && !!data.waiting && data.waiting.indexOf("No ") === 0);
    }
    if (bar && data.total_epochs > 0) {
      bar.max = data.total_epochs;
      bar.value = Math.min(data.epoch, data.total_epochs);
      bar.textContent = data.epoch + " of " + data.total_epochs;
    }
    if (epoch) epoch.textContent = "epoch " + data.epoch + "/" + data.total_epochs;
    if (eta) eta.textContent = isNum(data.eta_seconds) && data.eta_seconds > 0 ? "about " + duration(data.eta_seconds) + " left" : "";
  }

  // A status badge: a symbol and the word, as the page's own badges (_macros.html).
  function setBadge(badge, status) {
    while (badge.firstChild) badge.removeChild(badge.firstChild);
    const mark = document.createElement("span");
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = (STATUS_MARKS[status] || "") + " ";
    badge.appendChild(mark);
    badge.appendChild(document.createTextNode(status));
    badge.className = "badge status-" + status;
  }

  // ------------------------------------------------------------ wide tables
  // A table wider than its wrapper scrolls inside it; a line above says so.
  function initScrollHints() {
    const wraps = Array.from(document.querySelectorAll(".table-wrap"));
    if (!wraps.length) return;
    const hints = wraps.map(function (wrap) {
      const hint = document.createElement("p");
      hint.className = "scroll-hint";
      hint.setAttribute("aria-hidden", "true"); // the table itself is all there for a screen reader
      hint.textContent = "Scroll sideways for more columns →";
      hint.hidden = true;
      wrap.parentNode.insertBefore(hint, wrap);
      return hint;
    });
    function update() {
      wraps.forEach(function (wrap, i) {
        const wide = wrap.scrollWidth > wrap.clientWidth + 1;
        hints[i].hidden = !wide;
        wrap.classList.toggle("is-scrollable", wide);
      });
    }
    update();
    if (window.ResizeObserver) {
      const observer = new ResizeObserver(update);
      wraps.forEach(function (wrap) { observer.observe(wrap); });
    } else {
      window.addEventListener("resize", update);
    }
    document.addEventListener("toggle", update, true); // a data table opened under a chart
  }

  function initIndex(data) {
    const table = document.getElementById("runs-table");
    if (table) initSortable(table);
    const form = document.getElementById("compare-form");
    if (form && data) initComparePicker(form, data.compare_url);
    if (!data) return;
    data.live.forEach(function (item) {
      const row = document.getElementById("run-row-" + item.id);
      const box = row && row.querySelector(".live");
      poll(item.progress_url, data.poll_ms, function (progress) {
        renderProgress(box, progress);
        const badge = row && row.querySelector(".badge[class*='status-']");
        if (badge && !badge.classList.contains("status-" + progress.status)) setBadge(badge, progress.status);
      }, function () {
        window.location.reload(); // the finished run's results are on the server now
      });
    });
  }

  // ------------------------------------------------------------ charts
  function chartsAvailable() {
    if (window.Chart) return true;
    document.body.classList.add("no-charts");
    // Without the chart library, the tables are the charts: show them.
    document.querySelectorAll("details.chart-data").forEach(function (details) {
      details.open = true;
    });
    return false;
  }

  let chartAnimation = null; // Chart.js's own animation settings, kept to restore them

  function setChartDefaults() {
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
  function followSystem() {
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

  function lineDataset(label, values, index, extra) {
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

  // ------------------------------------------------------------ axes
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

  function applyAccuracyRange(chart, zoomed, minSpan, trim) {
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

  function zoomToggle(canvas, chart, minSpan, trim) {
    addToggle(canvas, chart, "Zoom in", true, function (on) {
      applyAccuracyRange(chart, on, minSpan, trim);
    }, "Pressed: the axis spans the values (the lowest tenth of a curve left out); released: 0 to 100%");
  }

  function logToggle(canvas, chart) {
    addToggle(canvas, chart, "Log scale", true, function (on) {
      applyLossScale(chart, on);
    }, "Pressed: a logarithmic loss axis; released: linear from 0");
  }

  function lineChart(canvas, labels, datasets, yTitle, formatTick, formatTip) {
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

  function barChart(canvas, labels, values, colours, yTitle, formatTick, xTitle, formatTip) {
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

  const pctTick = function (v) {
    return pct(v, 1);
  };
  const pctTip = function (v) {
    return pct(v, 2);
  };
  const lossTick = function (v) {
    return dec(v, 3);
  };
  const lossTip = function (v) {
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

  function reliabilityChart(canvas, data) {
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

  // ------------------------------------------------------------ run page
  function mainEpochs(rows) {
    return rows.filter(function (row) {
      return row.fold === null || row.fold === undefined;
    });
  }

  function historyDatasets(history, metric) {
    const sets = [lineDataset("training", history.map(function (r) {
      return r[metric];
    }), 0)];
    const hasVal = history.some(function (r) {
      return isNum(r["val_" + metric]);
    });
    if (hasVal) {
      sets.push(lineDataset("validation", history.map(function (r) {
        return r["val_" + metric];
      }), 1));
    }
    return sets;
  }

  function fillRows(tbody, history, columns) {
    if (!tbody) return;
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    history.forEach(function (row) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = row.epoch;
      tr.appendChild(th);
      columns.forEach(function (format) {
        const td = document.createElement("td");
        td.className = "num";
        td.textContent = format(row);
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }

  function renderHistoryTables(history) {
    fillRows(document.getElementById("history-loss-rows"), history, [
      function (r) { return dec(r.loss); },
      function (r) { return dec(r.val_loss); },
      function (r) { return isNum(r.lr) ? r.lr.toExponential(2) : "—"; },
      function (r) { return isNum(r.seconds) ? r.seconds.toFixed(1) : "—"; },
    ]);
    fillRows(document.getElementById("history-accuracy-rows"), history, [
      function (r) { return pct(r.accuracy); },
      function (r) { return pct(r.val_accuracy); },
    ]);
  }

  function initConfusionToggle() {
    const button = document.getElementById("confusion-toggle");
    const table = document.getElementById("confusion-table");
    if (!button || !table) return;
    const mode = document.getElementById("confusion-mode");
    const detail = document.getElementById("confusion-detail");
    // A title shows on hover; a tap or a click writes the same details below.
    function showDetail(event) {
      const cell = event.target.closest && event.target.closest("td.heat");
      if (cell && detail) detail.textContent = cell.title;
    }
    table.addEventListener("click", showDetail);
    table.addEventListener("mouseover", showDetail);
    button.addEventListener("click", function () {
      const rates = table.dataset.mode !== "rate";
      table.dataset.mode = rates ? "rate" : "count";
      button.setAttribute("aria-pressed", rates ? "true" : "false");
      button.textContent = rates ? "Show counts" : "Show row rates";
      if (mode) mode.textContent = rates ? "share of each true digit (row rates)" : "counts";
      table.querySelectorAll("td.heat").forEach(function (cell) {
        const level = rates ? cell.dataset.levelRate : cell.dataset.levelCount;
        cell.textContent = rates ? cell.dataset.rate : cell.dataset.count;
        cell.className = cell.className.replace(/\bheat-\d+\b/, "heat-" + level);
      });
    });
  }

  function initRun(data) {
    initConfusionToggle();
    if (!data) return;
    const runCharts = {};
    if (chartsAvailable()) {
      setChartDefaults();
      const history = data.history || [];
      const labels = history.map(function (r) { return r.epoch; });
      const lossCanvas = document.getElementById("chart-loss");
      const accCanvas = document.getElementById("chart-accuracy");
      if (lossCanvas) {
        runCharts.loss = lineChart(lossCanvas, labels, historyDatasets(history, "loss"), "loss", lossTick, lossTip);
        logToggle(lossCanvas, runCharts.loss);
      }
      if (accCanvas) {
        runCharts.accuracy = lineChart(accCanvas, labels, historyDatasets(history, "accuracy"), "accuracy", pctTick, pctTip);
        zoomToggle(accCanvas, runCharts.accuracy);
      }
      const baseCanvas = document.getElementById("chart-baselines");
      if (baseCanvas && data.baselines.length) {
        const indexes = data.baselines.map(function (b, i) { return b.is_cnn ? 0 : 1 + ((i - 1) % 5 + 5) % 5; });
        const bars = barChart(baseCanvas,
          data.baselines.map(function (b) { return b.name; }),
          data.baselines.map(function (b) { return b.accuracy; }),
          indexes.map(function (i) { return PALETTE[i]; }),
          "test accuracy", pctTick, "", pctTip);
        bars.data.datasets[0].paletteIndex = indexes;
        // Bars start where the models differ (a note says so), or at 0% at the toggle.
        bars.options.scales.y.beginAtZero = false;
        zoomToggle(baseCanvas, bars, 0.05, 0);
      }
      const reliabilityCanvas = document.getElementById("chart-reliability");
      if (reliabilityCanvas && data.reliability) reliabilityChart(reliabilityCanvas, data.reliability);
      const labelCanvas = document.getElementById("chart-labels");
      if (labelCanvas && data.label_distribution.length) {
        barChart(labelCanvas,
          data.label_distribution.map(function (_, digit) { return String(digit); }),
          data.label_distribution,
          PALETTE[0],
          "training images",
          function (v) { return isNum(v) ? v.toLocaleString("en") : ""; },
          "digit").data.datasets[0].paletteIndex = 0;
      }
      followSystem();
    }
    if (!data.live) return;
    const box = document.querySelector("#progress .live");
    poll(data.progress_url, data.poll_ms, function (progress) {
      renderProgress(box, progress);
      const history = mainEpochs(progress.epochs || []);
      renderHistoryTables(history);
      ["loss", "accuracy"].forEach(function (metric) {
        const chart = runCharts[metric];
        if (!chart) return;
        chart.data.labels = history.map(function (r) { return r.epoch; });
        chart.data.datasets = historyDatasets(history, metric);
        if (metric === "accuracy") {
          const zoom = chart.canvas.closest("figure").querySelector(".chart-toggle");
          applyAccuracyRange(chart, !zoom || zoom.getAttribute("aria-pressed") === "true");
        }
        chart.update(reducedMotion ? "none" : undefined);
      });
    }, function () {
      window.location.reload(); // show the finished run's metrics, or its error
    });
  }

  // ------------------------------------------------------------ compare page
  function initCompare(data) {
    if (!data || !chartsAvailable()) return;
    setChartDefaults();
    const longest = Math.max.apply(null, data.runs.map(function (r) { return r.epochs.length; }).concat([0]));
    const labels = [];
    for (let i = 1; i <= longest; i += 1) labels.push(i);
    const datasets = function (metric) {
      return data.runs.map(function (run, index) {
        const label = run.name + (run.source === "training" ? " (training)" : "");
        // The legend shortens long names (a phone is narrow); tooltips and the table have them whole.
        const short = label.length > 30 ? label.slice(0, 28).trim() + "…" : label;
        return lineDataset(short, run[metric], index, { fullName: label });
      });
    };
    const acc = document.getElementById("chart-compare-accuracy");
    const loss = document.getElementById("chart-compare-loss");
    if (acc) zoomToggle(acc, lineChart(acc, labels, datasets("accuracy"), "validation accuracy", pctTick, pctTip));
    if (loss) logToggle(loss, lineChart(loss, labels, datasets("loss"), "validation loss", lossTick, lossTip));
    followSystem();
  }

  // ------------------------------------------------------------ start
  function start() {
    initScrollHints();
    if (document.getElementById("dashboard-data") || document.getElementById("runs-table")) {
      initIndex(readData("dashboard-data"));
    }
    if (document.getElementById("run-data")) initRun(readData("run-data"));
    if (document.getElementById("compare-data")) initCompare(readData("compare-data"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
