/* Workers and queues (GET /api/v1/workers) and what runs where (running jobs), refreshed
   every few seconds. */
"use strict";

(function () {
  const JP = window.JP;
  const { el, $, clear, when, api } = JP;

  async function workers() {
    const data = await api("/workers");
    const list = data.workers || [];
    $("#workers-mode").textContent = data.note || "";
    $("#workers-since").textContent = data.since ? `(held or changed a job since ${when(data.since)})` : "";
    const tbody = clear($("#workers-table tbody"));
    list.forEach((w) => tbody.appendChild(el("tr", {},
      el("td", {}, w.worker), el("td", { class: "wrap" }, (w.queues || []).join(", ")),
      el("td", { class: "num" }, String(w.running ?? "-")), el("td", { class: "num" }, String(w.jobs ?? "-")),
      el("td", { class: "nowrap" }, when(w.last_seen)))));
    if (!list.length) tbody.appendChild(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "no worker held or changed a job lately")));
    const qbody = clear($("#queues-table tbody"));
    (data.queues || []).forEach((q) => qbody.appendChild(el("tr", {}, el("td", {}, q.queue),
      el("td", { class: "num" }, String(q.queued)), el("td", { class: "num" }, String(q.running)),
      el("td", { class: "nowrap" }, q.oldest_queued_at ? when(q.oldest_queued_at) : "-"))));
    if (!(data.queues || []).length) qbody.appendChild(el("tr", {}, el("td", { colspan: 4, class: "empty" }, "no job waits or runs")));
  }

  async function running() {
    const data = await api("/jobs?status=running&limit=100");
    const tbody = clear($("#running-table tbody"));
    (data.jobs || []).forEach((r) => tbody.appendChild(el("tr", {},
      el("td", {}, JP.jobLink(r.task_id)), el("td", {}, r.tool), el("td", {}, r.queue || ""),
      el("td", {}, r.worker || ""), el("td", { class: "nowrap" }, when(r.start_time)))));
    if (!(data.jobs || []).length) tbody.appendChild(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "nothing runs now")));
  }

  JP.every(5000, async () => {
    const results = await Promise.allSettled([workers(), running()]);
    const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
    JP.showError(failed.join("; "));
    $("#workers-updated").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  });
})();
