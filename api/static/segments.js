// CueCard dashboard: the shop's repeat-purchase segments (GET /segments), refreshed every minute.
"use strict";
(function () {
  const tr = (k, vars) => (window.t ? t(k, vars) : k);
  const root = document.getElementById("segments");
  if (!root) return;
  const SEGMENTS = ["loyal", "active", "lapsing", "sleeping"], RISKS = ["high", "medium", "low"];

  function render(body) {
    root.replaceChildren();
    const counts = el("div", "kpis");
    for (const s of SEGMENTS) {
      const box = el("div", "kpi");
      box.append(el("b", null, String(body.counts[`segment.${s}`] || 0)), el("span", null, tr(`segments.${s}`)));
      counts.append(box);
    }
    const hv = el("div", "kpi");
    hv.append(el("b", null, String(body.counts.high_value || 0)), el("span", null, tr("segments.high_value")));
    counts.append(hv);
    root.append(counts);
    const risks = el("p", "segments-risks");
    risks.textContent = RISKS.map(r => `${tr(`segments.risk_${r}`)}: ${body.counts[`risk.${r}`] || 0}`).join(" · ");
    root.append(risks);
    const table = el("table", "segments-table");
    const head = el("tr");
    for (const k of ["user", "segment", "risk", "orders", "recency"]) head.append(el("th", null, tr(`segments.col_${k}`)));
    table.append(head);
    for (const p of body.shoppers.slice(0, 10)) {
      const row = el("tr");
      row.append(el("td", null, p.user_id), el("td", null, tr(`segments.${p.segment}`)),
                 el("td", null, tr(`segments.risk_${p.risk}`)), el("td", null, String(p.orders)),
                 el("td", null, String(p.recency)));
      table.append(row);
    }
    root.append(table);
  }

  async function load() {
    try {
      render(await api("/segments"));
    } catch (e) {
      root.replaceChildren(el("p", "segments-empty", tr("segments.unavailable")));
    }
  }
  load();
  setInterval(load, 60000);
})();
