/* The job page: record, verdict, live charts (server-sent events), history, log tail, report,
   insight, cancel. Everything comes from /api/v1/jobs/{id}[...]; nothing is computed here
   beyond unit changes (bytes/s to MB/s) for the axes. */
"use strict";

(function () {
  const JP = window.JP;
  const { el, $, clear, fig, duration, when, badge, kv, api, sse, showError, isNum } = JP;
  const jobId = document.body.dataset.jobId;
  const base = `/jobs/${encodeURIComponent(jobId)}`;
  const TERMINAL = new Set(["success", "failed", "timeout", "cancelled", "lost"]);
  const MB = 1048576;

  /* Each chart: the series it draws, from which sample column, and the unit change. */
  const CHARTS = {
    cpu: { scales: { y: { label: "%" } }, series: [
      { key: "proc_cpu_percent", label: "job (process tree)" },
      { key: "container_cpu_percent", label: "container" },
      { key: "cpu_percent", label: "host", dash: [4, 3] },
    ] },
    memory: { scales: { y: { label: "MB" }, host: { label: "host MB" } }, series: [
      { key: "proc_rss_mb", label: "job RSS" },
      { key: "cg_mem_current_mb", label: "job group" },
      { key: "container_mem_mb", label: "container" },
      { key: "gpu_mem_used_mb", label: "GPU memory" },
      { key: "mem_used_mb", label: "host used", scale: "host", dash: [4, 3] },
    ] },
    gpu: { scales: { pct: { label: "%", range: [0, 100] }, w: { label: "W" } }, series: [
      { key: "gpu_util_percent", label: "utilisation %", scale: "pct" },
      { key: "gpu_power_w", label: "power W", scale: "w" },
    ] },
    io: { scales: { y: { label: "MB/s" } }, series: [
      { key: "proc_read_bps", label: "job read", per: MB },
      { key: "proc_write_bps", label: "job write", per: MB },
      { key: "disk_read_bps", label: "host disk read", per: MB, dash: [4, 3] },
      { key: "disk_write_bps", label: "host disk write", per: MB, dash: [4, 3] },
      { key: "net_sent_bps", label: "host net sent", per: MB, dash: [1, 3] },
      { key: "net_recv_bps", label: "host net recv", per: MB, dash: [1, 3] },
    ] },
  };

  const charts = {};
  let record = null;
  let events = null;
  let logs = null;
  let stream = "stdout";

  function scaled(v, per) { return isNum(v) ? (per ? v / per : v) : null; }

  /* x is seconds since the profiler started (its first sample's t minus its elapsed_s), fixed
     at the first sample seen; body[data-t0] holds that start in unix seconds. */
  let t0 = null;
  function xOf(t, elapsed) {
    if (t0 === null) {
      t0 = isNum(elapsed) && elapsed >= 0 && elapsed < t ? t - elapsed : t;
      document.body.dataset.t0 = String(t0);
    }
    return t - t0;
  }

  /** One sample (a flat object with t and the columns) as a chart row. */
  function rowOf(sample) {
    const extra = sample.extra || {};
    const row = { x: xOf(sample.t, sample.elapsed_s) };
    for (const spec of Object.values(CHARTS)) {
      for (const s of spec.series) {
        const v = s.key in sample ? sample[s.key] : extra[s.key];
        row[s.key] = scaled(v, s.per);
      }
    }
    return row;
  }

  /** The timeseries answer (columns, or rows) as chart columns. */
  function colsOf(ts) {
    const data = ts && ts.timeseries ? ts.timeseries : ts;
    if (Array.isArray(data) || (data && Array.isArray(data.samples))) {
      const rows = (Array.isArray(data) ? data : data.samples).map(rowOf);
      const cols = { x: rows.map((r) => r.x) };
      for (const spec of Object.values(CHARTS)) for (const s of spec.series) cols[s.key] = rows.map((r) => r[s.key]);
      return cols;
    }
    const times = (data && data.t) || [];
    const cols = { x: times.map((t, i) => xOf(t, data.elapsed_s ? data.elapsed_s[i] : null)) };
    for (const spec of Object.values(CHARTS)) {
      for (const s of spec.series) {
        const col = data && (data[s.key] || (data.extra && data.extra[s.key]));
        cols[s.key] = Array.isArray(col) ? col.map((v) => scaled(v, s.per)) : cols.x.map(() => null);
      }
    }
    return cols;
  }

  function reasons(rec) {
    const prof = (rec && rec.detailed_profile) || {};
    const gone = prof.unavailable || {};
    const nulls = prof.null_reasons || {};
    const gpu = gone.gpu_nvidia || (rec && rec.gpus === 0 ? "the job held no GPU" : null);
    const container = rec && rec.source !== "container" && Object.keys(prof.container_stats || {}).length === 0
      ? "not a container job" : null;
    const rate = isNum(prof.samples_collected) && prof.samples_collected < 2 ? "a rate needs two samples" : null;
    return {
      proc_read_bps: rate, proc_write_bps: rate, disk_read_bps: rate, disk_write_bps: rate,
      net_sent_bps: rate, net_recv_bps: rate,
      gpu_util_percent: gpu, gpu_power_w: gpu, gpu_mem_used_mb: gpu,
      container_cpu_percent: container, container_mem_mb: container,
      proc_rss_mb: nulls.proc_rss_mb || (prof.accounting ? `accounted by ${prof.accounting}` : null),
      proc_cpu_percent: nulls.proc_cpu_percent || null,
    };
  }

  function renderRecord(rec) {
    record = rec;
    const status = $("#job-status");
    clear(status).appendChild(badge(rec.status));
    status.className = "";
    const use = rec.resource_usage || {};
    const prof = rec.detailed_profile || {};
    const io = prof.io_stats || {};
    // The totals are written when the job ends: while it runs they are "not yet", not missing.
    const ended = TERMINAL.has(rec.status);
    const total = (v) => (ended ? v : "when it ends");
    kv($("#job-record"), [
      ["tool / script", `${rec.tool} ${rec.script || ""}`],
      ["queue / worker", `${rec.queue || "-"} on ${rec.worker || "-"}`],
      ["submitted", when(rec.submitted_at)],
      ["started", rec.start_time ? when(rec.start_time) : "not yet"],
      ["ended", rec.end_time ? when(rec.end_time) : "not yet"],
      ["duration", ended ? duration(rec.duration_seconds) : rec.status],
      ["queue wait", rec.start_time ? duration(rec.queue_wait_seconds) : "waiting"],
      ["exit code", rec.returncode === null || rec.returncode === undefined ? "-" : String(rec.returncode)],
      ["attempts", String(rec.attempts)],
      ["CPU time", total(isNum(use.cpu_total_seconds)
        ? `${fmt(use.cpu_total_seconds)} s (user ${fmt(use.cpu_user_seconds)}, system ${fmt(use.cpu_system_seconds)})` : null)],
      ["peak memory", total(fig(use.memory_peak_mb, "MB"))],
      ["I/O", total(isNum(io.read_mb) ? `read ${fmt(io.read_mb)} MB, write ${fmt(io.write_mb)} MB` : null)],
      ["samples", total(isNum(prof.samples_collected) ? `${prof.samples_collected} every ${prof.sampling_interval_seconds} s` : null)],
      ["accounting", rec.accounting || (ended ? "-" : "when it ends")],
      ["sweep", rec.sweep_id ? el("a", { href: `/sweeps/${encodeURIComponent(rec.sweep_id)}` }, rec.sweep_id.slice(0, 12)) : "-"],
      ["error", rec.error || "-"],
    ]);
    kv($("#job-params"), [
      ["parameters", JSON.stringify(rec.params || {})],
      ["labels", JP.labels(rec.labels) || "-"],
      ["metrics", rec.metrics && Object.keys(rec.metrics).length ? JSON.stringify(rec.metrics) : "none reported"],
    ]);
    renderHistory(rec.status_history || []);
    renderReports(rec.reports || []);
    $("#cancel-button").hidden = TERMINAL.has(rec.status);
    const empty = rec.source === "iss" ? "not measured: the job ran on the ISS, no local samples"
      : ended ? "not measured: no sample was stored (the job ended before the first)"
        : rec.status === "queued" ? "waiting for the job to start" : "no samples yet";
    for (const c of Object.values(charts)) { c.setReasons(reasons(rec)); c.setEmpty(empty); }
    // The report is written just after the job ends: look again for a while until it is there.
    if (TERMINAL.has(rec.status) && !(rec.reports || []).length && reportChecks < 30) {
      reportChecks += 1;
      setTimeout(reloadSoon, 2000);
    }
  }

  let reportChecks = 0;

  function fmt(v) { return JP.num(v, 3) ?? "-"; }

  function renderHistory(history) {
    const tbody = clear($("#history tbody"));
    for (const ev of history) {
      tbody.appendChild(el("tr", {}, el("td", {}, when(ev.at)), el("td", {}, badge(ev.status)), el("td", {}, ev.detail || "")));
    }
  }

  function renderInsight(rep) {
    const box = clear($("#insight"));
    if (!rep) return;
    const b = rep.body || {};
    box.appendChild(el("p", { class: "insight" }, b.text || rep.summary || ""));
    const unsupported = b.unsupported_numbers || [];
    box.appendChild(el("p", { class: "note" }, `${when(rep.created_at)} · verified: ${b.verified ? "yes" : "no"}`
      + (unsupported.length ? ` (unsupported: ${unsupported.join(", ")})` : "") + (b.provider ? ` [${b.provider}/${b.model}]` : "")));
  }

  function renderReports(reports) {
    renderInsight(reports.filter((r) => r.kind === "insight").slice(-1)[0]);
    const job = reports.filter((r) => r.kind === "job").slice(-1)[0];
    const verdictBox = clear($("#verdict"));
    const reportBox = clear($("#report"));
    if (!job) {
      verdictBox.appendChild(el("p", { class: "note" }, "no report yet (written when the job ends)"));
      reportBox.appendChild(el("p", { class: "note" }, "no report yet"));
      return;
    }
    const b = job.body || {};
    const v = b.verdict;
    if (v) {
      verdictBox.appendChild(el("p", { class: "verdict" }, el("strong", { class: `verdict-${v.kind}` }, v.kind),
        ` (confidence ${fmt(v.confidence)})`, v.secondary && v.secondary.length ? `, also ${v.secondary.join(", ")}` : ""));
      verdictBox.appendChild(el("ul", { class: "advice" }, (v.advice || []).map((a) => el("li", {}, a))));
      const rows = (v.evidence || []).map((e) => el("tr", {}, el("td", {}, e.metric), el("td", { class: "num" }, fig(e.value)),
        el("td", {}, e.comparison || ""), el("td", { class: "num" }, fig(e.threshold))));
      if (rows.length) {
        verdictBox.appendChild(el("table", { class: "data compact" },
          el("thead", {}, el("tr", {}, el("th", {}, "evidence"), el("th", { class: "num" }, "value"), el("th", {}, ""), el("th", { class: "num" }, "threshold"))),
          el("tbody", {}, rows)));
      }
    }
    if (b.missing && b.missing.length) {
      verdictBox.appendChild(el("p", { class: "note" }, "Not measured: "));
      verdictBox.appendChild(el("ul", { class: "missing-list" }, b.missing.map((m) => el("li", {}, m))));
    }
    reportBox.appendChild(el("p", { class: "note" }, `${job.kind} report, ${when(job.created_at)}`));
    reportBox.appendChild(el("pre", { class: "summary" }, job.summary || b.summary || ""));
    const plots = Object.entries(b.files || {}).filter(([, path]) => typeof path === "string" && /\.png$/i.test(path));
    if (plots.length && isNum(job.id)) {
      reportBox.appendChild(el("p", {}, "Plots: ", plots.map(([name], i) => [i ? ", " : "",
        el("a", { href: `${JP.API}/reports/${job.id}/plots/${encodeURIComponent(name)}` }, name)])));
    }
    const figures = b.figures || {};
    if (Object.keys(figures).length) {
      const dl = el("dl", { class: "kv" });
      kv(dl, Object.entries(figures).map(([k, val]) => [k, isNum(val) ? fmt(val) : null]));
      reportBox.appendChild(dl);
    }
  }

  async function loadRecord() {
    const rec = await api(base);
    renderRecord(rec);
    return rec;
  }

  function setLive(text) { $("#live-state").textContent = text; }

  let lastSampleId = 0;
  let reloadTimer = null;

  /** Reload the record soon (status events come in bursts: the history, then each change). */
  function reloadSoon() {
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = null;
      loadRecord().catch((e) => showError(e.message));
    }, 250);
  }

  function follow() {
    if (events) return;
    setLive("live: connecting");
    events = sse(() => `${base}/events?after=${lastSampleId}`, (name, data) => {
      if (name === "sample") {
        if (data && typeof data === "object") {
          if (isNum(data.id)) lastSampleId = Math.max(lastSampleId, data.id);
          for (const c of Object.values(charts)) c.append([rowOf(data)]);
          samplesCount();
        }
      } else if (name === "status") {
        if (data && record && data.status !== record.status) reloadSoon();
      } else if (name === "end") {
        setLive("the job has ended");
        events = null;
        reloadSoon();
      }
    }, (state, why) => {
      if (state === "open") setLive("live: following samples");
      else if (state === "error") setLive(`live: ${why}`);
      else if (state === "reconnecting") setLive("live: reconnecting");
    });
  }

  function samplesCount() {
    const n = charts.cpu ? charts.cpu.points() : 0;
    $("#samples-count").textContent = `${n} sample${n === 1 ? "" : "s"}`;
  }

  /* ---- the log tail ---- */

  const LOG_MAX_CHARS = 200000;

  function logText(text, replace) {
    const pre = $("#log");
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    if (replace) clear(pre);
    pre.appendChild(document.createTextNode(text));
    // Keep the tail: drop the oldest pieces beyond LOG_MAX_CHARS.
    while (pre.childNodes.length > 1 && pre.textContent.length > LOG_MAX_CHARS) pre.removeChild(pre.firstChild);
    if (atBottom || replace) pre.scrollTop = pre.scrollHeight;
  }

  async function openLog(name) {
    stream = name;
    if (logs) { logs.stop(); logs = null; }
    clear($("#log"));
    document.querySelectorAll(".tabs [data-stream]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.stream === name)));
    const state = $("#log-state");
    if (record && TERMINAL.has(record.status)) {
      try {
        const body = await api(`${base}/logs?stream=${name}`);
        const text = body.text || "";
        logText(text.length > LOG_MAX_CHARS ? text.slice(-LOG_MAX_CHARS) : text, true);
        state.textContent = !text ? "(empty)" : !body.local ? "the last 4 KB the store keeps"
          : body.offset ? `its end: from byte ${body.offset.toLocaleString()} on` : "";
      } catch (e) { state.textContent = e.message; }
      return;
    }
    state.textContent = "following";
    let offset = 0;  // a reconnect resumes where the text shown ends
    logs = sse(() => `${base}/logs?stream=${name}&follow=true&offset=${offset}`, (ev, data) => {
      if (ev === "end") { state.textContent = "the job has ended"; return; }
      if (ev === "log" && data && typeof data.text === "string") {
        logText(data.text, !!data.replace);
        if (Number.isInteger(data.offset)) offset = data.offset;
      }
    }, (st, why) => { if (st === "error") state.textContent = why; });
  }

  /* ---- cancel and insight ---- */

  async function cancel() {
    const state = $("#cancel-state");
    if (!JP.token()) {
      state.textContent = "cancelling needs the server's write token: save it under Token";
      $("#token-panel").open = true;
      return;
    }
    const button = $("#cancel-button");
    button.disabled = true;
    state.textContent = "cancelling…";
    try {
      await api(`${base}/cancel`, { method: "POST" });
      state.textContent = "cancel asked; the worker stops the job";
      await loadRecord();
    } catch (e) {
      state.textContent = `cancel refused: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  }

  async function insight() {
    const box = clear($("#insight"));
    if (!JP.token()) {
      box.appendChild(el("p", { class: "note" }, "an insight is stored with the job's reports, so it needs the server's write token: save it under Token"));
      $("#token-panel").open = true;
      return;
    }
    box.appendChild(el("p", { class: "note" }, "writing…"));
    try {
      const body = await api(`/insight/${encodeURIComponent(jobId)}`, { method: "POST" });
      renderInsight({ body, created_at: new Date().toISOString() });
    } catch (e) {
      clear(box).appendChild(el("p", { class: "error" }, e.message));
    }
  }

  async function start() {
    for (const name of Object.keys(CHARTS)) {
      charts[name] = JP.chart(document.querySelector(`[data-chart="${name}"]`), Object.assign({ time: false, xLabel: "seconds since start" }, CHARTS[name]));
    }
    let rec;
    try {
      rec = await loadRecord();
    } catch (e) {
      showError(e.status === 404 ? `no job ${jobId}` : e.message);
      return;
    }
    try {
      const ts = await api(`${base}/timeseries`);
      const cols = colsOf(ts);
      for (const c of Object.values(charts)) c.set(cols);
      samplesCount();
    } catch (e) {
      showError(`samples: ${e.message}`);
    }
    if (!TERMINAL.has(rec.status)) follow();
    openLog(stream);
    $("#cancel-button").addEventListener("click", cancel);
    $("#insight-button").addEventListener("click", insight);
    document.querySelectorAll(".tabs [data-stream]").forEach((b) => b.addEventListener("click", () => openLog(b.dataset.stream)));
  }

  start();
})();
