// The compare page: every run's validation curves overlaid.

import { chartsAvailable, followSystem, lineChart, lineDataset, logToggle, lossTick, lossTip, pctTick, pctTip,
  setChartDefaults, zoomToggle } from "./charts.js";

export function initCompare(data) {
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
