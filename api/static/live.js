// CueCard live pages: one reconnecting WebSocket per page; the snapshot sent on connect is what it missed.
"use strict";
const params = new URLSearchParams(location.search);
const ROOM = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
const KEY = params.get("key") || "";

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

async function api(path, options = {}) {
  const headers = Object.assign({"X-API-Key": KEY, "Content-Type": "application/json"}, options.headers || {});
  const resp = await fetch(path, Object.assign({}, options, {headers}));
  if (!resp.ok) throw new Error(`${resp.status} ${await resp.text()}`);
  return resp.status === 204 ? null : resp.json();
}

// Connect to /ws/rooms/ROOM/<kind>; onMessage gets each parsed frame. Reconnects with backoff; a
// screen needs no `since=` replay, because the cards snapshot sent on connect is what it missed.
function connectLive(kind, onMessage, onStatus) {
  let delay = 500;
  function open() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws/rooms/${encodeURIComponent(ROOM)}/${kind}?key=${encodeURIComponent(KEY)}`);
    ws.onopen = () => { delay = 500; onStatus(true, t("common.live")); };
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "error" && msg.close) onStatus(false, msg.reason);
      onMessage(msg, ws);
    };
    ws.onclose = (event) => {
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) { onStatus(false, t("common.closed", {code: event.code})); return; }
      onStatus(false, t("common.reconnecting"));
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
    return ws;
  }
  return open();
}
