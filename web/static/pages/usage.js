/* Usage: the trend per group (GET /api/v1/usage/trend), this period against the last
   (/usage/compare-periods) and the drill-down ranked by wasted GPU-hours (/usage/drilldown). */
"use strict";

(function () {
  const JP = window.JP;
  const { el, $, clear, fig, api, query, num, isNum } = JP;
  const form = $("#usage-form");
  const FIELDS = ["metric", "by", "bucket", "since", "path"];
  const MAX_GROUPS = 8;
  let trendChart = null;

  function params() {
    const out = {};
    FIELDS.forEach((f) => { const v = form.elements[f].value.trim(); if (v) out[f] = v; });
    return out;
  }

  function hours(v) { return fig(v, "", 3); }

  // GPU utilisation: "not measured" where no job's GPUs were sampled (never 0).
  function util(v) { return isNum(v) ? `${v.toFixed(0)}%` : "not measured"; }

  function points(v) { return isNum(v) ? `${v >= 0 ? "+" : ""}${v.toFixed(1)}` : "-"; }

  function pct(v) {
    if (!isNum(v)) return "-";
    const p = 100 * v;
    return `${p >= 0 ? "+" : ""}${p.toFixed(0)}%`;
  }

  async function trend(p) {
    const data = await api(`/usage/trend${query({ metric: p.metric, by: p.by, bucket: p.bucket, since: p.since })}`);
    const groups = (data.groups || []).slice(0, MAX_GROUPS);
    const spec = {
      time: true, height: 260, scales: { y: { label: data.metric } }, empty: "no finished jobs in this period",
      xPad: data.bucket === "hour" ? 3600 : 86400,
      series: groups.map((g, i) => ({ key: `g${i}`, label: g.group, points: 5, color: JP.COLORS[i % JP.COLORS.length] })),
    };
    if (trendChart) trendChart.destroy();
    trendChart = JP.chart($('[data-chart="trend"]'), spec);
    const cols = { x: (data.buckets || []).map((b) => Date.parse(b) / 1000) };
    groups.forEach((g, i) => { cols[`g${i}`] = g.series; });
    trendChart.set(cols);
    $("#trend-caption").textContent = `${data.metric} per ${data.bucket} by ${data.by}`
      + ((data.groups || []).length > MAX_GROUPS ? ` (the ${MAX_GROUPS} largest of ${data.groups.length} groups)` : "");
    const tbody = clear($("#trend-groups tbody"));
    (data.groups || []).forEach((g) => tbody.appendChild(el("tr", {},
      el("td", {}, g.group), el("td", { class: "num" }, String(g.jobs)), el("td", { class: "num" }, String(g.failures)),
      el("td", { class: "num" }, hours(g.cpu_hours)), el("td", { class: "num" }, hours(g.gpu_hours)),
      el("td", { class: "num" }, hours(g.wasted_gpu_hours)), el("td", { class: "num" }, util(g.gpu_util_percent)),
      el("td", { title: g.trend && g.trend.reason ? g.trend.reason : "" }, g.trend ? g.trend.direction : "-"))));
    if (!(data.groups || []).length) tbody.appendChild(el("tr", {}, el("td", { colspan: 8, class: "empty" }, "no finished jobs match")));
  }

  async function periods(p) {
    const data = await api(`/usage/compare-periods${query({ by: p.by })}`);
    const tbody = clear($("#periods tbody"));
    (data.groups || []).forEach((r) => tbody.appendChild(el("tr", {},
      el("td", {}, r.group),
      el("td", { class: "num" }, String(r.current.jobs)), el("td", { class: "num" }, pct(r.change.jobs)),
      el("td", { class: "num" }, String(r.current.failures)), el("td", { class: "num" }, pct(r.change.failures)),
      el("td", { class: "num" }, hours(r.current.cpu_hours)), el("td", { class: "num" }, pct(r.change.cpu_hours)),
      el("td", { class: "num" }, hours(r.current.wasted_gpu_hours)), el("td", { class: "num" }, pct(r.change.wasted_gpu_hours)),
      el("td", { class: "num" }, util(r.current.gpu_util_percent)), el("td", { class: "num" }, points(r.change.gpu_util_points)))));
    if (!(data.groups || []).length) tbody.appendChild(el("tr", {}, el("td", { colspan: 11, class: "empty" }, "no finished jobs in the last two periods")));
  }

  function node(n, depth) {
    const figures = n.level === "job"
      ? [el("span", { class: "chip" }, n.status || ""), ` wasted GPU h ${num(n.wasted_gpu_hours) ?? "-"}`]
      : [`${n.jobs} job${n.jobs === 1 ? "" : "s"}, ${n.failures} failed · CPU h `, hours(n.cpu_hours), " · GPU h ", hours(n.gpu_hours),
        " · wasted GPU h ", el("strong", {}, hours(n.wasted_gpu_hours))];
    const name = n.level === "job" ? JP.jobLink(n.name) : el("span", { class: "name" }, n.name);
    const head = [el("span", { class: "level" }, n.level), " ", name, " ", el("span", { class: "figures" }, figures)];
    const kids = n.children || [];
    if (!kids.length) return el("div", { class: "leaf" }, head);
    return el("details", { open: depth < 2 }, el("summary", {}, head),
      el("div", { class: "kids" }, kids.map((k) => node(k, depth + 1)),
        n.more ? el("p", { class: "note" }, `and ${n.more} more`) : ""));
  }

  async function drilldown(p) {
    const data = await api(`/usage/drilldown${query({ path: p.path, since: p.since })}`);
    clear($("#drilldown")).appendChild(node(data.tree, 0));
  }

  async function run() {
    const p = params();
    window.history.replaceState(null, "", window.location.pathname + query(p));
    JP.showError("");
    const results = await Promise.allSettled([trend(p), periods(p), drilldown(p)]);
    const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
    if (failed.length) JP.showError(failed.join("; "));
  }

  const q = new URLSearchParams(window.location.search);
  FIELDS.forEach((f) => { if (q.get(f)) form.elements[f].value = q.get(f); });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); run(); });
  run();
})();
