// CueCard dashboard: the room's knowledge gaps (GET /knowledge/gaps?room_id=ROOM) — questions handed off
// for want of knowledge, grouped by frame or wording — with count, samples, products, first/last seen,
// and an answer box per gap (POST /knowledge/gaps/{id}/answer: stored as an FAQ, answered from at once).
// Refreshed every 15 s, but never while a host is typing an answer; labels through t().
"use strict";
(function () {
  const tr = (k, vars) => (window.t ? t(k, vars) : k);
  const root = document.getElementById("gaps");
  if (!root) return;

  const when = (ts) => new Date(ts * 1000).toLocaleString();
  const typing = () => Array.from(root.querySelectorAll("textarea")).some((a) => a.value.trim());

  async function answer(gap, box, status) {
    const text = box.value.trim();
    if (!text) { status.textContent = tr("gaps.empty_answer"); return; }
    try {
      await api(`/knowledge/gaps/${gap.id}/answer`, {method: "POST", body: JSON.stringify({text})});
      box.value = "";
      status.textContent = tr("gaps.saved");
    } catch (e) {
      status.textContent = e.message.startsWith("409") ? tr("gaps.conflict")
        : e.message.startsWith("404") ? tr("gaps.gone") : e.message;
    }
    setTimeout(load, 800);
  }

  function render(list) {
    root.replaceChildren(el("p", "gaps-count", tr("gaps.count", {n: list.length})));
    if (!list.length) { root.append(el("p", "gaps-empty", tr("gaps.none"))); return; }
    for (const gap of list.slice(0, 20)) {
      const item = el("div", "gap");
      item.dataset.gapId = String(gap.id);
      item.style.cssText = "border-top:1px solid #2a3440;padding:8px 0";
      item.append(el("b", "gap-question", gap.representative),
                  el("span", "gap-asked", " · " + tr("gaps.asked", {n: gap.count})));
      const samples = gap.samples.filter((s) => s !== gap.representative);
      if (samples.length) item.append(el("p", "gap-samples", tr("gaps.samples") + "：" + samples.join(" / ")));
      item.append(el("p", "gap-products", tr("gaps.products") + "：" + (gap.products.join(", ") || "—")),
                  el("p", "gap-seen", tr("gaps.seen", {first: when(gap.first_ts), last: when(gap.last_ts)})));
      const box = el("textarea", "gap-answer");
      box.rows = 2; box.maxLength = 2000; box.style.width = "100%";
      box.placeholder = tr("gaps.placeholder");
      const status = el("span", "gap-status");
      const send = el("button", "gap-send", tr("gaps.answer"));
      send.onclick = () => answer(gap, box, status);
      item.append(box, send, status);
      root.append(item);
    }
  }

  async function load() {
    if (typing()) return;
    try {
      render(await api(`/knowledge/gaps?room_id=${encodeURIComponent(ROOM)}`));
    } catch (e) {
      root.replaceChildren(el("p", "gaps-empty", tr("gaps.unavailable")));
    }
  }
  load();
  setInterval(load, 15000);
})();
