/* Plotly figures of pages other than the dashboard: every element with data-figure="ID"
   draws the figure in the JSON script element ID (json_script). No inline script (CSP). */
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  function draw() {
    if (typeof Plotly === "undefined") return;
    document.querySelectorAll("[data-figure]").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-figure"));
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      element.textContent = "";
      Plotly.newPlot(element, figure.data, figure.layout, config);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
