"""ALS trained by Spark MLlib (pyspark, local mode by default), saved as the `implicit` ALS model is.

`SparkALSRecommender` is an `ALSRecommender` whose `fit` hands the same confidence-weighted
user × item matrix to `pyspark.ml.recommendation.ALS(implicitPrefs=True)` and collects its
factors back in the dense id order; everything else (user factors recomputed from a history,
scores, `save`/`load` with `np.savez`) is inherited, so the artifact is the one the server loads.
Java 17 must be on PATH (Debian's `openjdk-17-jre-headless`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from recsys.als import ALSRecommender
from recsys.data import Interactions


class SparkALSRecommender(ALSRecommender):
    """Implicit ALS fitted by Spark MLlib; same weighting, parameters and artifact as `ALSRecommender`."""

    kind: ClassVar[str] = "als"  # same artifact: the server loads it as the ALS model

    def __init__(self, *args: Any, master: str = "local[2]", spark_conf: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.master = master
        self.spark_conf = dict(spark_conf or {})

    def _session(self) -> Any:
        from pyspark.sql import SparkSession

        builder = (SparkSession.builder.master(self.master).appName("cuecard-als")
                   .config("spark.ui.enabled", "false").config("spark.driver.memory", "2g")
                   .config("spark.sql.shuffle.partitions", "4")
                   # ALS's lineage grows with every iteration: a deeper stack plus checkpoints (below)
                   .config("spark.driver.extraJavaOptions", "-Xss16m"))
        for key, value in self.spark_conf.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        import tempfile

        spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="cuecard-spark-ckpt-"))
        return spark

    def fit(self, data: Interactions) -> SparkALSRecommender:
        """Weight the counts as `ALSRecommender` does, then fit Spark's implicit ALS on the weights."""
        from pyspark.ml.recommendation import ALS

        ui = data.user_items
        n_users = max(ui.shape[0], 1)
        self.idf = (np.log(n_users) - np.log1p(np.bincount(ui.indices, minlength=ui.shape[1]))).astype(np.float32)
        self.idf = np.maximum(self.idf, 0.0)
        self.avg_len = float(np.asarray(ui.sum(axis=1)).mean()) or 1.0
        weighted = self._weigh_rows(ui).tocoo()
        spark = self._session()
        # Plain rows, not pandas: pyspark warns about (and does not fully support) pandas 3.
        rows = list(zip(weighted.row.tolist(), weighted.col.tolist(), weighted.data.tolist(), strict=True))
        df = spark.createDataFrame(rows, "user INT, item INT, rating FLOAT")
        als = ALS(rank=self.factors, maxIter=self.iterations, regParam=self.regularization, alpha=self.alpha,
                  implicitPrefs=True, userCol="user", itemCol="item", ratingCol="rating", seed=self.random_state,
                  nonnegative=False, coldStartStrategy="drop", checkpointInterval=5)
        model = als.fit(df)
        self.user_factors = _dense(model.userFactors.collect(), ui.shape[0], self.factors)
        self.item_factors = _dense(model.itemFactors.collect(), ui.shape[1], self.factors)
        self._yty = None
        return self


def _dense(rows: list[Any], n: int, k: int) -> np.ndarray:
    """Spark's (id, features) rows as an n × k array in id order (ids it never saw stay zero)."""
    out = np.zeros((n, k), np.float32)
    for row in rows:
        out[row["id"]] = np.asarray(row["features"], np.float32)
    return out
