// Sorts and filters the drift table the page already holds; reads and keeps its state in the URL
// fragment: #filter=TEXT&category=CATEGORY&sort=COLUMN&dir=asc|desc. Never builds markup from data.
(function () {
  "use strict";
  var table = document.getElementById("drift-table");
  if (!table) { document.documentElement.setAttribute("data-report-ready", ""); return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filterBox = document.getElementById("drift-filter");
  var categoryBox = document.getElementById("drift-category");
  var shownCount = document.getElementById("drift-count");
  var empty = document.getElementById("drift-empty");
  var state = { filter: "", category: "", sort: "", dir: "asc" };
  var cells = rows.map(function (row) {
    return Array.prototype.map.call(row.cells, function (cell) { return cell.textContent.toLowerCase(); });
  });
  var number = new Intl.NumberFormat("en-US");

  function sortValue(row, index, type) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (raw === "" || cell.querySelector(".none")) { return null; }
    if (type === "number") { var n = Number(raw); return isNaN(n) ? null : n; }
    if (type === "time") { var t = Date.parse(raw); return isNaN(t) ? raw : t; }
    return raw.toLowerCase();
  }

  function compare(a, b) {
    if (a === b) { return 0; }
    if (typeof a === "number" && typeof b === "number") { return a < b ? -1 : 1; }
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function sortRows() {
    var index = -1;
    headers.forEach(function (th, i) {
      var active = th.getAttribute("data-key") === state.sort;
      if (active) { index = i; }
      if (active) { th.setAttribute("aria-sort", state.dir === "desc" ? "descending" : "ascending"); }
      else { th.removeAttribute("aria-sort"); }
    });
    var order = rows.map(function (row, position) { return { row: row, position: position, value: null }; });
    if (index >= 0) {
      var type = headers[index].getAttribute("data-type") || "text";
      var sign = state.dir === "desc" ? -1 : 1;
      order.forEach(function (item) { item.value = sortValue(item.row, index, type); });
      order.sort(function (a, b) {
        if (a.value === null || b.value === null) {  // blanks last, either direction
          return a.value === b.value ? a.position - b.position : (a.value === null ? 1 : -1);
        }
        return sign * compare(a.value, b.value) || a.position - b.position;
      });
    }
    var fragment = document.createDocumentFragment();
    order.forEach(function (item) { fragment.appendChild(item.row); });
    body.appendChild(fragment);
  }

  function filterRows() {
    var needle = state.filter.trim().toLowerCase();
    var visible = 0;
    rows.forEach(function (row, i) {
      var match = (!state.category || row.getAttribute("data-category") === state.category) &&
        (!needle || cells[i].some(function (text) { return text.indexOf(needle) !== -1; }));
      row.hidden = !match;
      if (match) { visible += 1; }
    });
    shownCount.textContent = "Showing " + number.format(visible) + " of " + number.format(rows.length);
    empty.hidden = visible !== 0;
  }

  function readFragment() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    state.filter = params.get("filter") || "";
    state.category = params.get("category") || "";
    state.sort = params.get("sort") || "";
    state.dir = params.get("dir") === "desc" ? "desc" : "asc";
    if (!Array.prototype.some.call(categoryBox.options, function (o) { return o.value === state.category; })) {
      state.category = "";
    }
    filterBox.value = state.filter;
    categoryBox.value = state.category;
  }

  function writeFragment() {
    var params = new URLSearchParams();
    if (state.filter) { params.set("filter", state.filter); }
    if (state.category) { params.set("category", state.category); }
    if (state.sort) { params.set("sort", state.sort); params.set("dir", state.dir); }
    var fragment = params.toString();
    try {
      window.history.replaceState(null, "", fragment ? "#" + fragment : window.location.pathname + window.location.search);
    } catch (ignored) {  // some browsers refuse history changes on file:// pages; the fragment is a convenience
    }
  }

  function update() { sortRows(); filterRows(); }

  filterBox.addEventListener("input", function () { state.filter = filterBox.value; filterRows(); writeFragment(); });
  categoryBox.addEventListener("change", function () { state.category = categoryBox.value; filterRows(); writeFragment(); });
  headers.forEach(function (th) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      state.dir = state.sort === key && state.dir === "asc" ? "desc" : "asc";
      state.sort = key;
      sortRows();
      writeFragment();
    });
  });
  window.addEventListener("hashchange", function () { readFragment(); update(); });

  readFragment();
  update();
  document.getElementById("drift-controls").hidden = false;
  document.documentElement.setAttribute("data-report-ready", "");
}());
