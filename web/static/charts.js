/* jobprobe dashboard: charts on uPlot (vendored, web/static/vendor/uplot). A null figure is a
   gap in its line, never a 0; a series with no figure at all is left out of the chart and
   named in a note ("not measured"), and a chart with none says so instead of drawing. Each
   chart's figure element carries data-points (the points plotted) and data-state. */
"use strict";

(function () {
  const { el, clear, isNum, NOT_MEASURED } = window.JP;
  const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#4b5563"];

  function plotWidth(fig) {
    const plot = fig.querySelector(".plot");
    return Math.max(240, Math.floor((plot.clientWidth || fig.clientWidth || 320) - 4));
  }

  /** Tick labels with as many decimals as the step between ticks needs (1,740.1 1,740.2). */
  function ticks(splits) {
    const nums = splits.filter(isNum);
    const step = nums.length > 1 ? Math.abs(nums[1] - nums[0]) : Math.abs(nums[0] || 1);
    const big = Math.max(...nums.map(Math.abs), 0);
    if (big >= 1e7 || (big > 0 && big < 1e-3)) return splits.map((v) => (isNum(v) ? (v === 0 ? "0" : v.toExponential(1)) : ""));
    const decimals = step > 0 ? Math.min(6, Math.max(0, -Math.floor(Math.log10(step) + 1e-9))) : 0;
    return splits.map((v) => (isNum(v) ? v.toLocaleString("en", { minimumFractionDigits: decimals, maximumFractionDigits: decimals }) : ""));
  }

  function measured(values) { return values.some((v) => isNum(v)); }

  /**
   * A chart in `fig` (a <figure> with a .plot div). spec: {series: [{key, label, color?, scale?,
   * dash?, points?, line?}], scales: {name: {label, range?}}, time: bool, height?,
   * reasons: {key: why}, empty: "text when there is no data"}.
   * Returns {set(cols), append(rows), points()} where cols maps x and each key to arrays.
   */
  function chart(fig, spec) {
    const plotDiv = fig.querySelector(".plot");
    const notes = el("p", { class: "note chart-note" });
    fig.appendChild(notes);
    let u = null;
    let shownKeys = "";
    let cols = { x: [] };
    spec.series.forEach((s) => { cols[s.key] = []; });

    function build(keys) {
      if (u) { u.destroy(); u = null; }
      clear(plotDiv);
      const chosen = spec.series.filter((s) => keys.includes(s.key));
      const scaleNames = [...new Set(chosen.map((s) => s.scale || "y"))];
      const scales = { x: { time: spec.time !== false } };
      scaleNames.forEach((n) => {
        const conf = (spec.scales || {})[n] || {};
        scales[n] = conf.range ? { range: conf.range } : { auto: true };
      });
      const axes = [{ label: spec.xLabel || "" }].concat(scaleNames.map((n, i) => ({
        scale: n, label: ((spec.scales || {})[n] || {}).label || "", side: i === 0 ? 3 : 1,
        grid: { show: i === 0 }, size: 60,
        values: (self, splits) => ticks(splits),
      })));
      const series = [{ label: spec.xLabel || "time" }].concat(chosen.map((s, i) => {
        const color = s.color || COLORS[i % COLORS.length];
        const one = {
          label: s.label, scale: s.scale || "y", stroke: color, width: s.line === false ? 0 : 1.6,
          dash: s.dash, spanGaps: !!s.spanGaps,
          value: (self, v) => (isNum(v) ? window.JP.num(v, 3) : "—"),
        };
        if (s.line === false) one.paths = () => null;
        // Marks have points of their own; a line's points are uPlot's (drawn when sparse, so
        // a lone sample is still seen).
        if (s.points) one.points = { show: true, size: s.points, width: s.ring ? 3 : 1, fill: s.ring ? "rgba(0,0,0,0)" : color };
        return one;
      }));
      const opts = {
        width: plotWidth(fig), height: spec.height || 220, scales, axes, series,
        legend: { show: true, live: true }, cursor: { drag: { x: false, y: false } },
      };
      u = new window.uPlot(opts, arrays(chosen), plotDiv);
    }

    function arrays(chosen) { return [cols.x].concat(chosen.map((s) => cols[s.key])); }

    function render() {
      const keys = spec.series.filter((s) => !s.optional && measured(cols[s.key])).map((s) => s.key);
      // Guides (an SLO line, a fit) are drawn only beside something measured.
      const withGuides = keys.length ? keys.concat(spec.series.filter((s) => s.optional && measured(cols[s.key])).map((s) => s.key)) : [];
      const missingSeries = spec.series.filter((s) => !s.optional && !measured(cols[s.key]));
      const reasons = spec.reasons || {};
      clear(notes);
      if (!cols.x.length) {
        if (u) { u.destroy(); u = null; }
        clear(plotDiv).appendChild(el("p", { class: "empty" }, spec.empty || "no samples yet"));
        fig.dataset.state = "empty"; fig.dataset.points = "0";
        return;
      }
      if (!withGuides.length) {
        if (u) { u.destroy(); u = null; }
        const why = spec.series.map((s) => reasons[s.key]).find((r) => r);
        clear(plotDiv).appendChild(el("p", { class: "empty missing" }, NOT_MEASURED + (why ? `: ${why}` : "")));
        fig.dataset.state = "not-measured"; fig.dataset.points = "0";
        return;
      }
      if (missingSeries.length) {
        notes.appendChild(document.createTextNode(missingSeries.map((s) =>
          `${s.label}: ${NOT_MEASURED}${reasons[s.key] ? ` (${reasons[s.key]})` : ""}`).join("; ")));
      }
      const sig = withGuides.join(",");
      if (!u || sig !== shownKeys) { shownKeys = sig; build(withGuides); }
      else u.setData(arrays(spec.series.filter((s) => withGuides.includes(s.key))));
      // One point (a single bucket) gives uPlot no span: the caller may pad the x range.
      if (spec.xPad) u.setScale("x", { min: cols.x[0] - spec.xPad, max: cols.x[cols.x.length - 1] + spec.xPad });
      fig.dataset.state = "drawn";
      fig.dataset.lastX = String(cols.x[cols.x.length - 1]);
      fig.dataset.points = String(cols.x.length);
    }

    const resize = new ResizeObserver(() => { if (u) u.setSize({ width: plotWidth(fig), height: spec.height || 220 }); });
    resize.observe(plotDiv);

    return {
      /** Replace all data: {x: [...], key: [...]} (missing keys are all null). */
      set(newCols) {
        const n = (newCols.x || []).length;
        cols = { x: (newCols.x || []).slice() };
        spec.series.forEach((s) => {
          const v = newCols[s.key];
          cols[s.key] = Array.isArray(v) ? v.slice(0, n) : new Array(n).fill(null);
        });
        render();
      },
      /** Add rows [{x, key: value}, ...] in x order (the live samples). */
      append(rows) {
        let added = 0;
        for (const row of rows) {
          const last = cols.x.length ? cols.x[cols.x.length - 1] : -Infinity;
          if (!isNum(row.x) || row.x <= last) continue; // a sample already drawn
          cols.x.push(row.x);
          spec.series.forEach((s) => { const v = row[s.key]; cols[s.key].push(isNum(v) ? v : null); });
          added += 1;
        }
        if (added) render();
        return added;
      },
      setReasons(reasons) { spec.reasons = reasons; render(); },
      /** What the chart says while it has no sample at all. */
      setEmpty(text) { spec.empty = text; render(); },
      points() { return cols.x.length; },
      /** Remove the chart and its note (before drawing the figure anew). */
      destroy() {
        resize.disconnect();
        if (u) { u.destroy(); u = null; }
        clear(plotDiv);
        notes.remove();
      },
    };
  }

  window.JP.chart = chart;
  window.JP.COLORS = COLORS;
})();
