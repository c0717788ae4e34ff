"""Cross-sell recommendations from purchase history, re-ranked by what is live."""
