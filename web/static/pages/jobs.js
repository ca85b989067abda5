/* The jobs table: filters (status, tool, queue, label, since) kept in the address bar, pages by
   the API's cursor, refreshed every few seconds. */
"use strict";

(function () {
  const JP = window.JP;
  const { el, $, clear, duration, when, badge, fig, api, query } = JP;
  const REFRESH_MS = 4000;
  const FIELDS = ["status", "tool", "source", "queue", "label", "since"];
  const form = $("#filters");
  let cursor = null; // the cursor of the page shown; null is the first page
  let nextCursor = null;
  let limit = 25; // jobs a page (?limit= in the address, 1 to 200)

  function filters() {
    const out = {};
    for (const f of FIELDS) {
      const v = form.elements[f].value.trim();
      if (v) out[f] = v;
    }
    return out;
  }

  function fromAddress() {
    const q = new URLSearchParams(window.location.search);
    for (const f of FIELDS) form.elements[f].value = q.get(f) || "";
    cursor = q.get("cursor");
    const n = Number(q.get("limit"));
    if (Number.isInteger(n) && n >= 1 && n <= 200) limit = n;
  }

  function toAddress() {
    const q = query(Object.assign({}, filters(), { cursor, limit: limit === 25 ? null : limit }));
    window.history.replaceState(null, "", window.location.pathname + q);
  }

  function row(r) {
    const use = r.resource_usage || {};
    return el("tr", { "data-status": r.status },
      el("td", {}, JP.jobLink(r.task_id)),
      el("td", {}, badge(r.status)),
      el("td", {}, r.tool),
      el("td", { class: "wrap" }, r.script || ""),
      el("td", { class: "opt" }, r.queue || ""),
      el("td", { class: "opt" }, r.worker || ""),
      el("td", {}, JP.labels(r.labels)),
      el("td", { class: "nowrap" }, when(r.submitted_at)),
      el("td", { class: "num" }, r.status === "running" && !r.end_time ? "running" : r.status === "queued" ? "-" : duration(r.duration_seconds)),
      el("td", { class: "num opt" }, r.status === "queued" ? "-" : fig(use.cpu_total_seconds, "", 3)),
      el("td", { class: "num opt" }, r.status === "queued" ? "-" : fig(use.memory_peak_mb, "", 3)));
  }

  let latest = 0; // the newest request: an older answer (a refresh sent before a filter changed) is dropped

  async function load() {
    const mine = ++latest;
    const data = await api(`/jobs${query(Object.assign({ limit }, filters(), { cursor }))}`);
    if (mine !== latest) return;
    const jobs = data.jobs || [];
    const tbody = clear($("#jobs-table tbody"));
    if (!jobs.length) tbody.appendChild(el("tr", {}, el("td", { colspan: 11, class: "empty" }, "no jobs match")));
    jobs.forEach((r) => tbody.appendChild(row(r)));
    nextCursor = data.next_cursor || null;
    $("#page-next").disabled = !nextCursor;
    $("#page-first").disabled = !cursor;
    $("#jobs-count").textContent = `${jobs.length} job${jobs.length === 1 ? "" : "s"}${cursor ? " (a later page)" : ""}.`;
    $("#jobs-updated").textContent = `Updated ${new Date().toLocaleTimeString()}, every ${REFRESH_MS / 1000} s.`;
    JP.showError("");
  }

  async function tools() {
    try {
      const data = await api("/tools");
      const tools = data && data.tools ? data.tools : data;
      const names = Array.isArray(tools) ? tools.map((t) => (typeof t === "string" ? t : t.name)) : Object.keys(tools || {});
      const dl = clear($("#tool-names"));
      names.forEach((n) => dl.appendChild(el("option", { value: n })));
    } catch (e) { /* the list only helps typing */ }
  }

  function reload() { toAddress(); load().catch((e) => JP.showError(e.message)); }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); cursor = null; reload(); });
  form.addEventListener("reset", () => { setTimeout(() => { cursor = null; reload(); }, 0); });
  $("#page-next").addEventListener("click", () => { if (nextCursor) { cursor = nextCursor; reload(); } });
  $("#page-first").addEventListener("click", () => { cursor = null; reload(); });
  document.addEventListener("jobprobe:token", reload);

  fromAddress();
  tools();
  JP.every(REFRESH_MS, load);
})();
