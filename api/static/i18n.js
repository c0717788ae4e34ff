// CueCard page labels: a global t(key, vars) in the page's language, loaded before every page script.
// The page route inlines the chosen dictionary (window.CUECARD_I18N = {lang, labels}); without it
// (a page opened some other way) the dictionary is fetched synchronously, so t() works at once.
// Language: ?lang=en|zh-CN, else the browser's language, else Simplified Chinese.
"use strict";
(function () {
  var SUPPORTED = ["zh-CN", "en"];
  function pick() {
    var q = new URLSearchParams(location.search).get("lang");
    var wanted = q ? [q] : (navigator.languages || [navigator.language || ""]);
    for (var i = 0; i < wanted.length; i++) {
      var w = String(wanted[i] || "").toLowerCase();
      if (w.indexOf("zh") === 0) return "zh-CN";
      if (w.indexOf("en") === 0) return "en";
    }
    return "zh-CN";
  }
  var inlined = window.CUECARD_I18N;
  var lang = inlined && inlined.lang ? inlined.lang : pick();
  var labels = inlined && inlined.labels ? inlined.labels : null;
  if (!labels) {
    try {
      var xhr = new XMLHttpRequest();
      xhr.open("GET", "/static/i18n/" + (SUPPORTED.indexOf(lang) >= 0 ? lang : "zh-CN") + ".json", false);
      xhr.send();
      labels = xhr.status === 200 ? JSON.parse(xhr.responseText) : {};
    } catch (err) { labels = {}; }
  }
  document.documentElement.lang = lang;
  // t("cards.surge_title", {count: 3}) -> the label with {count} filled in; an unknown key returns itself.
  window.t = function (key, vars) {
    var text = Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : key;
    if (vars) text = text.replace(/\{(\w+)\}/g, function (m, name) { return name in vars ? String(vars[name]) : m; });
    return text;
  };
  window.LANG = lang;
  // Fill static markup: <span data-i18n="dashboard.kpi_rate"></span>, <x data-i18n-title="key">.
  function fill(root) {
    root.querySelectorAll("[data-i18n]").forEach(function (n) { n.textContent = window.t(n.dataset.i18n); });
    root.querySelectorAll("[data-i18n-title]").forEach(function (n) { n.title = window.t(n.dataset.i18nTitle); });
    root.querySelectorAll("[data-i18n-aria]").forEach(function (n) { n.setAttribute("aria-label", window.t(n.dataset.i18nAria)); });
  }
  window.applyI18n = fill;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { fill(document); });
  else fill(document);
})();
