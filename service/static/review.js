// Reviewers: a token kept for the browser session, editable topics on tagged sentences
// (saved with /v1/feedback), and a one-sentence-at-a-time review queue driven by keys.
"use strict";

const TOKEN_KEY = "sectag.reviewToken";
const review = { topics: [], edits: new Map(), sentences: [], source: null, articleId: null,
  item: null, chosen: new Set(), busy: false };

const byId = (id) => document.getElementById(id);
const make = (tag, attrs = {}, text = "") => {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
  if (text) node.textContent = text;
  return node;
};
const token = () => sessionStorage.getItem(TOKEN_KEY);

function problem(res, body) {
  if (res.status === 401) return "token not accepted";
  if (res.status === 403) return "review is not configured on this server";
  return (body && body.error && body.error.message) || res.statusText || `HTTP ${res.status}`;
}

async function api(method, path, payload) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers,
    body: payload === undefined ? undefined : JSON.stringify(payload) });
  let body = null;
  try { body = await res.json(); } catch (err) { body = null; }
  if (!res.ok) {
    const error = new Error(problem(res, body));
    error.status = res.status;
    throw error;
  }
  return body;
}

function say(id, text, isError = false) {
  const node = byId(id);
  node.className = isError ? "error" : "";
  node.textContent = isError ? `Error: ${text}` : text;
}

// -- the token ---------------------------------------------------------------------------
function showReviewer(name) {
  const on = Boolean(name);
  byId("reviewer-status").textContent = on ? `Reviewing as ${name}.` :
    "Reviewers: paste your token to correct tags.";
  byId("token").hidden = on;
  byId("token-button").hidden = on;
  byId("token-forget").hidden = !on;
  byId("views").hidden = !on;
  if (!on) showView("article");
  if (review.sentences.length) renderEditors();
}

async function checkToken() {
  if (!token()) return showReviewer(null);
  try {
    const body = await api("GET", "/v1/review/next?n=1");
    showReviewer(body.reviewer);
  } catch (err) {
    if (err.status === 401) sessionStorage.removeItem(TOKEN_KEY);
    showReviewer(null);
    byId("reviewer-status").textContent = `Error: ${err.message}`;
    byId("reviewer-status").className = "error";
  }
}

function useToken(event) {
  event.preventDefault();
  const value = byId("token").value.trim();
  if (!value) return;
  sessionStorage.setItem(TOKEN_KEY, value);
  byId("token").value = "";
  byId("reviewer-status").className = "";
  checkToken();
}

function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  showReviewer(null);
}

// -- editing an article's sentences ------------------------------------------------------
function newArticleId() {
  const hex = (b) => b.toString(16).padStart(2, "0");
  const random = window.crypto && crypto.getRandomValues ?
    Array.from(crypto.getRandomValues(new Uint8Array(6)), hex).join("") :
    Math.random().toString(16).slice(2, 14);
  return `page-${new Date().toISOString().slice(0, 10)}-${random}`;
}

function onTagged(event) {
  const { result, title } = event.detail;
  review.sentences = result.sentences.map((s) => ({ text: s.text, topics: [...s.topics] }));
  review.edits = new Map();
  review.source = title;
  review.articleId = newArticleId();
  say("save-status", "");
  renderEditors();
}

function renderEditors() {
  const on = Boolean(token());
  byId("edit-help").hidden = !on;
  byId("save-button").hidden = !on;
  byId("save-button").disabled = review.edits.size === 0;
  document.querySelectorAll("#sentences li").forEach((item) => {
    const old = item.querySelector(".editor");
    if (old) old.remove();
    const index = Number(item.dataset.index);
    if (!on || Number.isNaN(index)) return;
    item.appendChild(editor(index));
    item.classList.toggle("edited", review.edits.has(index));
  });
}

function currentTopics(index) {
  return review.edits.get(index) || review.sentences[index].topics;
}

function setTopics(index, topics) {
  const model = review.sentences[index].topics;
  const same = topics.length === model.length && topics.every((t) => model.includes(t));
  if (same) review.edits.delete(index); else review.edits.set(index, topics);
  renderEditors();
}

function editor(index) {
  const box = make("span", { class: "editor" });
  const topics = currentTopics(index);
  if (!topics.length) box.appendChild(make("span", { class: "none" }, "no topic"));
  topics.forEach((topic) => {
    const chip = make("button", { type: "button", class: "chip", "data-topic": topic,
      title: `remove ${topic}` }, `${topic} ×`);
    chip.addEventListener("click", () => setTopics(index, topics.filter((t) => t !== topic)));
    box.appendChild(chip);
  });
  const missing = review.topics.filter((t) => !topics.includes(t));
  if (missing.length) {
    const menu = make("select", { class: "add-topic", "aria-label": "add a topic" });
    menu.appendChild(make("option", { value: "" }, "+ add topic"));
    missing.forEach((t) => menu.appendChild(make("option", { value: t }, t)));
    menu.addEventListener("change", () => {
      if (menu.value) setTopics(index, [...topics, menu.value]);
    });
    box.appendChild(menu);
  }
  return box;
}

async function saveCorrections() {
  if (!review.edits.size) return;
  const items = [...review.edits.entries()].map(([index, topics]) => {
    const item = { text: review.sentences[index].text, topics, article_id: review.articleId };
    if (review.source) item.source = review.source;
    return item;
  });
  say("save-status", "Saving…");
  try {
    const body = await api("POST", "/v1/feedback", { items });
    review.edits.forEach((topics, index) => { review.sentences[index].topics = topics; });
    review.edits = new Map();
    renderEditors();
    say("save-status", `Saved ${body.saved} correction${body.saved === 1 ? "" : "s"}.`);
  } catch (err) {
    say("save-status", err.message, true);
  }
}

// -- the review queue --------------------------------------------------------------------
function showView(name) {
  byId("article-view").hidden = name !== "article";
  byId("queue-view").hidden = name !== "queue";
  byId("article-tab").classList.toggle("current", name === "article");
  byId("queue-tab").classList.toggle("current", name === "queue");
  if (name === "queue") {
    if (document.activeElement) document.activeElement.blur();  // Enter is for the queue
    nextItem();
  }
}

async function nextItem() {
  say("queue-status", "");
  try {
    const body = await api("GET", "/v1/review/next?n=1");
    review.item = body.items[0] || null;
    review.queueTopics = body.topics;
    byId("queue-left").textContent = `${body.remaining} left`;
    review.chosen = new Set(review.item ? review.item.topics : []);
    renderItem();
  } catch (err) {
    say("queue-status", err.message, true);
  }
}

function renderItem() {
  const item = review.item;
  byId("queue-accept").disabled = !item;
  byId("queue-skip").disabled = !item;
  byId("queue-text").textContent = item ? item.text : "Nothing left to review.";
  byId("queue-reason").textContent =
    item ? [item.reason, item.source].filter(Boolean).join(" · ") : "";
  const list = byId("queue-topics");
  list.replaceChildren();
  if (!item) return;
  review.queueTopics.forEach((topic, i) => {
    const on = review.chosen.has(topic);
    const row = make("li", { class: on ? "chosen" : "", "data-topic": topic });
    row.appendChild(make("kbd", {}, i < 9 ? String(i + 1) : " "));
    row.appendChild(make("span", { class: "mark" }, on ? " ✔ " : " · "));
    row.appendChild(make("span", { class: "name" }, topic));
    const score = item.scores[topic];
    row.appendChild(make("meter", { min: "0", max: "1", value: String(score) }));
    row.appendChild(make("span", { class: "score" }, score.toFixed(2)));
    const terms = (item.evidence[topic] || []).join(", ");
    if (terms) row.appendChild(make("span", { class: "evidence" }, ` (${terms})`));
    row.addEventListener("click", () => toggle(i));
    list.appendChild(row);
  });
}

function toggle(i) {
  const topic = review.queueTopics[i];
  if (!review.item || topic === undefined) return;
  if (review.chosen.has(topic)) review.chosen.delete(topic); else review.chosen.add(topic);
  renderItem();
}

async function act(doIt, done) {
  if (!review.item || review.busy) return;
  review.busy = true;
  try {
    await doIt(review.item);
    await nextItem();
    say("queue-status", done);
  } catch (err) {
    say("queue-status", err.message, true);
  } finally {
    review.busy = false;
  }
}

const accept = () => act((item) => {
  const topics = review.queueTopics.filter((t) => review.chosen.has(t));
  const payload = { text: item.text, topics };
  if (item.source) payload.source = item.source;
  if (item.article_id) payload.article_id = item.article_id;
  return api("POST", "/v1/feedback", payload);
}, "Saved.");
const skip = () => act((item) => api("POST", "/v1/review/skip", { id: item.id }), "Skipped.");

function onKey(event) {
  if (byId("queue-view").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
  if (["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName)) return;
  if (/^[1-9]$/.test(event.key)) { toggle(Number(event.key) - 1); event.preventDefault(); }
  else if (event.key === "Enter") { accept(); event.preventDefault(); }
  else if (event.key === "s" || event.key === "S") { skip(); event.preventDefault(); }
}

async function loadTopics() {
  try {
    const res = await fetch("/v1/model");
    if (res.ok) review.topics = (await res.json()).topics.map((t) => t.name);
  } catch (err) { review.topics = []; }
}

byId("token-form").addEventListener("submit", useToken);
byId("token-forget").addEventListener("click", forgetToken);
byId("save-button").addEventListener("click", saveCorrections);
byId("article-tab").addEventListener("click", () => showView("article"));
byId("queue-tab").addEventListener("click", () => showView("queue"));
byId("queue-accept").addEventListener("click", accept);
byId("queue-skip").addEventListener("click", skip);
document.addEventListener("sectag:tagged", onTagged);
document.addEventListener("keydown", onKey);
loadTopics().then(checkToken);
