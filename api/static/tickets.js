// CueCard dashboard: the room's complaint tickets (GET /tickets) with red-amber-green by time left,
// acknowledge / resolve buttons (PATCH with the version read, so a second host gets 409 and reloads),
// and the on-time rate (GET /tickets/report). Refreshed every 10 s; labels through t().
"use strict";
(function () {
  const tr = (k, vars) => (window.t ? t(k, vars) : k);
  const root = document.getElementById("tickets");
  if (!root) return;
  const RAG = {green: "#2e7d32", amber: "#f9a825", red: "#c62828"};

  function minutes(s) { return s <= 0 ? tr("tickets.overdue") : tr("tickets.minutes_left", {n: Math.ceil(s / 60)}); }

  async function patch(ticket, status) {
    try {
      await api(`/tickets/${ticket.id}`, {method: "PATCH", body: JSON.stringify({status, version: ticket.version})});
    } catch (e) {
      root.prepend(el("p", "tickets-error", e.message.startsWith("409") ? tr("tickets.conflict") : e.message));
    }
    load();
  }

  function render(list, report) {
    root.replaceChildren();
    const rate = (report.per_room || {})[ROOM];
    root.append(el("p", "tickets-rate", rate ? tr("tickets.on_time", {rate: Math.round(rate.rate * 100), n: rate.tickets})
                                               : tr("tickets.on_time_none")));
    if (!list.length) { root.append(el("p", "tickets-empty", tr("tickets.none"))); return; }
    const table = el("table", "tickets-table");
    const head = el("tr");
    for (const k of ["level", "kind", "product", "viewers", "status", "deadline", "actions"]) head.append(el("th", null, tr(`tickets.col_${k}`)));
    table.append(head);
    for (const tk of list.slice(0, 20)) {
      const row = el("tr");
      const level = el("td", null, tr(`tickets.level_${tk.level}`));
      level.style.borderLeft = `6px solid ${RAG[tk.rag] || "#999"}`;
      const actions = el("td");
      if (tk.status === "open") {
        const ack = el("button", null, tr("tickets.acknowledge"));
        ack.onclick = () => patch(tk, "acknowledged");
        actions.append(ack);
      }
      if (tk.status !== "resolved") {
        const done = el("button", null, tr("tickets.resolve"));
        done.onclick = () => patch(tk, "resolved");
        actions.append(done);
      }
      row.append(level, el("td", null, tr(`tickets.kind_${tk.kind}`)), el("td", null, tk.product_id || "—"),
                 el("td", null, String(tk.viewers)), el("td", null, tr(`tickets.status_${tk.status}`)),
                 el("td", null, tk.status === "resolved" ? "—" : minutes(tk.seconds_left)), actions);
      table.append(row);
    }
    root.append(table);
    for (const f of report.flagged_products || []) {
      if (f.room === ROOM) root.append(el("p", "tickets-flag", tr("tickets.flagged", {product: f.product_id, n: f.complaints})));
    }
  }

  async function load() {
    try {
      const [list, report] = await Promise.all([api(`/tickets?room_id=${encodeURIComponent(ROOM)}`), api("/tickets/report")]);
      render(list.tickets, report);
    } catch (e) {
      root.replaceChildren(el("p", "tickets-empty", tr("tickets.unavailable")));
    }
  }
  load();
  setInterval(load, 10000);
})();
