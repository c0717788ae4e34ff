"""Ranking metrics for one user's list: HR, NDCG and Recall at K (binary gain)."""

from __future__ import annotations

import numpy as np


def ranking_metrics(recommended: np.ndarray, relevant: np.ndarray, k: int) -> tuple[float, float, float]:
    """HR, NDCG and Recall at `k` for one user."""
    recs = recommended[:k]
    hits = np.isin(recs, relevant)
    if not len(relevant):
        return 0.0, 0.0, 0.0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(discounts[:len(recs)][hits].sum())
    idcg = float(discounts[:min(len(relevant), k)].sum())
    n_hits = int(hits.sum())
    return float(n_hits > 0), dcg / idcg, n_hits / len(relevant)
