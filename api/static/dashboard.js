// Room dashboard: a live chart of intents over time (comments per second, one line per intent)
// and the complaint rate, drawn on canvases from the `stats` messages of the teleprompter socket.
"use strict";
const COLORS = {price: "#3d8bfd", promotion: "#ffb020", shipping: "#66d9e8", stock: "#a9e34b", product_info: "#74c0fc",
                purchase: "#20c997", after_sales: "#e599f7", complaint: "#ff4d5e", praise: "#ffd43b",
                chitchat: "#868e96", spam: "#495057"};
const WINDOW = 120;  // seconds shown
const points = [];   // {ts, comments, intents, complaint_rate}
let total = 0;

function setStatus(ok, text) {
  const node = document.getElementById("status");
  node.textContent = text;
  node.classList.toggle("live", ok);
}

function sizeCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * ratio || canvas.height !== h * ratio) { canvas.width = w * ratio; canvas.height = h * ratio; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return [ctx, w, h];
}

function drawLines(canvas, series, maxY, format) {
  const [ctx, w, h] = sizeCanvas(canvas);
  const pad = {l: 44, r: 10, t: 10, b: 22};
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#2a323c"; ctx.fillStyle = "#9aa5b1"; ctx.font = "12px system-ui"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + (h - pad.t - pad.b) * (1 - i / 4);
    ctx.beginPath(); ctx.moveTo(pad.l, y); ctx.lineTo(w - pad.r, y); ctx.stroke();
    ctx.fillText(format(maxY * i / 4), 4, y + 4);
  }
  const now = points.length ? points[points.length - 1].ts : Date.now() / 1000;
  ctx.fillText(`-${WINDOW}s`, pad.l, h - 6); ctx.fillText(t("dashboard.axis_now"), w - pad.r - 24, h - 6);
  const x = (ts) => pad.l + (w - pad.l - pad.r) * (1 - (now - ts) / WINDOW);
  const y = (v) => pad.t + (h - pad.t - pad.b) * (1 - v / maxY);
  ctx.lineWidth = 2.5;
  for (const [color, values] of series) {
    ctx.strokeStyle = color; ctx.beginPath();
    values.forEach(([ts, v], i) => (i ? ctx.lineTo(x(ts), y(v)) : ctx.moveTo(x(ts), y(v))));
    ctx.stroke();
  }
}

function draw() {
  const intents = new Set();
  points.forEach((p) => Object.keys(p.intents).forEach((k) => intents.add(k)));
  // A 5-second moving average: per-second counts of a quiet room are too jumpy to read.
  const smooth = (k) => points.map((p, i) => {
    const win = points.slice(Math.max(0, i - 4), i + 1);
    return [p.ts, win.reduce((s, q) => s + (q.intents[k] || 0), 0) / win.length];
  });
  const series = [...intents].sort().map((k) => [COLORS[k] || "#ced4da", smooth(k)]);
  const peak = Math.max(4, ...series.flatMap(([, values]) => values.map(([, v]) => v)));
  const maxY = Math.ceil(peak * 1.1 / 4) * 4;  // four grid steps of whole comments
  drawLines(document.getElementById("intents"), series, maxY, (v) => v.toFixed(0));
  const legend = document.getElementById("legend");
  legend.replaceChildren(...[...intents].sort().map((k) => {
    const key = `intents.${k}`, name = t(key) === key ? k : t(key);
    const item = el("span", "", name); item.dataset.intent = k; const dot = el("i"); dot.style.background = COLORS[k] || "#ced4da"; item.prepend(dot); return item;
  }));
  const rates = points.map((p) => [p.ts, p.rolling]);
  const maxRate = Math.max(0.1, ...rates.map(([, v]) => v));
  drawLines(document.getElementById("complaints"), [["#ff4d5e", rates]], Math.min(1, maxRate * 1.2), (v) => `${Math.round(v * 100)}%`);
}

function onMessage(msg) {
  if (msg.type !== "stats") return;
  total += msg.comments;
  points.push({ts: msg.ts, comments: msg.comments, intents: msg.intents, complaint_rate: msg.complaint_rate});
  while (points.length && points[0].ts < msg.ts - WINDOW) points.shift();
  // Rolling 30 s complaint rate: per-second rates are too noisy to read.
  const recent = points.filter((p) => p.ts > msg.ts - 30);
  const n = recent.reduce((s, p) => s + p.comments, 0);
  const c = recent.reduce((s, p) => s + (p.intents.complaint || 0), 0);
  points[points.length - 1].rolling = n ? c / n : 0;
  document.getElementById("kpi-rate").textContent = (msg.comments / msg.window_s).toFixed(0);
  document.getElementById("kpi-total").textContent = total;
  document.getElementById("kpi-complaint").textContent = `${(100 * (n ? c / n : 0)).toFixed(1)}%`;
  document.getElementById("kpi-backlog").textContent = msg.backlog;
  document.getElementById("kpi-subs").textContent = msg.subscribers;
  draw();
}

async function boot() {
  try {
    const room = await api(`/rooms/${encodeURIComponent(ROOM)}/lineup`);
    document.getElementById("room-title").textContent = `${room.title || ROOM} · ${t("dashboard.title_suffix")}`;
  } catch (err) { setStatus(false, t("common.cannot_load_room", {error: err.message})); }
  connectLive("teleprompter", onMessage, setStatus);
  window.addEventListener("resize", draw);
}
boot();
