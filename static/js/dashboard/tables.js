// Tables: sortable columns, and a hint above a table wider than the screen.

// Header buttons sort by the cells' data-sort values; empty values go last.
export function initSortable(table) {
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

// A table wider than its wrapper scrolls inside it; a line above says so.
export function initScrollHints() {
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
