// DigitPad dashboard: each page's script, chosen by the page data it carries:
//   #dashboard-data (run list), #run-data (one run), #compare-data (comparison).

import { initCompare } from "./compare.js";
import { readData } from "./format.js";
import { initIndex } from "./index.js";
import { initRun } from "./run.js";
import { initScrollHints } from "./tables.js";

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
