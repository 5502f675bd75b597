// The statistics screens' charts, drawn with uPlot from data the server put in the page (the same
// figures are in a table beside each chart). Each `.chart` names its data: a script element
// holding {"x": [...], "labels": [...], "series": [{"name", "values"}], "percent": bool}. Charts are
// redrawn to their card's width when the phone turns.
"use strict";

(function () {
  if (typeof uPlot !== "function") return;
  const colours = ["#0b5cad", "#b3261e", "#1b7f3b", "#8a5a00", "#6a3fa0", "#00727a"];
  for (const box of document.querySelectorAll(".chart[data-source]")) {
    const source = document.getElementById(box.dataset.source);
    if (!source) continue;
    const spec = JSON.parse(source.textContent);
    const label = (i) => spec.labels[Math.round(i)] ?? "";
    const shown = (v) => (v == null ? "--" : spec.percent ? Math.round(v * 100) + " %" : String(v));
    const series = [{ label: spec.x_name, value: (u, v) => (v == null ? "--" : label(v)) }].concat(
      spec.series.map((s, i) => ({
        label: s.name,
        stroke: colours[i % colours.length],
        width: 2,
        points: { show: spec.x.length < 40 },
        value: (u, v) => shown(v),
      }))
    );
    const size = () => ({ width: Math.max(200, box.clientWidth), height: 200 });
    const chart = new uPlot(
      {
        ...size(),
        series,
        scales: { x: { time: false }, y: spec.percent ? { range: [0, 1] } : {} },
        axes: [
          { values: (u, ticks) => ticks.map(label) },
          { size: 44, values: (u, ticks) => ticks.map((t) => (spec.percent ? Math.round(t * 100) + "%" : String(t))) },
        ],
        legend: { show: spec.series.length > 1 || spec.percent },
      },
      [spec.x].concat(spec.series.map((s) => s.values)),
      box
    );
    box.dataset.drawn = "1";
    window.addEventListener("resize", () => chart.setSize(size()));
  }
})();
