/* jobprobe dashboard: what every page shares. Fetches from the JSON API, builds the DOM with
   textContent only (a label, a tool name or a log line never becomes markup), formats
   figures ("not measured" for a null, never 0), reads server-sent events over fetch (so the
   bearer token can go in a header). No build step. */
"use strict";

(function () {
  const body = document.body;
  const API = body.dataset.api || "/api/v1";
  const TOKEN_KEY = "jobprobe_token";
  const NOT_MEASURED = "not measured";

  function token() {
    try { return window.localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }

  function setToken(value) {
    try {
      if (value) window.localStorage.setItem(TOKEN_KEY, value);
      else window.localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage off: the token lasts for this page only */ }
    // Reading may also use the cookie (server-sent events in other clients cannot send headers).
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = value
      ? `jobprobe_token=${encodeURIComponent(value)}; Path=/; SameSite=Strict${secure}`
      : "jobprobe_token=; Path=/; Max-Age=0; SameSite=Strict";
    tokenState();
  }

  function headers(extra) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    const t = token();
    if (t) h.Authorization = `Bearer ${t}`;
    return h;
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function errorOf(resp) {
    let message = `${resp.status} ${resp.statusText}`;
    try {
      const data = await resp.json();
      if (data && typeof data.error === "string") message = data.error;
    } catch (e) { /* not JSON: keep the status line */ }
    if (resp.status === 401 || resp.status === 403) openToken();
    return new ApiError(resp.status, message);
  }

  /** GET (or another method) an API path; resolves to the JSON body, rejects with ApiError. */
  async function api(path, options) {
    const opts = options || {};
    const init = { method: opts.method || "GET", headers: headers(opts.headers), signal: opts.signal };
    if (opts.body !== undefined) {
      init.body = JSON.stringify(opts.body);
      init.headers["Content-Type"] = "application/json";
    }
    const resp = await fetch(API + path, init);
    if (!resp.ok) throw await errorOf(resp);
    return resp.status === 204 ? null : resp.json();
  }

  /** A query string from an object, leaving out empty values; arrays repeat the key. */
  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v === null || v === undefined || v === "") continue;
      if (Array.isArray(v)) v.filter((x) => x !== "").forEach((x) => q.append(k, x));
      else q.append(k, String(v));
    }
    const s = q.toString();
    return s ? `?${s}` : "";
  }

  /** Follow a server-sent event stream; onEvent(name, data, id) gets JSON-parsed data when it
   *  is JSON, else the text. `path` is a string or a function called at each (re)connection,
   *  so a caller can resume after what it has. Reconnects until `end` or stop(). */
  function sse(path, onEvent, onState) {
    const ctrl = new AbortController();
    let ended = false;
    const state = onState || (() => {});
    async function run() {
      while (!ended && !ctrl.signal.aborted) {
        try {
          const url = API + (typeof path === "function" ? path() : path);
          const resp = await fetch(url, { headers: headers({ Accept: "text/event-stream" }), signal: ctrl.signal });
          if (!resp.ok) { const err = await errorOf(resp); state("error", err.message); if (resp.status < 500) return; }
          else {
            state("open");
            await readEvents(resp.body, (name, data, id) => {
              if (name === "end") ended = true;
              onEvent(name, data, id);
            });
          }
        } catch (e) {
          if (ctrl.signal.aborted) return;
          state("error", e.message);
        }
        if (!ended && !ctrl.signal.aborted) { state("reconnecting"); await sleep(1500); }
      }
      if (ended) state("ended");
    }
    run();
    return { stop: () => { ended = true; ctrl.abort(); } };
  }

  async function readEvents(stream, dispatch) {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let name = "message";
    let data = [];
    let id = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.search(/\r?\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer[nl] === "\r" ? 2 : 1));
        if (line === "") {
          if (data.length) dispatch(name, parseData(data.join("\n")), id);
          name = "message"; data = []; id = null;
        } else if (line.startsWith(":")) {
          continue; // a comment: keep-alive
        } else {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? "" : line.slice(colon + 1);
          if (val.startsWith(" ")) val = val.slice(1);
          if (field === "event") name = val;
          else if (field === "data") data.push(val);
          else if (field === "id") id = val;
        }
      }
    }
  }

  function parseData(text) {
    const c = text.charAt(0);
    if (c === "{" || c === "[" || c === "\"") { try { return JSON.parse(text); } catch (e) { return text; } }
    return text;
  }

  function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

  /* ---- DOM: elements from data, text only ---- */

  function safeHref(href) {
    const s = String(href);
    return (s.startsWith("/") && !s.startsWith("//")) || /^https?:\/\//i.test(s) ? s : null;
  }

  /** el("a", {href: "/x", class: "y"}, "text", child...): attributes set one by one, children
   *  appended as text nodes or elements. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "href") { const h = safeHref(v); if (h) node.setAttribute("href", h); }
      else if (k === "title") node.title = String(v);
      else if (k.startsWith("data-") || k === "role" || k.startsWith("aria-") || k === "colspan") node.setAttribute(k, String(v));
      else node[k] = v;
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function $(sel, root) { return (root || document).querySelector(sel); }

  /* ---- formatting: null is "not measured", never 0 ---- */

  function isNum(v) { return typeof v === "number" && Number.isFinite(v); }

  function missing(reason) {
    return el("span", { class: "missing", title: reason || "" }, NOT_MEASURED);
  }

  function num(v, digits) {
    if (!isNum(v)) return null;
    const d = digits === undefined ? 4 : digits;
    if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(2);
    return Number(v.toPrecision(Math.max(d, 1))).toLocaleString("en", { maximumFractionDigits: 6 });
  }

  /** A figure with its unit, or a "not measured" element. */
  function fig(v, unit, digits, reason) {
    const s = num(v, digits);
    return s === null ? missing(reason) : `${s}${unit ? ` ${unit}` : ""}`;
  }

  function duration(seconds) {
    if (!isNum(seconds)) return missing();
    if (seconds < 1) return `${(seconds * 1000).toFixed(0)} ms`;
    if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
    if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function badge(status) {
    return el("span", { class: `badge status-${String(status || "unknown").replace(/[^a-z_]/g, "")}` }, status || "unknown");
  }

  function labels(obj) {
    const chips = Object.entries(obj || {}).map(([k, v]) => el("span", { class: "chip" }, `${k}=${v}`));
    return chips.length ? el("span", { class: "chips" }, chips) : "";
  }

  function jobLink(id, text) {
    return el("a", { href: `/jobs/${encodeURIComponent(id)}`, class: "id" }, text || String(id).slice(0, 12));
  }

  /** A definition list from [label, value] pairs; a null value shows "not measured". */
  function kv(node, pairs) {
    clear(node);
    for (const [k, v] of pairs) {
      node.appendChild(el("dt", {}, k));
      node.appendChild(el("dd", {}, v === null || v === undefined ? missing() : v));
    }
  }

  function showError(message) {
    const box = $("#page-error");
    if (!box) return;
    box.hidden = !message;
    box.textContent = message || "";
  }

  /** Run fn now and every ms while the page is visible; returns a stop function. */
  function every(ms, fn) {
    let timer = null;
    const tick = async () => {
      if (document.visibilityState === "visible") {
        try { await fn(); } catch (e) { showError(e.message); }
      }
      timer = setTimeout(tick, ms);
    };
    tick();
    return () => clearTimeout(timer);
  }

  /* ---- the token panel ---- */

  function openToken() { const p = $("#token-panel"); if (p) p.open = true; }

  function tokenState() {
    const s = $("#token-state");
    if (s) s.textContent = token() ? "A token is saved in this browser." : "No token saved: reading works from this machine only.";
  }

  function initToken() {
    const form = $("#token-form");
    if (!form) return;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = $("#token-input");
      setToken(input.value.trim());
      input.value = "";
      $("#token-panel").open = false;
      document.dispatchEvent(new CustomEvent("jobprobe:token"));
    });
    $("#token-clear").addEventListener("click", () => setToken(""));
    tokenState();
  }

  initToken();

  window.JP = {
    API, api, query, sse, el, append, clear, $, isNum, num, fig, missing, duration, when, badge,
    labels, jobLink, kv, showError, every, token, ApiError, NOT_MEASURED,
  };
})();
