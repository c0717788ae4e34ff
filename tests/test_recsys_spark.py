"""Spark MLlib ALS against the same known-answer contract as every recommender (skips without
pyspark or Java), and its artifact loads as the ALS model the server uses."""

from __future__ import annotations

import importlib.util
import shutil

import pytest
from test_recsys_models import RecommenderContract

from recsys.base import Recommender

if importlib.util.find_spec("pyspark") is None:
    pytest.skip("pyspark is not installed (pip install pyspark==4.3.0)", allow_module_level=True)
if shutil.which("java") is None:
    pytest.skip("no Java on PATH (apt-get install openjdk-17-jre-headless)", allow_module_level=True)

pytestmark = pytest.mark.slow


class TestSparkALS(RecommenderContract):
    def make(self) -> Recommender:
        from recsys.spark_als import SparkALSRecommender

        return SparkALSRecommender(factors=8, iterations=30, regularization=0.1, alpha=10.0, weighting="none",
                                   master="local[1]")
