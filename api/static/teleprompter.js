// Teleprompter: big cards, biggest and newest first; tap "Done" to clear a card for every host.
// Every label comes from t() (i18n.js); card titles the server composes are re-worded from the card's fields.
"use strict";
const label = (prefix, k) => { const key = `${prefix}.${k}`, text = t(key); return text === key ? k : text; };
const REASON = (k) => label("reasons", k);
const secondsIn = (text) => { const m = /(\d+)\s*s\b/.exec(text || ""); return m ? m[1] : ""; };

// The card's title in the page's language (a question group's title is the viewers' own words).
function cardTitle(c) {
  const where = c.link ? `#${c.link}` : (c.product_id || "");
  if (c.kind === "purchase_surge") return t("cards.surge_title", {count: c.count, where});
  if (c.kind === "complaint_alert") return t("cards.complaint_title", {count: c.count, seconds: secondsIn(c.title)});
  if (c.kind === "compliance_warning") return t("cards.compliance_title", {terms: [...new Set(c.items.map((i) => i.term))].join("、")});
  if (c.kind === "pitch_next" && c.items.length) {
    const first = c.items[0];
    return t("cards.pitch_title", {where: first.link ? `#${first.link} ` : "", title: first.title});
  }
  return c.title;
}

function cardBody(c) {
  if (c.kind === "pitch_next") return REASON(c.body);
  if (c.kind === "purchase_surge") return t("cards.surge_body", {seconds: secondsIn(c.body)});
  if (c.kind === "complaint_alert") return t("cards.complaint_body", {trend: c.trend});
  return c.body;
}
const cards = new Map();
let socket = null, lineup = [], onStage = null;

function setStatus(ok, text) {
  const node = document.getElementById("status");
  node.textContent = text;
  node.classList.toggle("live", ok);
}

function renderStage() {
  const nav = document.getElementById("stage");
  nav.replaceChildren();
  lineup.forEach((p, i) => {
    const b = el("button", p.id === onStage ? "on" : "", `#${i + 1} ${p.title}`);
    b.dataset.product = p.id;
    b.title = t("teleprompter.put_on_stage");
    b.onclick = () => socket && socket.send(JSON.stringify({type: "set_on_stage", product_id: p.id}));
    nav.appendChild(b);
  });
}

function cardNode(c) {
  const node = el("article", `card ${c.kind}`);
  node.dataset.id = c.id;
  const top = el("div", "top");
  const kind = el("span", "kind", label("cards.kind", c.kind));
  if (c.link) { kind.append(" "); kind.appendChild(el("span", "link", `#${c.link}`)); }
  top.appendChild(kind);
  if (c.count && c.kind !== "pitch_next") top.appendChild(el("span", "count", `×${c.count}`));
  node.appendChild(top);
  node.appendChild(el("div", "title", cardTitle(c)));
  if (c.talking_point) node.appendChild(el("div", "point", `▸ ${c.talking_point}`));
  if (c.body) node.appendChild(el("div", "body", cardBody(c)));
  if (c.kind === "pitch_next" && c.items.length) {
    const ul = el("ul");
    c.items.forEach((i) => ul.appendChild(el("li", "", `${i.link ? "#" + i.link + " " : ""}${i.title} · ${REASON(i.reason)}`)));
    node.appendChild(ul);
  } else if (c.kind === "compliance_warning") {
    const ul = el("ul");
    c.items.forEach((i) => ul.appendChild(el("li", "", `「${i.term}」→ ${i.suggestion}`)));
    node.appendChild(ul);
  }
  if (c.samples && c.samples.length && c.kind !== "question_group") node.appendChild(el("div", "samples", c.samples.join(" · ")));
  if (c.kind === "question_group" && c.samples && c.samples.length > 1) node.appendChild(el("div", "samples", c.samples.join(" · ")));
  const done = el("button", "done", t("teleprompter.done"));
  done.onclick = () => socket && socket.send(JSON.stringify({type: "mark_done", card_id: c.id}));
  node.appendChild(done);
  return node;
}

let pending = false;
function render(freshIds) {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    const main = document.getElementById("cards");
    const sorted = [...cards.values()].sort((a, b) => (b.priority - a.priority) || (b.updated_at - a.updated_at));
    main.replaceChildren(...sorted.map((c) => {
      const node = cardNode(c);
      if (freshIds.has(c.id)) node.classList.add("fresh");
      return node;
    }));
    if (!sorted.length) main.appendChild(el("p", "empty", t("teleprompter.no_cards")));
    freshIds.clear();
  });
}

const fresh = new Set();
function onMessage(msg, ws) {
  socket = ws;
  if (msg.type === "hello") { onStage = msg.on_stage; renderStage(); }
  else if (msg.type === "cards") {
    if (msg.snapshot) cards.clear();
    for (const c of msg.cards) {
      const old = cards.get(c.id);
      if (!old || old.updated_at <= c.updated_at) { cards.set(c.id, c); fresh.add(c.id); }
    }
    render(fresh);
  } else if (msg.type === "card_done") { cards.delete(msg.card_id); render(fresh); }
  else if (msg.type === "room_state") { onStage = msg.on_stage; renderStage(); }
  else if (msg.type === "returning_buyer" && window.showReturning) { window.showReturning(msg.buyers); }
  else if (msg.type === "error") { setStatus(socket && socket.readyState === 1, `${msg.code}: ${msg.reason}`); }
}

async function boot() {
  try {
    const room = await api(`/rooms/${encodeURIComponent(ROOM)}/lineup`);
    document.getElementById("room-title").textContent = room.title || ROOM;
    lineup = room.lineup; onStage = room.on_stage;
    renderStage();
  } catch (err) { setStatus(false, t("common.cannot_load_room", {error: err.message})); }
  connectLive("teleprompter", onMessage, setStatus);
}
boot();
