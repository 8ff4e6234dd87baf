// Calls /v1/tag-article and renders each sentence with its topics, scores and evidence.
"use strict";

const el = (tag, attrs = {}, text = "") => {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
  if (text) node.textContent = text;
  return node;
};

async function loadModel() {
  const target = document.getElementById("model-version");
  try {
    const res = await fetch("/readyz");
    const body = await res.json();
    target.textContent = body.ready ? body.version : `not ready (${body.reason})`;
  } catch (err) {
    target.textContent = "unreachable";
  }
}

function renderTags(pred) {
  const tags = el("span", { class: "tags" });
  pred.topics.forEach((topic) => {
    const terms = (pred.evidence[topic] || []).join(", ");
    const tag = el("span", { class: "tag", "data-topic": topic },
      `${topic} ${pred.scores[topic].toFixed(2)}`);
    tags.appendChild(tag);
    if (terms) tags.appendChild(el("span", { class: "evidence" }, `(${terms}) `));
  });
  return tags;
}

// A flag from an ISO alpha-2 code (regional indicator letters); the API gives alpha-3
// codes, so a flag is shown only when an actor carries an `alpha2` field.
function flag(alpha2) {
  if (!/^[A-Z]{2}$/.test(alpha2 || "")) return "";
  return String.fromCodePoint(...[...alpha2].map((c) => 0x1f1a5 + c.charCodeAt(0)));
}

function actorChip(actor, detail) {
  const mark = flag(actor.alpha2);
  return el("span", { class: `actor ${actor.type || "country"}`, "data-code": actor.code,
    title: detail ? `${actor.name || actor.code}: ${detail}` : (actor.name || actor.code) },
    `${mark ? `${mark} ` : ""}${actor.code}`);
}

function renderActors(actors, detailOf, className = "actors") {
  const box = el("span", { class: className });
  (actors || []).forEach((a) => box.appendChild(actorChip(a, detailOf(a))));
  return box;
}

function renderArticleActors(article) {
  const partners = document.getElementById("article-partners");
  partners.replaceChildren();
  (article.partners || []).forEach((p) => partners.appendChild(el("li", {},
    "")).appendChild(actorChip({ ...p, type: "country" }, "partner")));
  if (!partners.children.length) partners.appendChild(el("li", { class: "absent" }, "none found"));
  const actors = document.getElementById("article-actors");
  actors.replaceChildren(renderActors(article.actors, (a) =>
    `${a.sentences} sentence${a.sentences === 1 ? "" : "s"}`));
  document.getElementById("article-actors-block").hidden = !(article.actors || []).length;
}

function render(result, title) {
  document.getElementById("model-version").textContent = result.model_version;
  const topics = document.getElementById("article-topics");
  topics.replaceChildren();
  const scores = result.article.scores;
  Object.keys(scores).sort((a, b) => scores[b] - scores[a]).forEach((topic) => {
    const found = result.article.topics.includes(topic);
    const count = result.article.sentence_counts[topic];
    topics.appendChild(el("li", { class: found ? "found" : "absent" },
      `${found ? "✔" : "·"} ${topic}: ${scores[topic].toFixed(2)}` +
      (found ? ` (${count} sentence${count === 1 ? "" : "s"})` : "")));
  });
  renderArticleActors(result.article);
  const list = document.getElementById("sentences");
  list.replaceChildren();
  result.sentences.forEach((s) => {
    const item = el("li");
    const span = el("span", { class: "sentence" + (s.topics.length ? " tagged" : ""),
      title: `characters ${s.start}-${s.end}` }, s.text);
    item.appendChild(span);
    if (s.topics.length) item.appendChild(renderTags(s));
    if ((s.actors || []).length) {
      item.appendChild(renderActors(s.actors, (a) => (a.mentions || []).join(", ")));
    }
    item.dataset.index = String(list.children.length);
    list.appendChild(item);
  });
  document.getElementById("result").hidden = false;
  // review.js makes the topics editable when a reviewer token is set.
  document.dispatchEvent(new CustomEvent("sectag:tagged", { detail: { result, title } }));
}

async function submit(event) {
  event.preventDefault();
  const status = document.getElementById("status");
  const text = document.getElementById("article").value;
  const title = document.getElementById("title").value;
  status.className = "";
  status.textContent = "Tagging…";
  try {
    const res = await fetch("/v1/tag-article", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(title.trim() ? { text, title } : { text }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
    render(body, title.trim() || null);
    status.textContent = `${body.sentences.length} sentences tagged.`;
  } catch (err) {
    status.className = "error";
    status.textContent = `Error: ${err.message}`;
  }
}

document.getElementById("article-form").addEventListener("submit", submit);
loadModel();
