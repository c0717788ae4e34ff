"""Live re-ranking: what the model proposes, adjusted to what is happening in the room right now.

Rules, in order:
1. an item whose product is out of stock (known product, stock ≤ 0) is never shown;
2. a non-consumable the viewer already bought is never shown again (consumables are: people rebuy
   them); items the catalogue does not know are treated as consumable;
3. the rest are scored: the model's score scaled to [0, 1], plus a boost for the product on stage
   (reason `live_now`), for the room's line-up and for the products the room's comments ask about
   (`room_interest`, reason `popular_in_room`), and for what is bought together with the product
   on stage (`bought_together`). The reason shown is the largest live boost when there is one,
   else the model's own reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REASONS = ("bought_together", "because_you_bought", "popular_in_room", "live_now", "popular")


@dataclass
class Candidate:
    """An item proposed for the list, with the model's score and why the model proposed it."""

    item_id: str
    score: float
    reason: str


@dataclass(frozen=True)
class LiveWeights:
    """How much each live signal adds to a model score scaled to [0, 1]."""

    on_stage: float = 1.0
    lineup: float = 0.25
    interest: float = 0.6
    with_on_stage: float = 0.4


def available(product: Mapping[str, Any] | None) -> bool:
    """False only for a known product with no stock left."""
    return product is None or int(product.get("stock") or 0) > 0


def rerank(candidates: list[Candidate], products: Mapping[str, Mapping[str, Any]], k: int, *,
           on_stage: str | None = None, lineup: list[str] | None = None,
           room_interest: Mapping[str, float] | None = None,
           with_on_stage: Mapping[str, float] | None = None, bought: set[str] | None = None,
           weights: LiveWeights = LiveWeights()) -> list[Candidate]:
    """Filter and re-score candidates by the live rules above; return the best `k`."""
    lineup_set = set(lineup or [])
    interest = dict(room_interest or {})
    top_interest = max((v for v in interest.values() if v > 0), default=0.0)
    together = dict(with_on_stage or {})
    top_together = max((v for v in together.values() if v > 0), default=0.0)
    top_score = max((c.score for c in candidates if c.score > 0), default=0.0)
    bought = bought or set()
    live_ids = lineup_set | set(interest) | set(together) | ({on_stage} if on_stage else set())
    out: list[Candidate] = []
    seen: set[str] = set()
    for c in candidates:
        if c.item_id in seen:
            continue
        seen.add(c.item_id)
        product = products.get(c.item_id)
        if not available(product):
            continue
        if c.item_id in bought and product is not None and not product.get("consumable", False):
            continue
        base = c.score / top_score if top_score > 0 else 0.0
        if not live_ids or c.item_id not in live_ids:  # most candidates: nothing live to weigh
            out.append(Candidate(c.item_id, base, c.reason))
            continue
        live: dict[str, float] = {}
        if c.item_id == on_stage:
            live["live_now"] = weights.on_stage
        room = weights.lineup if c.item_id in lineup_set else 0.0
        if top_interest > 0 and interest.get(c.item_id, 0.0) > 0:
            room += weights.interest * interest[c.item_id] / top_interest
        if room:
            live["popular_in_room"] = room
        if top_together > 0 and together.get(c.item_id, 0.0) > 0:
            live["bought_together"] = weights.with_on_stage * together[c.item_id] / top_together
        # a live signal, when there is one, is the reason worth showing: it is why the item is here now
        reason = max(live, key=lambda r: live[r]) if live else c.reason
        out.append(Candidate(c.item_id, base + sum(live.values()), reason))
    out.sort(key=lambda c: (-c.score, c.item_id))
    return out[:k]
