"""Which products a question names: "耳机保修多久" is about the earbuds, whatever the room sells.

Each product's brand, title and `short_name` words are remembered; a question's words are
matched against them. A word shared by many products says little, so each matched word counts
log(1 + P/df) (P products, df of them with that word); the products with the best total are
the ones meant, several when they tie.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from knowledge.lexical import Analyzer


class ProductMentions:
    """Product title and brand words → products, and the products a question names."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self._words: dict[str, set[str]] = {}  # word → the products it names
        self._names: dict[str, set[str]] = {}  # product → its words, so forgetting one touches only those

    def learn(self, products: Iterable[dict[str, Any]]) -> None:
        """Remember (or refresh) the words that name each product."""
        for p in products:
            self.forget(p["id"])
            text = f"{p.get('brand') or ''} {p['title']} {(p.get('attributes') or {}).get('short_name', '')}"
            words = {w for w in self.analyzer.words(text) if len(w) >= 2}
            self._names[p["id"]] = words
            for word in words:
                self._words.setdefault(word, set()).add(p["id"])

    def forget(self, product_id: str) -> None:
        """Stop naming a product."""
        for word in self._names.pop(product_id, ()):
            ids = self._words[word]
            ids.discard(product_id)
            if not ids:
                del self._words[word]

    def named(self, query: str | list[str]) -> set[str]:
        """The products a question (text, or its analysed words) names; empty when none."""
        totals: dict[str, float] = {}
        n = max(len(self._names), 1)
        words = self.analyzer.words(query) if isinstance(query, str) else query
        for word in set(words):
            ids = self._words.get(word)
            if ids:
                weight = math.log(1.0 + n / len(ids))
                for pid in ids:
                    totals[pid] = totals.get(pid, 0.0) + weight
        if not totals:
            return set()
        best = max(totals.values())
        return {pid for pid, total in totals.items() if total >= best - 1e-9}
