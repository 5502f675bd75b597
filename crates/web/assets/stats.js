// The statistics screen's chart: scans per hour at each checkpoint, drawn with uPlot from the data
// the server put in the page (the same figures are in the table below it). Redrawn to the card's
// width when the phone turns.
"use strict";

(function () {
  const box = document.getElementById("hours-chart");
  const source = document.getElementById("chart-data");
  if (!box || !source || typeof uPlot !== "function") return;
  const { data, names, hour } = JSON.parse(source.textContent);
  const colours = ["#0b5cad", "#b3261e", "#1b7f3b", "#8a5a00", "#6a3fa0", "#00727a"];
  const series = [{ label: hour, value: (u, v) => (v == null ? "--" : String(v).padStart(2, "0") + ":00") }].concat(
    names.map((name, i) => ({
      label: name,
      stroke: colours[i % colours.length],
      width: 2,
      points: { show: false },
    }))
  );
  function size() {
    return { width: Math.max(200, box.clientWidth), height: 200 };
  }
  const chart = new uPlot(
    {
      ...size(),
      series,
      scales: { x: { time: false } },
      axes: [
        { values: (u, ticks) => ticks.map((t) => String(t).padStart(2, "0") + "h") },
        { size: 40 },
      ],
      legend: { show: names.length > 1 },
    },
    data,
    box
  );
  box.dataset.drawn = "1";
  window.addEventListener("resize", () => chart.setSize(size()));
})();
