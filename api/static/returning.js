// Teleprompter: returning-buyer cards (a linked shopper commented). The server sends ids, counts and
// titles only; the pairing line is composed server-side in Chinese, the labels come from t().
"use strict";
(function () {
  const tr = (k, vars) => (window.t ? t(k, vars) : k);
  let box = null;
  window.showReturning = function (buyers) {
    if (!box) {
      box = document.createElement("section");
      box.id = "returning";
      box.className = "returning";
      box.setAttribute("aria-live", "polite");
      const main = document.getElementById("cards");
      main.parentNode.insertBefore(box, main);
    }
    for (const b of buyers) {
      const card = el("article", "card returning-card");
      card.append(el("h3", null, tr("returning.title")),
                  el("p", null, `${tr("returning.times", {count: b.times_bought})} · ${tr("returning.last", {item: b.last_item})}`),
                  el("p", "returning-line", b.line));
      const done = el("button", null, tr("returning.dismiss"));
      done.onclick = () => card.remove();
      card.append(done);
      box.prepend(card);
      while (box.children.length > 3) box.lastChild.remove();
    }
  };
})();
