// The dashboard's front page: the run table sorted, the compare picker, live runs.

import { poll, renderProgress, setBadge } from "./progress.js";
import { initSortable } from "./tables.js";

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

export function initIndex(data) {
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
      if (badge && !badge.classList.contains("status-" + progress.status)) setBadge(badge, progress.status, progress.mark);
    }, function () {
      window.location.reload(); // the finished run's results are on the server now
    });
  });
}
