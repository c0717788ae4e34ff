/* CueCard recommendation widget.
 * <div id="cuecard-recs"></div>
 * <script src="https://HOST/static/widget.js" data-target="#cuecard-recs" data-user="u1"
 *         data-room="demo" data-k="6" data-product=""></script>
 * With data-product it shows what is bought together with that product; otherwise the viewer's list.
 * Text is inserted with textContent only (never innerHTML), so product data cannot inject markup. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script.src, document.baseURI).origin;
  var d = script.dataset;
  var REASONS = {
    bought_together: "常一起买", because_you_bought: "为你推荐", popular_in_room: "直播间热门",
    live_now: "正在讲解", popular: "热销"
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function render(target, data) {
    target.textContent = "";
    var list = el("ul", "cuecard-recs");
    list.style.cssText = "list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:8px;font:14px sans-serif";
    data.items.forEach(function (item) {
      var p = item.product || {};
      var li = el("li", "cuecard-rec");
      li.dataset.itemId = item.item_id;
      li.style.cssText = "border:1px solid #ddd;border-radius:8px;padding:8px;width:160px";
      li.appendChild(el("div", "cuecard-title", p.title || item.item_id));
      if (p.price != null) li.appendChild(el("div", "cuecard-price", "¥" + Number(p.price).toFixed(2)));
      var tag = el("span", "cuecard-reason", REASONS[item.reason] || item.reason);
      tag.style.cssText = "font-size:12px;color:#c33";
      li.appendChild(tag);
      list.appendChild(li);
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
    fetch(url).then(function (r) {
      if (!r.ok) return r.json().then(function (e) { throw new Error(e.detail || r.status); });
      return r.json();
    }).then(function (data) { render(target, data); }, function (err) {
      target.textContent = "";
      target.appendChild(el("div", "cuecard-error", "推荐暂不可用: " + err.message));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();
