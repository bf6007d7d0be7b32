// Flag review: keyboard shortcuts and in-place actions on the flagged-drawings grid.
// Without this script the forms on each card still work (plain POST + redirect).
(function () {
  "use strict";

  const grid = document.getElementById("flag-grid");
  if (!grid || grid.dataset.admin !== "yes") return;
  const tokenMeta = document.querySelector('meta[name="csrf-token"]');
  const token = tokenMeta ? tokenMeta.content : "";
  const status = document.getElementById("review-status");
  const cards = function () {
    return Array.prototype.slice.call(grid.querySelectorAll(".flag-card"));
  };

  // A label is a digit, or the page's name for a drawing that is no digit at all.
  const NO_DIGIT = grid.dataset.noDigit;

  function labelOf(value) {
    return value === NO_DIGIT ? NO_DIGIT : Number(value);
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  function apply(card, data) {
    ["open", "confirmed", "dismissed"].forEach(function (s) {
      card.classList.toggle("status-" + s, s === data.status);
    });
    const badge = card.querySelector(".flag-status-badge");
    badge.textContent = data.status;
    badge.className = "badge flag-status-badge status-" + data.status;
    const label = card.querySelector(".flag-label");
    label.textContent = data.label_words;
    label.classList.toggle("is-none", data.label === NO_DIGIT);
    const select = card.querySelector("select[name=label]");
    if (select) select.value = String(data.label);
    card.setAttribute("aria-label", "Flag " + data.id + ": predicted " + data.predicted +
      ", corrected to " + data.label_words + ", " + data.status);
  }

  function send(card, action, label) {
    const body = { action: action };
    if (label !== undefined) body.label = label;
    card.classList.add("busy");
    return fetch(card.dataset.reviewUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": token },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.error || ("HTTP " + response.status));
        return data;
      });
    }).then(function (data) {
      apply(card, data);
      say("Flag " + data.id + ": " + data.status + ", corrected to " + data.label_words + ".");
    }).catch(function (err) {
      say("Could not save flag " + card.dataset.flagId + ": " + err.message);
    }).finally(function () {
      card.classList.remove("busy");
    });
  }

  // Buttons send in place instead of reloading the page.
  grid.addEventListener("submit", function (event) {
    const form = event.target;
    const card = form.closest(".flag-card");
    if (!card) return;
    event.preventDefault();
    const submitter = event.submitter;
    const action = (submitter && submitter.name === "action") ? submitter.value
      : form.querySelector("[name=action]").value;
    const select = form.querySelector("select[name=label]");
    send(card, action, action === "relabel" && select ? labelOf(select.value) : undefined);
  });

  function move(card, step) {
    const all = cards();
    const next = all[all.indexOf(card) + step];
    if (next) next.focus();
  }

  grid.addEventListener("keydown", function (event) {
    const card = event.target.closest(".flag-card");
    if (!card || event.target !== card || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (/^[0-9]$/.test(key)) send(card, "relabel", Number(key));
    else if (key === "n") send(card, "relabel", NO_DIGIT);
    else if (key === "c") send(card, "confirm");
    else if (key === "d") send(card, "dismiss");
    else if (key === "o") send(card, "reopen");
    else if (key === "j" || key === "arrowright" || key === "arrowdown") move(card, 1);
    else if (key === "k" || key === "arrowleft" || key === "arrowup") move(card, -1);
    else return;
    event.preventDefault();
  });
})();
