/* A sweep's report (GET /api/v1/sweeps/{id}): throughput and latency against load with the
   knee, the saturation point, the SLO line and the USL fit; the table of points. The fitted
   curve is the report's own (usl_curve: the fit evaluated across the measured loads). */
"use strict";

(function () {
  const JP = window.JP;
  const { el, $, clear, fig, badge, kv, api, isNum, num } = JP;
  const sweepId = document.body.dataset.sweepId;

  const drawn = {};
  const REFRESH_MS = 5000;

  /** A chart in the figure named `name`, replacing the one drawn before (a running sweep is
   *  drawn again as its points come in). */
  function fresh(name, spec) {
    if (drawn[name]) drawn[name].destroy();
    drawn[name] = JP.chart($(`[data-chart="${name}"]`), spec);
    return drawn[name];
  }

  /** Every x the charts need: the loads measured, the fitted curve's loads, the marks. */
  function xs(facts, points) {
    const set = new Set(points.map((p) => p.value));
    (facts.usl_curve || []).forEach((c) => set.add(c.n));
    const slo = facts.slo || {};
    if (slo.found && isNum(slo.x)) set.add(slo.x);
    return [...set].sort((a, b) => a - b);
  }

  function at(x, xsList, value) { return xsList.map((v) => (v === x ? value : null)); }

  function column(x, points, key) {
    const byLoad = new Map(points.map((p) => [p.value, p[key]]));
    return x.map((v) => (byLoad.has(v) && isNum(byLoad.get(v)) ? byLoad.get(v) : null));
  }

  function throughputChart(facts, points, x) {
    const u = facts.usl || {};
    const knee = facts.throughput_knee || {};
    const sat = facts.saturation || {};
    const tput = column(x, points, "throughput");
    const byLoad = new Map(points.map((p) => [p.value, p.throughput]));
    const series = [
      { key: "throughput", label: "throughput (measured)", color: "#2563eb", points: 7, spanGaps: true },
      { key: "usl", label: "USL fit", color: "#7c3aed", dash: [6, 4], optional: true, spanGaps: true },
      { key: "saturation", label: `saturation${sat.resource ? ` (${sat.resource})` : ""}`, color: "#d97706", points: 20, ring: true, line: false, optional: true },
      { key: "knee", label: "knee", color: "#dc2626", points: 11, line: false, optional: true },
      { key: "peak", label: "USL peak", color: "#059669", points: 11, line: false, optional: true },
    ];
    const cols = {
      x,
      throughput: tput,
      usl: column(x, (facts.usl_curve || []).map((c) => ({ value: c.n, fit: c.throughput })), "fit"),
      knee: knee.found ? at(knee.x, x, knee.y) : x.map(() => null),
      saturation: isNum(sat.value) && byLoad.has(sat.value) ? at(sat.value, x, byLoad.get(sat.value)) : x.map(() => null),
      peak: u.ok && isNum(u.peak_n) && isNum(u.peak_throughput) ? at(u.peak_n, x, u.peak_throughput) : x.map(() => null),
    };
    const metric = ((facts.metric_names || {}).throughput || [])[0] || "throughput";
    const c = fresh("throughput", {
      time: false, xLabel: facts.vary || "load", height: 280, series,
      scales: { y: { label: metric } }, empty: "no points measured",
      reasons: { throughput: knee.reason && !tput.some(isNum) ? knee.reason : null },
    });
    c.set(cols);
  }

  function latencyChart(facts, points, x) {
    const slo = facts.slo || {};
    const knee = facts.latency_knee || {};
    const target = isNum(facts.slo_p99_ms) ? facts.slo_p99_ms : slo.slo_p99;
    const series = [
      { key: "p50", label: "p50", color: "#059669", points: 6, spanGaps: true },
      { key: "p99", label: "p99", color: "#dc2626", points: 6, spanGaps: true },
      { key: "slo", label: `SLO p99 ${isNum(target) ? `${num(target)} ms` : ""}`, color: "#4b5563", dash: [8, 4], optional: true },
      { key: "slo_x", label: "SLO reached", color: "#111827", points: 12, line: false, optional: true },
      { key: "knee", label: "p99 knee", color: "#d97706", points: 13, line: false, optional: true },
    ];
    const p99 = column(x, points, "p99_ms");
    const byLoad = new Map(points.map((p) => [p.value, p.p99_ms]));
    const cols = {
      x,
      p50: column(x, points, "p50_ms"),
      p99,
      slo: isNum(target) ? x.map(() => target) : x.map(() => null),
      slo_x: slo.found && isNum(slo.x) ? at(slo.x, x, target) : x.map(() => null),
      knee: knee.found && byLoad.has(knee.x) ? at(knee.x, x, byLoad.get(knee.x)) : x.map(() => null),
    };
    fresh("latency", {
      time: false, xLabel: facts.vary || "load", height: 280, series, scales: { y: { label: "ms" } },
      empty: "no points measured",
      reasons: { p50: "the jobs reported no latency (p50_ms, p99_ms in their metrics)", p99: "no p99 latency figures" },
    }).set(cols);
  }

  function why(reason) { return String(reason || "not found").replace(/^no knee: /, ""); }

  function findings(facts) {
    const list = clear($("#findings"));
    const tk = facts.throughput_knee || {};
    const u = facts.usl || {};
    const sat = facts.saturation || {};
    const slo = facts.slo;
    const lk = facts.latency_knee || {};
    const items = [
      tk.found ? `Throughput stops scaling at ${facts.vary}=${num(tk.x)} (knee, p=${num(tk.p_value, 2)}).` : `No throughput knee: ${why(tk.reason)}.`,
      lk.found ? `p99 latency bends at ${facts.vary}=${num(lk.x)}.` : `No p99 knee: ${why(lk.reason)}.`,
      u.ok ? `USL fit: σ ${num(u.sigma)}, κ ${num(u.kappa)}, R² ${num(u.r2, 3)}${isNum(u.peak_n) ? `, peak at ${facts.vary}=${num(u.peak_n)}` : `, ${u.peak_note || "no peak"}`}.` : `No USL fit: ${u.reason || "not enough points"}.`,
      isNum(sat.value) ? `Saturating resource at ${facts.vary}=${num(sat.value)} (${sat.at || ""}): ${sat.resource || "none"}, verdict ${sat.verdict || "-"}.` : null,
      slo ? (slo.found ? `p99 reaches the SLO of ${num(slo.slo_p99)} ms at ${facts.vary}≈${num(slo.x)}${slo.interpolated ? " (interpolated)" : ""}.` : `SLO: ${slo.reason || "not reached"}.`) : "No SLO given (sweep --slo-p99 MS).",
    ];
    items.filter(Boolean).forEach((t) => list.appendChild(el("li", {}, t)));
  }

  function table(facts, points) {
    const tk = facts.throughput_knee || {};
    const sat = facts.saturation || {};
    const tbody = clear($("#points tbody"));
    for (const p of points) {
      const marks = [];
      if (tk.found && tk.x === p.value) marks.push("knee");
      if (isNum(sat.value) && sat.value === p.value) marks.push("saturation");
      tbody.appendChild(el("tr", {},
        el("td", { class: "num" }, num(p.value)), el("td", { class: "num" }, String(p.repeats ?? "")),
        el("td", { class: "num" }, fig(p.throughput)), el("td", { class: "num" }, fig(p.throughput_min)),
        el("td", { class: "num" }, fig(p.throughput_max)), el("td", { class: "num" }, fig(p.p50_ms)),
        el("td", { class: "num" }, fig(p.p99_ms)), el("td", {}, marks.map((m) => el("span", { class: `chip mark-${m}` }, m)))));
    }
    if (!points.length) tbody.appendChild(el("tr", {}, el("td", { colspan: 8, class: "empty" }, "no point has a measured figure")));
  }

  async function start() {
    let facts;
    try {
      facts = await api(`/sweeps/${encodeURIComponent(sweepId)}`);
    } catch (e) {
      JP.showError(e.status === 404 ? `no sweep ${sweepId}` : e.message);
      return;
    }
    if (facts.report) facts = Object.assign({}, facts, facts.report);
    clear($("#sweep-status")).appendChild(badge(facts.sweep_status || facts.status));
    const jobs = facts.jobs || {};
    kv($("#sweep-record"), [
      ["tool / script", `${facts.tool || ""} ${facts.script || ""}`],
      ["varies", `${facts.vary} = ${(facts.values || []).join(", ")}`],
      ["repeat", String(facts.repeat ?? 1)],
      ["jobs", `${jobs.succeeded ?? "-"} succeeded of ${jobs.total ?? "-"}${(jobs.failed || []).length ? `, ${jobs.failed.length} failed` : ""}`],
      ["SLO p99", isNum(facts.slo_p99_ms) ? `${num(facts.slo_p99_ms)} ms` : "none"],
      ["workers", (facts.workers || []).join(", ") || "-"],
    ]);
    const points = (facts.points || []).filter((p) => isNum(p.value)).sort((a, b) => a.value - b.value);
    const x = points.length ? xs(facts, points) : [];
    throughputChart(facts, points, x);
    latencyChart(facts, points, x);
    findings(facts);
    table(facts, points);
    const failed = jobs.failed || [];
    const ul = clear($("#sweep-jobs"));
    failed.forEach((id) => ul.appendChild(el("li", {}, JP.jobLink(id))));
    if (!failed.length) ul.appendChild(el("li", { class: "note" }, "none failed"));
    if ((facts.sweep_status || facts.status) === "running") setTimeout(start, REFRESH_MS);
  }

  start();
})();
