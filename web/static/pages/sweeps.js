/* The sweeps, newest first (GET /api/v1/sweeps), refreshed every few seconds. */
"use strict";

(function () {
  const JP = window.JP;
  const { el, $, clear, when, badge, api } = JP;

  function row(s) {
    const id = s.sweep_id || s.id;
    const jobs = s.jobs && typeof s.jobs === "object" ? s.jobs : { total: s.jobs };
    const done = jobs.succeeded !== undefined ? `${jobs.succeeded}/${jobs.total}` : String(jobs.total ?? "");
    return el("tr", {},
      el("td", {}, el("a", { href: `/sweeps/${encodeURIComponent(id)}`, class: "id" }, String(id).slice(0, 12))),
      el("td", {}, badge(s.sweep_status || s.status)),
      el("td", {}, s.tool || ""),
      el("td", { class: "wrap" }, s.script || ""),
      el("td", {}, s.vary || ""),
      el("td", { class: "wrap" }, (s.values || []).join(", ")),
      el("td", { class: "num" }, done),
      el("td", {}, JP.labels(s.labels)),
      el("td", { class: "nowrap" }, when(s.created_at || s.submitted_at)));
  }

  async function load() {
    const data = await api("/sweeps");
    const list = Array.isArray(data) ? data : data.sweeps || [];
    const tbody = clear($("#sweeps-table tbody"));
    if (!list.length) tbody.appendChild(el("tr", {}, el("td", { colspan: 9, class: "empty" }, "no sweeps yet (jobprobe sweep TOOL SCRIPT --vary NAME=v1,v2,...)")));
    list.forEach((s) => tbody.appendChild(row(s)));
    $("#sweeps-updated").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
    JP.showError("");
  }

  JP.every(5000, load);
})();
