/* Compare two jobs or two label groups (GET /api/v1/compare): the comparison's rows side by
   side, regressions marked. The form is kept in the address bar, so a comparison is a link. */
"use strict";

(function () {
  const JP = window.JP;
  const { el, $, clear, fig, api, query, num } = JP;
  const form = $("#compare-form");
  const FIELDS = ["a", "b", "baseline_label", "candidate_label", "tool"];

  function params() {
    const out = {};
    FIELDS.forEach((f) => { const v = form.elements[f].value.trim(); if (v) out[f] = v; });
    return out;
  }

  function change(r) {
    if (!JP.isNum(r.relative_change)) return JP.missing(r.reason || "");
    const pct = 100 * r.relative_change;
    return `${pct >= 0 ? "+" : ""}${pct.toFixed(1)}%`;
  }

  function ids(list, label) {
    return el("p", {}, `${label}: `, (list || []).slice(0, 20).map((id, i) => [i ? ", " : "", JP.jobLink(id)]),
      (list || []).length > 20 ? ` and ${list.length - 20} more` : "");
  }

  function render(facts) {
    const box = clear($("#compare-result"));
    const regressed = facts.regressed;
    const unconfirmed = facts.unconfirmed || [];
    box.appendChild(el("p", { class: `verdict ${regressed ? "bad" : unconfirmed.length ? "warn" : "good"}` },
      regressed ? `REGRESSED: ${(facts.regressions || []).join(", ")}`
        : unconfirmed.length ? `UNCONFIRMED: ${unconfirmed.join(", ")} (too few runs a side to tell a change from noise: run each side 3+ times)`
          : "no regression",
      ` (${facts.baseline_runs} baseline vs ${facts.candidate_runs} candidate runs)`));
    box.appendChild(ids(facts.baseline_ids, "baseline"));
    box.appendChild(ids(facts.candidate_ids, "candidate"));
    const rows = (facts.rows || []).map((r) => el("tr", { class: `row-${r.status}` },
      el("td", {}, r.name),
      el("td", { class: "num" }, fig(r.baseline)),
      el("td", { class: "num" }, fig(r.candidate)),
      el("td", { class: "num" }, change(r)),
      el("td", { class: "num" }, JP.isNum(r.p_value) ? num(r.p_value, 2) : "-"),
      el("td", {}, el("span", { class: `chip cmp-${r.status}` }, r.status)),
      el("td", { class: "wrap" }, r.reason || "")));
    box.appendChild(el("div", { class: "table-wrap" }, el("table", { class: "data", id: "compare-table" },
      el("thead", {}, el("tr", {}, ["Metric", "Baseline", "Candidate", "Change", "p", "Status", "Note"].map((h, i) =>
        el("th", { class: i > 0 && i < 5 ? "num" : "" }, h)))),
      el("tbody", {}, rows))));
  }

  async function run() {
    const p = params();
    window.history.replaceState(null, "", window.location.pathname + query(p));
    if (!(p.a && p.b) && !(p.baseline_label && p.candidate_label)) {
      clear($("#compare-result")).appendChild(el("p", { class: "note" }, "Give two job ids, or a baseline and a candidate label (KEY=VALUE)."));
      return;
    }
    JP.showError("");
    try {
      render(await api(`/compare${query(p)}`));
    } catch (e) {
      clear($("#compare-result"));
      JP.showError(e.message);
    }
  }

  const q = new URLSearchParams(window.location.search);
  FIELDS.forEach((f) => { form.elements[f].value = q.get(f) || ""; });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); run(); });
  run();
})();
