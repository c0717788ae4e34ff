"""The review as a self-contained HTML page (charts drawn as inline SVG: no script, no network) or CSV.

The same HTML is the `/review/{room}/{show}` page and the file `cuecard review --out` writes, so the
file opens offline exactly as the page looks. Labels come from the caller (one language's dictionary).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping
from typing import Any

COLORS = {"price": "#3d8bfd", "promotion": "#ffb020", "shipping": "#66d9e8", "stock": "#a9e34b",
          "product_info": "#74c0fc", "purchase": "#20c997", "after_sales": "#e599f7", "complaint": "#ff4d5e",
          "praise": "#ffd43b", "chitchat": "#868e96", "spam": "#495057"}
BAND_COLORS = ("#2b3a55", "#3b2b55", "#2b553f", "#55422b", "#552b3a", "#2b4f55")
FONT = "'Noto Sans CJK SC','Noto Sans SC','PingFang SC','Microsoft YaHei',system-ui,sans-serif"


class Labels:
    """One language's labels with `{name}` placeholders (the key itself when missing)."""

    def __init__(self, labels: Mapping[str, str]) -> None:
        self.labels = dict(labels)

    def __call__(self, key: str, **values: Any) -> str:
        """The label of `key` with its placeholders filled."""
        text = self.labels.get(key, key)
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    def intent(self, name: str) -> str:
        """An intent's display name."""
        return self.labels.get(f"intents.{name}", name)


def suggestion_text(s: dict[str, Any], t: Labels) -> str:
    """A suggestion in the labels' language."""
    return t(s["key"], **s["values"])


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _mmss(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def timeline_svg(review: dict[str, Any], t: Labels, width: int = 1000, height: int = 300) -> str:
    """Comments per minute stacked by intent, on-stage products as bands, card moments as ticks."""
    tl = review["timeline"]
    n = tl["minutes"]
    pad_l, pad_r, pad_t, pad_b = 44, 10, 26, 28
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-timeline" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{_e(t("review.timeline"))}" font-family="{FONT}" font-size="12">']
    if n == 0:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" fill="#9aa5b1" text-anchor="middle">{_e(t("review.empty"))}</text></svg>')
        return "".join(parts)
    totals = [sum(series[i] for series in tl["intents"].values()) for i in range(n)]
    peak = max(4, max(totals))
    span_s = n * tl["minute_s"]
    x = lambda s: pad_l + w * s / span_s  # noqa: E731 - a scale
    for i, b in enumerate(tl["bands"]):
        x0, x1 = x(b["start_s"]), x(b["end_s"])
        label = f"#{b['link']}" if b["link"] else b["product_id"]
        parts.append(f'<rect class="band" x="{x0:.1f}" y="{pad_t}" width="{max(1.0, x1 - x0):.1f}" height="{h}" '
                     f'fill="{BAND_COLORS[i % len(BAND_COLORS)]}"><title>{_e(label)} {_e(b["title"])}</title></rect>')
        parts.append(f'<text x="{x0 + 3:.1f}" y="{pad_t - 8}" fill="#d0d6dd">{_e(label)}</text>')
    for k in range(5):
        y = pad_t + h * (1 - k / 4)
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y:.1f}" y2="{y:.1f}" stroke="#2a323c"/>')
        parts.append(f'<text x="4" y="{y + 4:.1f}" fill="#9aa5b1">{peak * k / 4:.0f}</text>')
    bar_w = max(1.0, w / n - 1)
    order = sorted(tl["intents"], key=lambda k: list(COLORS).index(k) if k in COLORS else 99)
    for i in range(n):
        base = 0
        for name in order:
            v = tl["intents"][name][i]
            if not v:
                continue
            y = pad_t + h * (1 - (base + v) / peak)
            parts.append(f'<rect x="{x(i * tl["minute_s"]):.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                         f'height="{h * v / peak:.1f}" fill="{COLORS.get(name, "#ced4da")}"/>')
            base += v
    for c in tl["cards"]:
        cx = x(min(c["t_s"], span_s))
        parts.append(f'<path class="card-moment" d="M{cx:.1f} {pad_t + h + 2} l-4 8 h8 z" fill="#ffb020">'
                     f'<title>{_e(_mmss(c["t_s"]))} {_e(t("cards.kind." + str(c["kind"])))} {_e(c["title"])}</title></path>')
    step = max(1, n // 10)
    for i in range(0, n + 1, step):
        parts.append(f'<text x="{x(i * tl["minute_s"]):.1f}" y="{height - 4}" fill="#9aa5b1">{i}′</text>')
    parts.append("</svg>")
    return "".join(parts)


def products_svg(review: dict[str, Any], t: Labels, width: int = 1000) -> str:
    """Purchase-intent comments per minute on stage, one bar per product."""
    rows = [p for p in review["products"] if p["purchase_per_min_on_stage"] is not None]
    height = 40 + 28 * max(1, len(rows))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-products" viewBox="0 0 {width} {height}" '
             f'font-family="{FONT}" font-size="13">']
    if not rows:
        parts.append(f'<text x="10" y="30" fill="#9aa5b1">{_e(t("review.no_stage"))}</text></svg>')
        return "".join(parts)
    peak = max(1.0, max(p["purchase_per_min_on_stage"] for p in rows))
    for i, p in enumerate(rows):
        y = 20 + i * 28
        bw = (width - 360) * p["purchase_per_min_on_stage"] / peak
        name = (f"#{p['link']} " if p["link"] else "") + str(p["title"])[:18]
        parts.append(f'<text x="6" y="{y + 15}" fill="#f4f6f8">{_e(name)}</text>')
        parts.append(f'<rect x="250" y="{y}" width="{bw:.1f}" height="20" rx="3" fill="#20c997"/>')
        parts.append(f'<text x="{256 + bw:.1f}" y="{y + 15}" fill="#d0d6dd">{p["purchase_per_min_on_stage"]} / min · '
                     f'{_e(_mmss(p["on_stage_s"]))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def audience_svg(review: dict[str, Any], t: Labels, width: int = 1000, height: int = 200) -> str:
    """The viewer curve from the room statistics sent during the show."""
    pts = [p for p in review["audience"]["points"] if p["viewers"] is not None]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-audience" viewBox="0 0 {width} {height}" '
             f'font-family="{FONT}" font-size="12">']
    if not pts:
        parts.append(f'<text x="10" y="30" fill="#9aa5b1">{_e(t("review.no_stats"))}</text></svg>')
        return "".join(parts)
    span = max(1.0, review["show"]["duration_s"], max(p["t_s"] for p in pts))
    peak = max(1, max(p["viewers"] for p in pts))
    xy = [(44 + (width - 54) * p["t_s"] / span, 10 + (height - 40) * (1 - p["viewers"] / peak)) for p in pts]
    parts.append(f'<text x="4" y="20" fill="#9aa5b1">{peak}</text>')
    parts.append('<polyline fill="none" stroke="#74c0fc" stroke-width="2.5" points="'
                 + " ".join(f"{a:.1f},{b:.1f}" for a, b in xy) + '"/>')
    parts.append("</svg>")
    return "".join(parts)


CSS = "body{margin:0;background:#101418;color:#f4f6f8;font:16px/1.5 " + FONT + "}\n" + """header{padding:16px 24px;background:#1b2128;border-bottom:1px solid #2a323c}
h1{margin:0;font-size:24px} h2{font-size:19px;margin:0 0 10px}
main{padding:16px 24px;display:grid;gap:16px;max-width:1100px}
section{background:#1b2128;border-radius:14px;padding:16px}
.meta{color:#9aa5b1;font-size:14px} .chart{width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;font-size:14px} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #2a323c}
th{color:#9aa5b1;font-weight:600} td.n{text-align:right;font-variant-numeric:tabular-nums}
.legend{display:flex;flex-wrap:wrap;gap:12px;font-size:13px;color:#9aa5b1;margin-top:6px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:4px}
.empty{color:#9aa5b1} ol.suggestions li{margin:6px 0} .why{color:#9aa5b1;font-size:13px}
.handoff{color:#ff8a95} .term{background:#3a2030;border-radius:4px;padding:0 4px}
"""


def render_html(review: dict[str, Any], labels: Mapping[str, str], lang: str = "zh-CN") -> str:
    """The whole review as one HTML document (no external resources)."""
    t = Labels(labels)
    s = review["show"]
    out = [f'<!doctype html><html lang="{_e(lang)}"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f'<title>{_e(t("review.page_title"))} · {_e(s["title"] or s["room_id"])}</title><style>{CSS}</style></head><body>',
           f'<header><h1 id="review-title">{_e(t("review.page_title"))} · {_e(s["title"] or s["room_id"])}</h1>'
           f'<div class="meta" id="review-meta">{_e(t("review.meta", show=s["id"], duration=_mmss(s["duration_s"]), comments=s["comments"], commenters=s["commenters"]))}'
           f'{"" if s["ended"] else " · " + _e(t("review.not_ended"))}</div></header><main>']
    # suggestions first: what the team acts on
    out.append(f'<section id="suggestions"><h2>{_e(t("review.suggestions"))}</h2>')
    if review["suggestions"]:
        out.append('<ol class="suggestions">' + "".join(
            f'<li>{_e(suggestion_text(x, t))} <span class="why">({_e(t("review.from_section", section=t("review." + x["section"])))})</span></li>'
            for x in review["suggestions"]) + "</ol>")
    else:
        out.append(f'<p class="empty">{_e(t("review.empty"))}</p>')
    out.append("</section>")
    legend = "".join(f'<span><i style="background:{COLORS.get(k, "#ced4da")}"></i>{_e(t.intent(k))}</span>'
                     for k in review["timeline"]["intents"])
    out.append(f'<section id="timeline"><h2>{_e(t("review.timeline"))}</h2><p class="meta">{_e(t("review.timeline_help"))}</p>'
               f'{timeline_svg(review, t)}<div class="legend">{legend}</div></section>')
    out.append(f'<section id="products"><h2>{_e(t("review.products"))}</h2>{products_svg(review, t)}')
    cols = ["link", "on_stage", "questions", "purchase_per_min", "complaints", "answered", "handed_off", "impressions", "clicks"]
    out.append("<table><thead><tr>" + "".join(f"<th>{_e(t('review.col.' + c))}</th>" for c in cols) + "</tr></thead><tbody>")
    for p in review["products"]:
        ppm = "—" if p["purchase_per_min_on_stage"] is None else p["purchase_per_min_on_stage"]
        out.append(f'<tr data-product="{_e(p["product_id"])}"><td>{"#" + str(p["link"]) + " " if p["link"] else ""}{_e(p["title"])}</td>'
                   f'<td class="n">{_mmss(p["on_stage_s"])}</td><td class="n">{p["questions"]}</td><td class="n">{ppm}</td>'
                   f'<td class="n">{p["complaints"]}</td><td class="n">{p["answered"]}</td><td class="n">{p["handed_off"]}</td>'
                   f'<td class="n">{p["impressions"]}</td><td class="n">{p["clicks"]}</td></tr>')
    out.append("</tbody></table></section>")
    out.append(f'<section id="question-groups"><h2>{_e(t("review.question_groups"))}</h2>')
    if review["question_groups"]:
        out.append("<table><thead><tr>" + "".join(f"<th>{_e(t('review.col.' + c))}</th>" for c in ("question", "count", "answer"))
                   + "</tr></thead><tbody>")
        for g in review["question_groups"]:
            ans = (f'<span class="handoff">{_e(t("review.handed_off"))}</span> ' if g["handed_off"] else "") + _e(g["answer"] or "—")
            out.append(f'<tr><td>{_e(g["question"])}</td><td class="n">{g["count"]}</td><td>{ans}</td></tr>')
        out.append("</tbody></table>")
    else:
        out.append(f'<p class="empty">{_e(t("review.empty"))}</p>')
    out.append("</section>")
    out.append(f'<section id="gaps"><h2>{_e(t("review.gaps"))}</h2><p class="meta">{_e(t("review.gaps_help"))}</p>')
    if review["gaps"]:
        out.append("<ul>" + "".join(f'<li><b>{_e(g["question"])}</b> ×{g["count"]}'
                                    f'{" · #" + str(g["link"]) if g["link"] else ""}'
                                    f'{" — " + _e(" / ".join(g["examples"][1:4])) if len(g["examples"]) > 1 else ""}</li>'
                                    for g in review["gaps"]) + "</ul>")
    else:
        out.append(f'<p class="empty">{_e(t("review.no_gaps"))}</p>')
    out.append("</section>")
    out.append(f'<section id="compliance"><h2>{_e(t("review.compliance"))}</h2>')
    if review["compliance"]:
        out.append("<ul>")
        for c in review["compliance"]:
            terms = " ".join(f'<span class="term">{_e(f.get("term"))}</span>→{_e(f.get("suggestion"))}' for f in c["findings"])
            out.append(f'<li>{_mmss(c["t_s"])} 「{_e(c["text"])}」 {terms}</li>')
        out.append("</ul>")
    else:
        out.append(f'<p class="empty">{_e(t("review.no_compliance"))}</p>')
    out.append("</section>")
    aud = review["audience"]
    rate = "—" if aud["interaction_rate"] is None else f'{aud["interaction_rate"] * 100:.1f}%'
    out.append(f'<section id="audience"><h2>{_e(t("review.audience"))}</h2>'
               f'<p class="meta">{_e(t("review.audience_meta", rate=rate, peak=aud["peak_viewers"] or "—"))}</p>'
               f'{audience_svg(review, t)}</section>')
    out.append('<script type="application/json" id="review-data">'
               + json.dumps(review, ensure_ascii=False).replace("</", "<\\/") + "</script>")
    out.append("</main></body></html>")
    return "".join(out)


def render_csv(review: dict[str, Any]) -> str:
    """The review's tables in one long CSV: section, key, metric, value."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "key", "metric", "value"])
    for name, series in review["timeline"]["intents"].items():
        for minute, n in enumerate(series):
            w.writerow(["timeline", minute, name, n])
    for p in review["products"]:
        for metric, value in p.items():
            if metric != "product_id":
                w.writerow(["products", p["product_id"], metric, value])
    for g in review["question_groups"]:
        w.writerow(["question_groups", g["group_id"], "count", g["count"]])
        w.writerow(["question_groups", g["group_id"], "question", g["question"]])
        w.writerow(["question_groups", g["group_id"], "answer", g["answer"]])
    for g in review["gaps"]:
        w.writerow(["gaps", g["question"], "count", g["count"]])
    for c in review["compliance"]:
        w.writerow(["compliance", c["t_s"], "text", c["text"]])
    for i, s in enumerate(review["suggestions"]):
        w.writerow(["suggestions", i + 1, s["key"], json.dumps(s["values"], ensure_ascii=False)])
    return buf.getvalue()
