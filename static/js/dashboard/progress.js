// Live progress of a queued or running run: polling, the progress line, the status badge.

import { duration, isNum, setCodeText } from "./format.js";

// Polls a progress URL every `every` ms while the run is queued or running;
// calls onData with each reply, and onDone once the run has finished.
export function poll(url, every, onData, onDone) {
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
        if (data.live) window.setTimeout(tick, every); // the server says whether it goes on
        else onDone(data);
      })
      .catch(function () {
        failures += 1; // the server may be restarting: back off, keep trying
        window.setTimeout(tick, Math.min(30000, every * Math.pow(2, failures)));
      });
  }
  window.setTimeout(tick, every);
}

export function renderProgress(box, data) {
  if (!box) return;
  const field = function (name) {
    return box.querySelector('[data-field="' + name + '"]');
  };
  const phase = field("phase");
  const bar = field("bar");
  const epoch = field("epoch");
  const eta = field("eta");
  if (phase) {
    setCodeText(phase, data.phase || data.waiting || data.status);
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
export function setBadge(badge, status, symbol) {
  while (badge.firstChild) badge.removeChild(badge.firstChild);
  const mark = document.createElement("span");
  mark.setAttribute("aria-hidden", "true");
  mark.textContent = (symbol || "") + " ";
  badge.appendChild(mark);
  badge.appendChild(document.createTextNode(status));
  badge.className = "badge status-" + status;
}
