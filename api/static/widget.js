/* CueCard recommendation widget.
 * <div id="cuecard-recs"></div>
 * <script src="https://HOST/static/widget.js" data-key="<widget key>" data-target="#cuecard-recs"
 *         data-user="u1" data-room="demo" data-k="6" data-product="" data-lang="zh-CN"
 *         data-color="#222" data-accent="#e4393c" data-background="#fff" data-border="#ddd"></script>
 * With data-product it shows what is bought together with that product; otherwise the viewer's list.
 * The key is the publishable widget key (recommendations, related products, events only; accepted
 * from the shop's origins). Impressions are sent once per render and clicks as they happen, batched
 * to POST /events; the shop reports add-to-cart and purchases with CueCard.track(kind, itemId).
 * Text is inserted with textContent only (never innerHTML), so product data cannot inject markup. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script.src, document.baseURI).origin;
  var d = script.dataset;
  var key = d.key || "";
  var FALLBACK = {
    "widget.reason.bought_together": "常一起买", "widget.reason.because_you_bought": "为你推荐",
    "widget.reason.popular_in_room": "直播间热门", "widget.reason.live_now": "正在讲解",
    "widget.reason.popular": "热销", "widget.unavailable": "推荐暂不可用：{error}"
  };
  var labels = FALLBACK;
  var theme = {color: d.color || "#222", accent: d.accent || "#c33", background: d.background || "#fff",
               border: d.border || "#ddd"};
  var queue = [];
  var timer = null;

  function lang() {
    var wanted = d.lang || new URLSearchParams(location.search).get("lang") || navigator.language || "";
    return String(wanted).toLowerCase().indexOf("en") === 0 ? "en" : "zh-CN";
  }

  function t(k, vars) {
    var text = labels[k] || FALLBACK[k] || k;
    return text.replace(/\{(\w+)\}/g, function (m, n) { return vars && n in vars ? String(vars[n]) : m; });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function withKey(url) { return url + (url.indexOf("?") < 0 ? "?" : "&") + "key=" + encodeURIComponent(key); }

  function flush() {
    timer = null;
    if (!queue.length) return;
    var batch = queue.splice(0, 500);
    fetch(withKey(base + "/events"), {method: "POST", keepalive: true, headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify({events: batch})}).catch(function () { /* best effort */ });
  }

  function track(kind, itemId, extra) {
    var e = {kind: kind, item_id: String(itemId), user_id: d.user || "", ts: Date.now() / 1000};
    if (d.room) e.room_id = d.room;
    if (extra) for (var k in extra) e[k] = extra[k];
    queue.push(e);
    if (!timer) timer = setTimeout(flush, 1000);
  }

  function render(target, data) {
    target.textContent = "";
    var source = d.product ? "related" : "recommendations";
    var list = el("ul", "cuecard-recs");
    list.style.cssText = "list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:8px;font:14px sans-serif";
    data.items.forEach(function (item) {
      var p = item.product || {};
      var li = el("li", "cuecard-rec");
      li.dataset.itemId = item.item_id;
      li.style.cssText = "border:1px solid " + theme.border + ";border-radius:8px;padding:8px;width:160px;cursor:pointer;" +
        "color:" + theme.color + ";background:" + theme.background;
      var image = p.image_url || (p.attributes || {}).image_url;  // a column, or the product's attributes
      if (image && /^https?:\/\//.test(image)) {
        var img = el("img", "cuecard-image");
        img.src = image; img.alt = p.title || item.item_id; img.loading = "lazy";
        img.style.cssText = "width:100%;height:120px;object-fit:cover;border-radius:6px;display:block;margin-bottom:6px";
        li.appendChild(img);
      }
      li.appendChild(el("div", "cuecard-title", p.title || item.item_id));
      if (p.price != null) li.appendChild(el("div", "cuecard-price", "¥" + Number(p.price).toFixed(2)));
      var tag = el("span", "cuecard-reason", t("widget.reason." + item.reason) === "widget.reason." + item.reason
        ? item.reason : t("widget.reason." + item.reason));
      tag.style.cssText = "font-size:12px;color:" + theme.accent;
      li.appendChild(tag);
      li.addEventListener("click", function () { track("click", item.item_id, {source: source}); flush(); });
      list.appendChild(li);
      track("impression", item.item_id, {source: source});
    });
    target.appendChild(list);
  }

  function load() {
    var target = document.querySelector(d.target || "#cuecard-recs");
    if (!target) return;
    var k = d.k || "6";
    var url = d.product
      ? base + "/products/" + encodeURIComponent(d.product) + "/related?k=" + encodeURIComponent(k)
      : base + "/recommendations?k=" + encodeURIComponent(k) +
        (d.user ? "&user_id=" + encodeURIComponent(d.user) : "") +
        (d.room ? "&room_id=" + encodeURIComponent(d.room) : "");
    var labelsLoaded = fetch(base + "/static/i18n/" + lang() + ".json").then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (l) { labels = l; }, function () { /* keep the built-in Chinese labels */ });
    var listed = fetch(withKey(url)).then(function (r) {
      if (!r.ok) return r.json().then(function (e) { throw new Error(e.detail || r.status); });
      return r.json();
    });
    Promise.all([listed, labelsLoaded]).then(function (all) { render(target, all[0]); }, function (err) {
      target.textContent = "";
      target.appendChild(el("div", "cuecard-error", t("widget.unavailable", {error: err.message})));
    });
  }

  window.CueCard = window.CueCard || {};
  window.CueCard.track = function (kind, itemId, extra) { track(kind, itemId, extra); flush(); };
  window.addEventListener("pagehide", flush);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();
