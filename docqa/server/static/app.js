// The page served at GET / by `docqa serve`: ask questions, see answers in their passages, add documents.
// Plain browser JavaScript, no build step, no third-party code. Text from the server is only ever put into
// the page with textContent / createTextNode, never parsed as HTML.
"use strict";

(function () {
  const KEY_STORAGE = "docqa-api-key";
  const READY_POLL_MS = 1000;
  const OFFLINE_POLL_MS = 2000;
  const MAX_MESSAGE = 1000;

  const $ = (id) => document.getElementById(id);
  const state = { ready: false, failure: null, info: null, pending: null, queryToken: 0, polling: false };

  // ---- small DOM helpers -------------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text; // unchanged text is not re-announced
  }

  function oneLine(text) {
    const flat = String(text).replace(/\s+/g, " ").trim();
    return flat.length > MAX_MESSAGE ? flat.slice(0, MAX_MESSAGE - 1) + "…" : flat;
  }

  function percent(probability) {
    if (typeof probability !== "number" || !Number.isFinite(probability)) return "?";
    const value = probability * 100;
    if (value > 0 && value < 0.1) return "<0.1%";
    return value.toFixed(1) + "%";
  }

  function isOffset(value) {
    return Number.isInteger(value) && value >= 0;
  }

  // ---- API key (session storage only) -------------------------------------------------------------------

  function readStoredKey() {
    try {
      return window.sessionStorage.getItem(KEY_STORAGE) || "";
    } catch (_error) {
      return "";
    }
  }

  function storeKey(key) {
    try {
      if (key) window.sessionStorage.setItem(KEY_STORAGE, key);
      else window.sessionStorage.removeItem(KEY_STORAGE);
    } catch (_error) {
      // storage unavailable (private mode): the key then lives in the field only
    }
  }

  function authHeaders() {
    const key = $("api-key").value.trim();
    return key ? { Authorization: "Bearer " + key } : {};
  }

  function showKeyBox(focus) {
    $("key-box").hidden = false;
    if (focus) $("api-key").focus();
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function detailOf(body, response) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail) && detail.length) {
      return detail.map((item) => (item && item.msg) || JSON.stringify(item)).join("; ");
    }
    return "HTTP " + response.status + " " + response.statusText;
  }

  async function api(path, options) {
    const opts = options || {};
    let response;
    try {
      response = await fetch(path, { ...opts, headers: { ...authHeaders(), ...(opts.headers || {}) } });
    } catch (_error) {
      throw new ApiError(0, "Cannot reach the docqa server.");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_error) {
      body = null;
    }
    if (response.ok) return body;
    throw new ApiError(response.status, oneLine(detailOf(body, response)));
  }

  async function apiStatus(path) {
    // GET whose 503 is an answer (e.g. /ready), not an error
    try {
      const response = await fetch(path, { headers: authHeaders() });
      return { status: response.status, body: await response.json().catch(() => null) };
    } catch (_error) {
      return { status: 0, body: null };
    }
  }

  // ---- status line and errors ---------------------------------------------------------------------------

  function setStatus(kind, text) {
    const node = $("status");
    node.dataset.state = kind;
    setText(node, text);
  }

  function showError(message) {
    const node = $("error");
    setText(node, oneLine(message));
    node.hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  function reportError(error, what) {
    if (error instanceof ApiError && error.status === 401) showKeyBox(true);
    const prefix = error instanceof ApiError && error.status ? what + " failed (" + error.status + "): " : "";
    showError(prefix + error.message);
  }

  // ---- readiness ----------------------------------------------------------------------------------------

  function startPolling() {
    if (state.polling) return;
    state.polling = true;
    pollReady();
  }

  const PARTS = {
    store: "documents", reader: "reader model", "fill-mask": "fill-mask model", "document-embedder": "embedding model",
  };

  function partNames(names) {
    const words = names.map((name) => PARTS[name] || String(name).replace(/_/g, "-"));
    return words.length > 1 ? words.slice(0, -1).join(", ") + " and " + words[words.length - 1] : words.join("");
  }

  function failedParts(body) {
    const errors = body && body.errors && typeof body.errors === "object" ? body.errors : {};
    return Object.keys(errors).map((name) => (PARTS[name] || name) + ": " + String(errors[name]));
  }

  async function pollReady() {
    const { status, body } = await apiStatus("/ready");
    if (status === 200 && body && body.ready === true) {
      state.polling = false;
      return becomeReady();
    }
    state.ready = false;
    const failed = failedParts(body);
    if (failed.length) {
      state.polling = false;
      state.failure = oneLine("The server could not load the " + failed.join("; "));
      setStatus("failed", "Not available: loading failed.");
      refreshCount();
      return showError(state.failure);
    }
    if (status === 0) {
      setStatus("offline", "Cannot reach the docqa server; retrying…");
    } else if (body && body.ready === false) {
      const loading = Array.isArray(body.loading) && body.loading.length ? partNames(body.loading) : "models";
      setStatus("loading", "Loading " + loading + "… questions run once they are ready.");
    } else {
      setStatus("offline", "The server is not ready (HTTP " + status + "); retrying…");
    }
    window.setTimeout(pollReady, status === 0 ? OFFLINE_POLL_MS : READY_POLL_MS);
  }

  async function serverReady() {
    const { status, body } = await apiStatus("/ready");
    return status === 200 && body && body.ready === true;
  }

  function becomeReady() {
    state.ready = true;
    setStatus("ready", "Ready.");
    $("ask-hint").hidden = true;
    refreshCount();
    if (state.pending !== null) {
      const question = state.pending;
      state.pending = null;
      runQuery(question);
    }
  }

  function becomeNotReady(question) {
    state.ready = false;
    state.pending = question;
    showPendingHint();
    startPolling();
  }

  function showPendingHint() {
    const hint = $("ask-hint");
    setText(hint, "The models are still loading; your question will be asked as soon as they are ready.");
    hint.hidden = false;
  }

  // ---- server info, document count ----------------------------------------------------------------------

  async function loadInfo() {
    try {
      state.info = await api("/info");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) showKeyBox(false);
      window.setTimeout(loadInfo, OFFLINE_POLL_MS);
      return;
    }
    applyInfo(state.info);
  }

  function applyInfo(info) {
    if (info.version) setText($("version"), "· docqa " + info.version);
    if (info.api_key_required_for_reads || (info.writes_allowed && info.api_key_required_for_writes)) {
      showKeyBox(false);
    }
    $("upload").hidden = !info.writes_allowed;
    if (Number.isInteger(info.max_upload_bytes) && info.max_upload_bytes > 0) {
      setText($("upload-limit"), "Up to " + formatBytes(info.max_upload_bytes) + " per upload.");
    }
  }

  function formatBytes(bytes) {
    if (bytes >= 1024 * 1024) return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
    if (bytes >= 1024) return (bytes / 1024).toFixed(1).replace(/\.0$/, "") + " KB";
    return bytes + " bytes";
  }

  async function refreshCount() {
    try {
      const body = await api("/documents/count");
      if (body && Number.isInteger(body.count)) {
        setText($("doc-count"), "Documents in the store: " + body.count.toLocaleString("en-US"));
      }
    } catch (_error) {
      setText($("doc-count"), "Documents in the store: unknown");
    }
  }

  // ---- asking -------------------------------------------------------------------------------------------

  function questionInUrl() {
    const q = new URLSearchParams(window.location.search).get("q");
    return q === null ? null : q.trim();
  }

  function followInUrl(question) {
    if (questionInUrl() === question) return;
    const url = new URL(window.location.href);
    url.searchParams.set("q", question);
    window.history.pushState({ q: question }, "", url.pathname + url.search + url.hash);
  }

  function ask(question) {
    clearError();
    if (!question) return;
    followInUrl(question);
    if (state.failure !== null) return showError(state.failure);
    if (!state.ready) {
      state.pending = question;
      showPendingHint();
      return;
    }
    runQuery(question);
  }

  async function runQuery(question) {
    const token = ++state.queryToken;
    const results = $("results");
    results.setAttribute("aria-busy", "true");
    $("ask-button").disabled = true;
    try {
      const body = await api("/query", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ query: question, top_k: null, filters: null, include_documents: true }),
      });
      if (token !== state.queryToken) return;
      clearError();
      renderResults(question, body);
    } catch (error) {
      if (token !== state.queryToken) return;
      if (error instanceof ApiError && error.status === 503 && !(await serverReady())) return becomeNotReady(question);
      reportError(error, "Question");
    } finally {
      if (token === state.queryToken) {
        results.setAttribute("aria-busy", "false");
        $("ask-button").disabled = false;
      }
    }
  }

  // ---- rendering results --------------------------------------------------------------------------------

  function sourceName(meta, fallbackId) {
    const m = meta || {};
    if (m.file_name) return String(m.file_name);
    if (m.title) return String(m.title);
    return fallbackId ? "document " + String(fallbackId).slice(0, 12) : "document";
  }

  function characterRange(start, end) {
    return isOffset(start) && isOffset(end) ? "characters " + start + "–" + end : "";
  }

  // Offsets from the server count Unicode code points (Python str indices); JavaScript strings index
  // UTF-16 code units, so the passage is split into code points before slicing.
  function highlightedPassage(content, start, end) {
    const block = el("blockquote", "passage");
    const chars = Array.from(content || "");
    const valid = isOffset(start) && isOffset(end) && start <= end && end <= chars.length;
    if (!valid) {
      block.appendChild(document.createTextNode(chars.join("")));
      block.appendChild(el("span", "hint", " (answer position not available)"));
      return block;
    }
    block.appendChild(document.createTextNode(chars.slice(0, start).join("")));
    block.appendChild(el("mark", null, chars.slice(start, end).join("")));
    block.appendChild(document.createTextNode(chars.slice(end).join("")));
    return block;
  }

  function probabilityBadge(probability) {
    const badge = el("span", "probability");
    badge.appendChild(el("span", "visually-hidden", "probability "));
    badge.appendChild(document.createTextNode(percent(probability)));
    return badge;
  }

  function renderAnswer(answer) {
    const item = el("li", "answer");
    const head = el("div", "answer-head");
    const noAnswer = isNoAnswer(answer);
    item.dataset.noAnswer = String(noAnswer);
    head.appendChild(el("strong", "answer-text", noAnswer ? "No answer in these documents" : answer.text));
    head.appendChild(probabilityBadge(answer.probability));
    item.appendChild(head);
    if (noAnswer) {
      item.appendChild(el("p", "source", "The reader judges that none of the retrieved passages answers the question."));
      return item;
    }
    const passage = answer.passage || {};
    const where = [sourceName(passage.meta, answer.source_id || answer.document_id), characterRange(answer.start, answer.end)];
    item.appendChild(el("p", "source", where.filter(Boolean).join(" · ")));
    item.appendChild(highlightedPassage(passage.content, answer.passage_start, answer.passage_end));
    return item;
  }

  function renderPassage(doc) {
    const item = el("li", "retrieved");
    const details = el("details");
    const meta = doc.meta || {};
    const parts = [sourceName(meta, meta.source_id || doc.id), characterRange(meta.source_start, meta.source_end)];
    if (typeof doc.score === "number" && Number.isFinite(doc.score)) parts.push("score " + doc.score.toFixed(2));
    details.appendChild(el("summary", null, parts.filter(Boolean).join(" · ")));
    details.appendChild(el("p", "passage-text", doc.content || ""));
    item.appendChild(details);
    return item;
  }

  // One line for screen readers (the summary is a live region): the question, the top answer, the passages read.
  function resultsSummary(question, answers, passages) {
    const top = answers[0];
    const best = !top ? "" : (isNoAnswer(top) ? "no answer in these documents" : top.text) + " (" + percent(top.probability) + "). ";
    const read = passages === 1 ? "1 retrieved passage" : passages + " retrieved passages";
    return "Answers to “" + question + "”, most probable first: " + best + "Read from " + read + ".";
  }

  function isNoAnswer(answer) {
    return answer.no_answer === true || answer.text === null || answer.text === undefined;
  }

  function renderResults(question, body) {
    const answers = (body && Array.isArray(body.answers) && body.answers) || [];
    const documents = (body && Array.isArray(body.documents) && body.documents) || [];
    $("answers").replaceChildren(...answers.map(renderAnswer));
    $("passages").replaceChildren(...documents.map(renderPassage));
    $("no-passages").hidden = documents.length > 0;
    setText($("results-summary"), resultsSummary(question, answers, documents.length));
    $("results").hidden = false;
  }

  // ---- upload -------------------------------------------------------------------------------------------

  function tooLarge(files) {
    const limit = state.info && state.info.max_upload_bytes;
    if (!Number.isInteger(limit) || limit <= 0) return null;
    const total = files.reduce((sum, file) => sum + file.size, 0);
    return total > limit ? "The files are " + formatBytes(total) + "; this server accepts up to " + formatBytes(limit) + " per upload." : null;
  }

  function uploadSummary(files, body) {
    const skipped = Array.isArray(body.skipped) ? body.skipped : [];
    const written = Number.isInteger(body.written) ? body.written : 0;
    let text = "Added " + written + (written === 1 ? " passage" : " passages") + " from " +
      (files.length - skipped.length) + " of " + files.length + (files.length === 1 ? " file." : " files.");
    if (skipped.length) {
      text += " Skipped: " + skipped.map((s) => String(s.file) + " (" + String(s.reason) + ")").join("; ") + ".";
    }
    return oneLine(text);
  }

  async function upload(fileList) {
    const files = Array.from(fileList || []);
    if (!files.length) return;
    clearError();
    const status = $("upload-status");
    const problem = tooLarge(files);
    if (problem) return showError(problem);
    const form = new FormData();
    files.forEach((file) => form.append("files", file, file.name));
    setText(status, "Uploading " + files.length + (files.length === 1 ? " file…" : " files…"));
    try {
      const body = await api("/documents", { method: "POST", body: form });
      setText(status, uploadSummary(files, body || {}));
      refreshCount();
    } catch (error) {
      setText(status, "");
      reportError(error, "Upload");
    }
  }

  function setUpDropZone() {
    const zone = $("drop-zone");
    const over = (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    };
    zone.addEventListener("dragenter", over);
    zone.addEventListener("dragover", over);
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragging");
      upload(event.dataTransfer && event.dataTransfer.files);
    });
    // a file dropped next to the zone must not replace the page
    window.addEventListener("dragover", (event) => event.preventDefault());
    window.addEventListener("drop", (event) => event.preventDefault());
    $("file-input").addEventListener("change", (event) => {
      upload(event.target.files).finally(() => {
        event.target.value = "";
      });
    });
  }

  // ---- start --------------------------------------------------------------------------------------------

  function start() {
    const keyField = $("api-key");
    keyField.value = readStoredKey();
    keyField.addEventListener("input", () => storeKey(keyField.value.trim()));
    keyField.addEventListener("change", () => state.ready && refreshCount());
    $("key-box").addEventListener("submit", (event) => event.preventDefault());
    $("ask").addEventListener("submit", (event) => {
      event.preventDefault();
      ask($("question").value.trim());
    });
    window.addEventListener("popstate", () => {
      const question = questionInUrl();
      $("question").value = question || "";
      if (question) ask(question);
    });
    setUpDropZone();
    const initial = questionInUrl();
    if (initial) {
      $("question").value = initial;
      state.pending = initial;
    }
    loadInfo();
    startPolling();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
