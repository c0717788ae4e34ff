"""Cross-sell recommendations from purchase history, re-ranked by what is live."""

from recsys.base import Recommender
from recsys.blend import BlendParams, BlendRecommender
from recsys.data import Columns, Interactions, LoadReport, read_purchases
from recsys.service import Recommendation, RecommendationService

__all__ = ["BlendParams", "BlendRecommender", "Columns", "Interactions", "LoadReport", "Recommendation",
           "RecommendationService", "Recommender", "read_purchases"]
