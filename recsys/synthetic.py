"""Synthetic purchase histories: small ones with a known right answer (tests), large ones for benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.data import Interactions

GROUPS, PER_GROUP, USERS_PER_GROUP = 5, 4, 20


def grouped_frame(seed: int = 0) -> tuple[pd.DataFrame, dict[str, str]]:
    """Users buy only within their item group; one test user per group never bought the group's last item.

    Returns the canonical frame and {test user → the withheld item}.
    """
    rng = np.random.default_rng(seed)
    rows = []
    withheld = {}
    for g in range(GROUPS):
        items = [f"g{g}i{j}" for j in range(PER_GROUP)]
        for u in range(USERS_PER_GROUP):
            user = f"u{g}_{u}"
            owned = items[:-1] if u == 0 else items
            if u == 0:
                withheld[user] = items[-1]
            for b in range(4):
                # the first basket holds every owned item once; later ones a random three
                basket = list(owned) if b == 0 else list(rng.choice(owned, size=min(3, len(owned)), replace=False))
                rows += [{"user": user, "item": item, "basket": f"{user}-b{b}", "seq": float(b), "quantity": 1.0}
                         for item in basket]
    return pd.DataFrame(rows), withheld


def grouped() -> tuple[Interactions, dict[str, str]]:
    """`grouped_frame` packed as Interactions."""
    frame, withheld = grouped_frame()
    return Interactions.from_frame(frame), withheld


def shop_history(n_users: int, n_items: int, n_lines: int, seed: int = 0, basket_size: int = 10,
                 n_tastes: int = 50) -> Interactions:
    """A large shop-like history: Zipf item popularity, users with a taste cluster and habits they rebuy.

    Each user has a taste (a cluster of items) and a few staples; a basket mixes staples (repeats),
    taste items and popular items, so every model has some signal to find.
    """
    rng = np.random.default_rng(seed)
    wanted = n_lines
    n_lines = int(n_lines * 1.5)  # drawn with room to spare: repeats inside a basket collapse below
    n_baskets = max(n_lines // basket_size, n_users)
    basket_user = np.concatenate([np.arange(n_users), rng.integers(0, n_users, n_baskets - n_users)])
    basket_user.sort(kind="stable")
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    pop /= pop.sum()
    taste_of_item = rng.integers(0, n_tastes, n_items)
    user_taste = rng.integers(0, n_tastes, n_users)
    staples = rng.choice(n_items, size=(n_users, 8), p=pop)
    line_basket = np.repeat(np.arange(n_baskets), basket_size)[:n_lines]
    line_user = basket_user[line_basket]
    kind = rng.random(n_lines)
    items = rng.choice(n_items, size=n_lines, p=pop)  # popular
    repeat = kind < 0.5
    items[repeat] = staples[line_user[repeat], rng.integers(0, 8, int(repeat.sum()))]
    taste = (kind >= 0.5) & (kind < 0.8)
    order = np.argsort(taste_of_item, kind="stable")
    starts = np.searchsorted(taste_of_item[order], np.arange(n_tastes))
    sizes = np.bincount(taste_of_item, minlength=n_tastes)
    t = user_taste[line_user[taste]]
    pick = starts[t] + (rng.random(int(taste.sum())) * np.maximum(sizes[t], 1)).astype(np.int64)
    items[taste] = order[np.minimum(pick, n_items - 1)]
    frame = pd.DataFrame({"user": line_user.astype(str), "item": items.astype(str),
                          "basket": line_basket.astype(str), "seq": line_basket.astype(float), "quantity": 1.0})
    frame = frame.drop_duplicates(["user", "basket", "item"])
    if len(frame) > wanted:  # drop the surplus at random, so every user keeps a share of lines
        keep = np.sort(rng.choice(len(frame), wanted, replace=False))
        frame = frame.iloc[keep]
    return Interactions.from_frame(frame)
