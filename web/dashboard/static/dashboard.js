// The dashboard's charts, drawn by ECharts from the figures the page carries in
// data-charts / data-labels (no inline script: the Content-Security-Policy forbids it).
// Tooltips render on the canvas (renderMode "richText"): ECharts' HTML tooltips carry inline
// styles, which the policy would refuse.
"use strict";
(() => {
  const root = document.getElementById("dashboard-charts");
  if (!root || typeof echarts === "undefined") return;
  const data = JSON.parse(root.dataset.charts);
  const labels = JSON.parse(root.dataset.labels);
  const levelColours = ["#dc3545", "#fd7e14", "#0d6efd"];
  const tooltip = { trigger: "axis", renderMode: "richText", axisPointer: { type: "shadow" } };
  const charts = [];

  function draw(name, option) {
    const el = root.querySelector(`[data-chart="${name}"]`);
    if (!el) return;
    const chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(Object.assign({ animation: false, color: levelColours }, option));
    el.dataset.rendered = "true";
    charts.push(chart);
  }

  function levelSeries(byLevel, stack) {
    return data.levels.map((lv, i) => ({
      name: labels.levels[i], type: "bar", stack, data: byLevel[String(lv)],
      emphasis: { focus: "series" },
    }));
  }

  // Many units: a vertical list of bars that scrolls (dataZoom) past 20 of them.
  function unitAxis() {
    const many = data.units.length > 20;
    return {
      yAxis: { type: "category", data: data.unit_names, inverse: true,
               axisLabel: { width: 110, overflow: "truncate" } },
      dataZoom: many ? [{ type: "slider", yAxisIndex: 0, startValue: 0, endValue: 19,
                          width: 14, right: 4 }, { type: "inside", yAxisIndex: 0 }] : [],
      grid: { left: 120, right: many ? 30 : 16, top: 30, bottom: 24 },
    };
  }

  draw("post-levels", {
    tooltip: { trigger: "item", renderMode: "richText" },
    legend: { bottom: 0 },
    series: [{
      type: "pie", radius: ["35%", "65%"], label: { formatter: "{b}: {c}" },
      data: data.levels.map((lv, i) => ({ name: labels.levels[i], value: data.posts_by_level[i] })),
    }],
  });

  draw("risk-categories", {
    tooltip, legend: { top: 0 },
    grid: { left: 40, right: 16, top: 36, bottom: 40 },
    xAxis: { type: "category", data: labels.categories, axisLabel: { interval: 0 } },
    yAxis: { type: "value", name: labels.risk_points, minInterval: 1 },
    series: levelSeries(data.risks_by_category, "level"),
  });

  draw("unit-levels", Object.assign(unitAxis(), {
    tooltip, legend: { top: 0 },
    xAxis: { type: "value", name: labels.posts, minInterval: 1 },
    series: levelSeries(data.unit_post_levels, "level"),
  }));

  draw("unit-cards", Object.assign(unitAxis(), {
    tooltip, legend: { top: 0 }, color: ["#dc3545", "#ffc107"],
    xAxis: { type: "value", minInterval: 1 },
    series: [
      { name: labels.overdue, type: "bar", stack: "cards", data: data.unit_overdue },
      { name: labels.near_due, type: "bar", stack: "cards", data: data.unit_near_due },
    ],
  }));

  draw("coverage", Object.assign(unitAxis(), {
    tooltip, legend: { top: 0 }, color: ["#6c757d", "#0dcaf0", "#198754", "#6610f2"],
    xAxis: { type: "value", name: labels.coverage, min: 0, max: 100 },
    // Evaluated milestones: the report's coverage per unit; the others: posts graded so far.
    series: data.milestones.map((m) => ({
      name: `${labels.milestones[m] || m} (${data.coverage_source[m] === "report"
        ? labels.from_report : labels.graded_so_far})`,
      type: "bar", data: data.coverage[m],
    })),
  }));

  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
