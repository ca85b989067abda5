/* The chat panel of every page: a question in plain language to POST /api/v1/chat (what
   `jobprobe ask` answers), the conversation kept for this tab (its session id). */
"use strict";

(function () {
  const JP = window.JP;
  const { el, $, api } = JP;
  const KEY = "jobprobe_chat_session";
  const form = $("#chat-form");
  if (!form) return;
  const log = $("#chat-log");

  function session() { try { return window.sessionStorage.getItem(KEY); } catch (e) { return null; } }
  function keep(id) { try { if (id) window.sessionStorage.setItem(KEY, id); else window.sessionStorage.removeItem(KEY); } catch (e) { /* this page only */ } }

  function add(kind, ...children) {
    const li = el("li", { class: `chat-${kind}` }, ...children);
    log.appendChild(li);
    li.scrollIntoView({ block: "nearest" });
    return li;
  }

  async function ask(question) {
    const text = question.trim();
    if (!text) return;
    add("question", text);
    const waiting = add("answer", el("span", { class: "note" }, "thinking…"));
    form.elements.question.disabled = true;
    try {
      const body = await api("/chat", { method: "POST", body: { question: text, session_id: session() } });
      keep(body.session_id);
      waiting.remove();
      const unverified = body.unverified_numbers || [];
      add("answer", el("p", { class: "chat-text" }, body.answer || ""),
        (body.options || []).length ? el("p", { class: "chat-options" }, body.options.map((o) =>
          el("button", { type: "button", onclick: () => ask(o) }, o))) : "",
        el("p", { class: "note" }, body.verified ? "every number checked against the store" : `unverified: ${unverified.join(", ") || "some numbers"}`,
          ` · ${body.provider}/${body.model}`));
    } catch (e) {
      waiting.remove();
      if (e.status === 404) keep(null); // the conversation expired: the next question starts one
      add("error", e.message);
    } finally {
      form.elements.question.disabled = false;
      form.elements.question.focus();
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = form.elements.question.value;
    form.elements.question.value = "";
    ask(q);
  });
  $("#chat-new").addEventListener("click", () => { keep(null); while (log.firstChild) log.removeChild(log.firstChild); });
})();
