/* The shared dashboard's behaviour: charts, the custom period, the sortable channel table
   and the KPI tree's what-if. No inline handlers: everything is wired here (CSP-friendly). */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function readJson(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  var config = readJson("dashboard-config") || {};

  /* ---- charts ------------------------------------------------------------------------ */

  var plotConfig = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function plot(id, figure) {
    var element = document.getElementById(id);
    if (!element || !figure || typeof Plotly === "undefined") return;
    element.textContent = "";
    Plotly.newPlot(element, figure.data, figure.layout, plotConfig);
  }

  var narrow = window.matchMedia("(max-width: 700px)");

  function drawTrend() {
    var figures = readJson("trend-figures");
    if (figures) plot("trend-chart", narrow.matches ? figures.narrow : figures.wide);
  }

  plot("funnel-chart", readJson("funnel-figure"));
  var funnelChart = document.getElementById("funnel-chart");
  if (funnelChart && funnelChart.on) {
    funnelChart.on("plotly_click", function (event) {
      var url = event.points && event.points[0] && event.points[0].customdata;
      if (url) window.location.href = url;
    });
  }
  drawTrend();
  if (narrow.addEventListener) narrow.addEventListener("change", drawTrend);

  /* ---- target meters ----------------------------------------------------------------- */

  document.querySelectorAll(".meter").forEach(function (meter) {
    var progress = parseFloat(meter.dataset.progress);
    var expected = parseFloat(meter.dataset.expected);
    if (isNaN(progress)) {
      meter.hidden = true;
      return;
    }
    meter.querySelector(".fill").style.width = progress + "%";
    var mark = meter.querySelector(".mark");
    if (isNaN(expected)) mark.hidden = true;
    else mark.style.left = expected + "%";
  });

  /* ---- custom period ----------------------------------------------------------------- */

  var periodSelect = document.getElementById("f-period");
  var customDates = document.getElementById("custom-dates");
  if (periodSelect && customDates) {
    var toggleDates = function () {
      var custom = periodSelect.value === "custom";
      if (custom) customDates.removeAttribute("data-hidden");
      else customDates.setAttribute("data-hidden", "");
      customDates.querySelectorAll("input").forEach(function (input) {
        input.required = custom;
        input.disabled = !custom;
      });
    };
    periodSelect.addEventListener("change", toggleDates);
    toggleDates();
  }

  /* ---- sortable channel table -------------------------------------------------------- */

  var table = document.getElementById("channel-table");
  if (table) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    headers.forEach(function (header, index) {
      var button = header.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", function () {
        var current = header.getAttribute("aria-sort");
        var text = button.dataset.type === "text";
        var direction = current === "descending" ? "ascending" : current === "ascending" ? "descending" : text ? "ascending" : "descending";
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        header.setAttribute("aria-sort", direction);
        sortRows(table.tBodies[0], index, direction, text);
      });
    });
  }

  function sortRows(body, index, direction, text) {
    var rows = Array.prototype.slice.call(body.rows);
    var sign = direction === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.sortValue || "";
      var y = b.cells[index].dataset.sortValue || "";
      if (text) return sign * x.localeCompare(y);
      if (x === "" || y === "") return x === y ? 0 : x === "" ? 1 : -1; /* "-" (null) last */
      return sign * (parseFloat(x) - parseFloat(y));
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  /* ---- KPI tree what-if -------------------------------------------------------------- */

  var currency = config.currency || { symbol: "¥", decimals: 0 };
  var labels = config.labels || {};
  var NULL = config["null"] || "-";

  function number(value, decimals) {
    return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  }

  function money(value) {
    return value === null || value === undefined ? NULL : currency.symbol + number(value, currency.decimals);
  }

  function count(value, decimals) {
    return value === null || value === undefined ? NULL : number(value, decimals || 0);
  }

  function reasonText(reason) {
    return (config.reasons && config.reasons[reason]) || reason;
  }

  var form = document.getElementById("what-if");
  var tree = document.getElementById("tree-table");
  var status = document.getElementById("what-if-status");
  var baseline = config.tree;

  function setCell(row, name, text, before) {
    var cell = row.querySelector('[data-cell="' + name + '"]');
    if (!cell) return;
    cell.textContent = text;
    if (before !== undefined && before !== text) {
      var was = document.createElement("span");
      was.className = "was";
      was.textContent = labels.was + " " + before;
      cell.appendChild(was);
    }
  }

  function statusCell(row, node, repeated) {
    var cell = row.querySelector('[data-cell="status"]');
    cell.textContent = "";
    var span = document.createElement("span");
    if (node.reason) {
      span.className = "muted reason";
      span.textContent = repeated ? labels.follows : reasonText(node.reason);
    } else if (node.status) {
      span.className = "status " + node.status;
      span.textContent = labels[node.status] || node.status;
    }
    cell.appendChild(span);
  }

  // The tree's nodes and their units come from the KPI catalogue (config.nodes).
  var NODES = (config.nodes || []).map(function (node) { return node.key; }).concat(["budget"]);
  var UNITS = {};
  (config.nodes || []).forEach(function (node) { UNITS[node.key] = node.unit; });

  function renderTree(next) {
    var said = null;
    NODES.forEach(function (key) {
      var row = tree.querySelector('tr[data-node="' + key + '"]');
      if (!row || !next[key]) return;
      var node = next[key];
      var old = baseline[key] || {};
      var repeated = Boolean(node.reason) && node.reason === said;
      said = node.reason || null;
      if (key === "budget") {
        setCell(row, "required", money(node.required), money(old.required));
        var reason = row.querySelector('[data-cell="status"] .reason');
        if (reason) reason.textContent = !node.reason ? "" : repeated ? labels.followsAll : reasonText(node.reason);
        return;
      }
      var isMoney = UNITS[key] === "money";
      var required = isMoney ? money : count;
      setCell(row, "required", required(node.required), required(old.required));
      setCell(row, "expected", isMoney ? money(node.expected) : count(node.expected, 1));
      statusCell(row, node, repeated);
      var bottleneck = next.bottleneck === key;
      row.classList.toggle("bottleneck", bottleneck);
      row.querySelector(".bottleneck-badge").hidden = !bottleneck;
    });
    var overrides = (next.inputs && next.inputs.overrides) || [];
    form.querySelectorAll(".what-if-field").forEach(function (field) {
      field.querySelector(".badge.override").hidden = overrides.indexOf(field.dataset.input) < 0;
    });
  }

  function whatIfParams() {
    var params = {};
    Object.keys(config.whatIf || {}).forEach(function (key) { params[key] = config.whatIf[key]; });
    form.querySelectorAll("input[type=number]").forEach(function (input) {
      if (input.value === "" || input.value === input.dataset.initial) return;
      var value = parseFloat(input.value);
      if (isNaN(value)) return;
      params[input.name] = input.hasAttribute("data-rate") ? String(value / 100) : String(value);
    });
    return params;
  }

  function shareableUrl(params) {
    var url = new URL(window.location.href);
    Array.prototype.slice.call(url.searchParams.keys()).forEach(function (key) {
      if (key.indexOf("what_if_") === 0) url.searchParams.delete(key);
    });
    Object.keys(params).forEach(function (key) { url.searchParams.set("what_if_" + key, params[key]); });
    return url;
  }

  function recalculate(params) {
    var query = config.query;
    Object.keys(params).forEach(function (key) {
      query += "&" + encodeURIComponent("what_if_" + key) + "=" + encodeURIComponent(params[key]);
    });
    status.textContent = labels.loading;
    tree.setAttribute("aria-busy", "true");
    fetch(config.api + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.detail || response.statusText);
          return body;
        });
      })
      .then(function (snapshot) {
        renderTree(snapshot.tree);
        status.textContent = "";
        window.history.replaceState(null, "", shareableUrl(params));
      })
      .catch(function (error) {
        status.textContent = labels.failed + " " + error.message;
      })
      .then(function () { tree.removeAttribute("aria-busy"); });
  }

  if (form && tree && baseline) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      recalculate(whatIfParams());
    });
    form.addEventListener("change", function () { recalculate(whatIfParams()); });
    form.addEventListener("reset", function () {
      config.whatIf = {};
      window.setTimeout(function () { recalculate({}); }, 0);
    });
  }
})();
