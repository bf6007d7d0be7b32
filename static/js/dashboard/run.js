// A run's page: learning curves (live while it runs), baselines, reliability,
// label distribution, and the confusion matrix's count/rate toggle.

import { PALETTE, applyAccuracyRange, barChart, chartsAvailable, followSystem, lineChart, lineDataset, logToggle, lossTick,
  lossTip, pctTick, pctTip, reliabilityChart, setChartDefaults, updateMode, zoomToggle } from "./charts.js";
import { dec, isNum, pct } from "./format.js";
import { poll, renderProgress } from "./progress.js";

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

export function initRun(data) {
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
      chart.update(updateMode());
    });
  }, function () {
    window.location.reload(); // show the finished run's metrics, or its error
  });
}
