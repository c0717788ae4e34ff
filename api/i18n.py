"""Page labels per language: the chosen dictionary is inlined into a page so `t()` works at once.

Labels live in `api/static/i18n/<lang>.json` (flat, namespaced keys). The language is `?lang=`,
else the browser's `Accept-Language`, else Simplified Chinese.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"


def normalise(tag: str | None) -> str | None:
    """The supported language a tag like `en-US` or `zh` means, or None."""
    t = (tag or "").strip().lower()
    if t.startswith("zh"):
        return "zh-CN"
    if t.startswith("en"):
        return "en"
    return None


def choose(query_lang: str | None, accept_language: str | None) -> str:
    """The page language: `?lang=` first, then the browser's preferences in order, then zh-CN."""
    if query_lang and normalise(query_lang):
        return normalise(query_lang) or DEFAULT
    for part in (accept_language or "").split(","):
        lang = normalise(part.split(";")[0])
        if lang:
            return lang
    return DEFAULT


@lru_cache(maxsize=4)
def _read(lang: str, mtime: float) -> dict[str, str]:
    return dict(json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8")))


def labels(lang: str) -> dict[str, str]:
    """The labels of a language (re-read when the file changes, so edits show without a restart)."""
    path = STATIC / "i18n" / f"{lang}.json"
    return _read(lang, path.stat().st_mtime)


def t(lang: str, key: str, **values: object) -> str:
    """One label with `{name}` placeholders filled (the key itself when it is unknown)."""
    text = labels(lang).get(key, key)
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def render(html: str, lang: str) -> str:
    """A page's HTML with its language set and the dictionary inlined ahead of i18n.js."""
    blob = json.dumps({"lang": lang, "labels": labels(lang)}, ensure_ascii=False).replace("</", "<\\/")
    html = html.replace('<html lang="zh-CN">', f'<html lang="{lang}">', 1)
    return html.replace("<head>", f"<head>\n<script>window.CUECARD_I18N = {blob};</script>", 1)
