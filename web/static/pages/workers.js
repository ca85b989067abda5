/* Workers and queues (GET /api/v1/workers) and what runs where (running jobs), refreshed
   every few seconds. */
"use strict";

(function () {
  const JP = window.JP;
  const { el, $, clear, when, api } = JP;

  async function workers() {
    const data = await api("/workers");
    const mode = $("#workers-mode");
    const list = data.workers || [];
    mode.textContent = data.mode === "embedded"
      ? "Embedded mode: jobs run inside the command that submits them; there are no workers to list."
      : `${list.length} worker${list.length === 1 ? "" : "s"} answered.`;
    const tbody = clear($("#workers-table tbody"));
    list.forEach((w) => tbody.appendChild(el("tr", {},
      el("td", {}, w.worker || w.name), el("td", { class: "wrap" }, (w.queues || []).join(", ")),
      el("td", { class: "num" }, String(w.active ?? "-")), el("td", { class: "num" }, String(w.concurrency ?? "-")),
      el("td", { class: "num" }, String(w.processed ?? "-")),
      el("td", {}, w.paused ? el("span", { class: "chip warn", title: String(w.paused) }, `paused: ${w.paused}`) : "up"))));
    if (!list.length) tbody.appendChild(el("tr", {}, el("td", { colspan: 6, class: "empty" }, data.mode === "embedded" ? "embedded: no workers" : "no worker answered")));
    const queues = data.queues || data.queue_lengths || {};
    const qbody = clear($("#queues-table tbody"));
    const qrows = Array.isArray(queues) ? queues : Object.entries(queues).map(([name, v]) => (typeof v === "object" ? Object.assign({ name }, v) : { name, waiting: v }));
    qrows.forEach((q) => qbody.appendChild(el("tr", {}, el("td", {}, q.name || q.queue),
      el("td", { class: "num" }, q.waiting === null || q.waiting === undefined ? JP.missing(q.reason) : String(q.waiting)),
      el("td", { class: "num" }, String(q.running ?? "-")))));
    if (!qrows.length) qbody.appendChild(el("tr", {}, el("td", { colspan: 3, class: "empty" }, "no queue lengths (embedded mode has no broker)")));
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
