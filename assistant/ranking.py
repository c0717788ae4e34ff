"""Answer selection: candidates from the retrieved documents, their sentences and the product's own
fields; a reranker that reads the question's frame and each candidate together; a calibrated
confidence and a hand-off threshold chosen for a precision target.

Features of a (question, candidate) pair: does the candidate state what the frame asks (a number
with a unit for a quantity, size words for a size, 天/小时 for a delivery time…), how many of the
question's key character pairs it covers, its kind, and its retrieval score and rank. A talking
point that does not state the asked thing scores low by construction of the data: it is never the
fallback for a fact. The model is a logistic regression; `fit` scores every training question
out of fold (folds by product) and fits an isotonic map from the best candidate's score to
"that answer is right" (unanswerable questions are never right), so `confidence` is P(right);
the threshold is the lowest calibrated confidence at which the out-of-fold precision meets the
target. Saved as JSON (coefficients, the isotonic steps, the threshold), never pickled.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.kb import Hit

__all__ = ["Candidate", "Ranker", "candidates", "features", "states"]

RANKER_VERSION = 1
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "ranker.json"
KINDS = ("faq", "policy", "talking_point", "product_fact", "field")
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
# What a candidate must contain to state what a frame asks for.
_STATES: dict[str, re.Pattern[str]] = {name: re.compile(p) for name, p in {
    "price": r"\d+\s*元|[¥￥]\s*\d|价",
    "quantity": r"\d+\s*(?:抽|克|g|ml|毫升|片|包|粒|支|只|件|层)|净含量|规格",
    "capacity": r"\d+\s*(?:升|l\b|毫安|mah|小时|人|口人)|容量|续航",
    "size": r"码|尺码|尺寸|身高|体重|厘米|cm|偏大|偏小|宽松|修身|\d+\s*斤",
    "weight": r"\d+\s*(?:克|公斤|千克|斤|g)|重量",
    "delivery_time": r"\d+\s*(?:天|小时)(?:内|左右)?(?:到|发|送达|能到)|次日|当天|隔天|发货|到货",
    "shipping_area": r"新疆|西藏|青海|偏远|包邮|运费|港澳|海外|全国",
    "courier": r"快递|顺丰|中通|圆通|韵达|申通|邮政|京东",
    "returns": r"退|换|无理由|运费险",
    "warranty": r"保修|质保|换新|维修|保\d|年内",
    "invoice": r"发票",
    "promotion": r"减|送|赠|优惠|券|折|第二件|拍\S件",
    "material": r"面料|材质|材料|棉|不锈钢|木浆|成分|304|皮|塑料|硅胶|玻璃|陶瓷",
    "skin_type": r"肤质|油皮|干皮|混油|混干|敏感|中性",
    "color": r"色",
    "origin": r"产地|产于|生产|国产|进口",
    "shelf_life": r"保质期|\d+\s*(?:年|个月)",
    "taste": r"味|甜|辣|咸|酸|口感",
    "usage": r"用法|洗|步骤|先|之后|取|涂|抹|泡|烧|冲|放",
    "stock": r"库存|现货|有货",
    "compatibility": r"支持|兼容|都能|可以|能用|适用|适合|不建议|不能|不支持",
    "comparison": r"更|比",
}.items()}
_STOP = set("的了吗呢啊呀吧么嘛个这那是有没不能会可以要我你们主播家人请问一下什么怎么多少")


@dataclass(frozen=True)
class Candidate:
    """Something that could answer: a whole document, one of its sentences, or a product field."""

    source: str  # doc id, "product:<id>:<field>"
    kind: str  # a KINDS entry
    product_id: str | None
    text: str
    title: str
    score: float  # retrieval score of the document it came from (0 for fields found only in the row)
    dense: float
    lexical: float
    rank: int  # rank of its document in the retrieval, 0-based; fields 0
    sentence: bool


def states(attribute: str | None, text: str) -> bool:
    """Whether `text` states the thing a frame with that attribute asks for."""
    if attribute is None:
        return False
    pattern = _STATES.get(attribute)
    return bool(pattern and pattern.search(text.lower()))


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text.lower() if c.isalnum() and c not in _STOP]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)} | set(chars)


def candidates(hits: Sequence[Hit], product: dict[str, Any] | None = None) -> list[Candidate]:
    """Documents, their sentences (when a document has more than one) and the product row's fields."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for rank, h in enumerate(hits):
        kind = h.kind if h.kind in KINDS else "faq"
        out.append(Candidate(h.doc_id, kind, h.product_id, h.text, h.title, h.score, h.dense, h.lexical, rank, False))
        seen.add(h.doc_id)
        parts = [s.strip() for s in _SENTENCE.findall(h.text) if s.strip()]
        if len(parts) > 1:
            out.extend(Candidate(h.doc_id, kind, h.product_id, s, h.title, h.score, h.dense, h.lexical, rank, True)
                       for s in parts)
    if product is not None:
        for key, value in (product.get("attributes") or {}).items():
            source = f"product:{product['id']}:{key}"
            if source not in seen and str(value).strip():
                out.append(Candidate(source, "field", product["id"], f"{key}：{value}", f"{product['title']} {key}",
                                     0.0, 0.0, 0.0, len(hits), False))
    return out


FEATURES = ("states", "states_title", "coverage", "coverage_title", "score", "dense", "lexical", "inv_rank",
            "sentence", "framed", "tp_no_state", "same_product", "other_product", "general", *(f"kind_{k}" for k in KINDS))


def features(question: str, attribute: str | None, products: frozenset[str], c: Candidate) -> list[float]:
    """The reranker's feature row for one question and one candidate.

    `products` are the products the question is about (its scope, else the ones it names).
    """
    q = _bigrams(question)
    body, title = _bigrams(c.text), _bigrams(c.title)
    st = states(attribute, c.text)
    return [float(st), float(states(attribute, c.title)), len(q & body) / max(len(q), 1),
            len(q & title) / max(len(q), 1), c.score, c.dense, c.lexical, 1.0 / (1 + c.rank),
            float(c.sentence), float(attribute is not None), float(c.kind == "talking_point" and not st),
            float(c.product_id in products), float(bool(products) and c.product_id is not None
                                                   and c.product_id not in products),
            float(c.product_id is None),
            *(float(c.kind == k) for k in KINDS)]


@dataclass
class Choice:
    """The reranker's pick for one question and its calibrated probability of being right."""

    candidate: Candidate | None
    score: float  # raw reranker probability
    confidence: float  # calibrated P(right)


class Ranker:
    """A logistic reranker with an isotonic calibration map and a precision-targeted threshold."""

    def __init__(self, coef: Sequence[float], intercept: float, iso_x: Sequence[float], iso_y: Sequence[float],
                 threshold: float, target_precision: float = 0.95, conf_coef: Sequence[float] = (),
                 conf_intercept: float = 0.0) -> None:
        self.conf_coef = np.asarray(conf_coef, dtype=np.float64)
        self.conf_intercept = float(conf_intercept)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)
        self.iso_x = np.asarray(iso_x, dtype=np.float64)
        self.iso_y = np.asarray(iso_y, dtype=np.float64)
        self.threshold = float(threshold)
        self.target_precision = target_precision

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Reranker probability of each candidate row."""
        z = rows @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def calibrate(self, score: float) -> float:
        """Calibrated P(right) for a best-candidate score."""
        if self.iso_x.size == 0:
            return score
        return float(np.interp(score, self.iso_x, self.iso_y))

    def choose(self, question: str, attribute: str | None, products: frozenset[str],
               cands: Sequence[Candidate]) -> Choice:
        """The best candidate and its calibrated confidence."""
        if not cands:
            return Choice(None, 0.0, 0.0)
        rows = np.asarray([features(question, attribute, products, c) for c in cands], dtype=np.float64)
        s = self.scores(rows)
        best = int(s.argmax())
        if self.conf_coef.size:
            z = float(question_features(s, rows, cands) @ self.conf_coef + self.conf_intercept)
            return Choice(cands[best], float(s[best]), self.calibrate(1.0 / (1.0 + np.exp(-z))))
        return Choice(cands[best], float(s[best]), self.calibrate(float(s[best])))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"version": RANKER_VERSION, "features": list(FEATURES), "coef": self.coef.tolist(),
                "intercept": self.intercept, "iso_x": self.iso_x.tolist(), "iso_y": self.iso_y.tolist(),
                "threshold": self.threshold, "target_precision": self.target_precision,
                "conf_coef": self.conf_coef.tolist(), "conf_intercept": self.conf_intercept}

    def save(self, path: Path | str) -> None:
        """Write the model as JSON."""
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PATH, target_precision: float | None = None) -> Ranker:
        """Read a saved model; a different target precision re-picks nothing (the saved sweep decides)."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if raw.get("version") != RANKER_VERSION or raw.get("features") != list(FEATURES):
            raise ValueError(f"{path}: ranker of another version or feature set; retrain it")
        ranker = cls(raw["coef"], raw["intercept"], raw["iso_x"], raw["iso_y"], raw["threshold"],
                     raw.get("target_precision", 0.95), raw.get("conf_coef", ()), raw.get("conf_intercept", 0.0))
        if target_precision is not None and raw.get("sweep"):
            ranker.threshold = pick_threshold(raw["sweep"], target_precision)
            ranker.target_precision = target_precision
        return ranker


def question_features(scores: np.ndarray, rows: np.ndarray, cands: Sequence[Candidate]) -> np.ndarray:
    """What the confidence head reads: the best score, its margin, the retrieval's best score, and the pick's traits."""
    order = np.argsort(-scores)
    best = int(order[0])
    # The margin is to the best candidate with another source (a document's own sentences agree with it).
    other = next((float(scores[i]) for i in order[1:] if cands[i].source != cands[best].source), 0.0)
    f = dict(zip(FEATURES, rows[best], strict=True))
    return np.asarray([scores[best], scores[best] - other, max(c.score for c in cands), f["states"],
                       f["coverage"], f["framed"], f["kind_field"] + f["kind_product_fact"], f["kind_talking_point"],
                       f["other_product"]], dtype=np.float64)


def pick_threshold(sweep: Sequence[tuple[float, int]], target: float) -> float:
    """The lowest confidence at which answering everything at or above it meets `target` precision.

    `sweep` is (calibrated confidence, right 0/1) per calibration question (unanswerable: 0).
    """
    ordered = sorted(sweep, key=lambda t: -t[0])
    best = 1.01
    right = 0
    for n, (conf, ok) in enumerate(ordered, 1):
        right += ok
        if right / n >= target:
            best = conf
    return float(best)


@dataclass
class Example:
    """One training question: its candidates, which are right, and its product group for folds."""

    question: str
    attribute: str | None
    products: frozenset[str]
    cands: list[Candidate]
    expected: set[str]
    group: str


def fit(examples: Sequence[Example], target_precision: float = 0.95, folds: int = 5, c: float = 1.0,
        calibration: str = "isotonic") -> tuple[Ranker, dict[str, Any]]:
    """Train the reranker, calibrate it out of fold, and pick the threshold; returns the ranker and the sweep."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    def rows_of(exs: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
        x = [features(e.question, e.attribute, e.products, cand) for e in exs for cand in e.cands]
        y = [int(cand.source in e.expected) for e in exs for cand in e.cands]
        return np.asarray(x, dtype=np.float64), np.asarray(y)

    def train(exs: Sequence[Example]) -> Ranker:
        x, y = rows_of(exs)
        model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x, y)
        return Ranker(model.coef_[0], float(model.intercept_[0]), [], [], 0.0, target_precision)

    groups = sorted({e.group for e in examples})
    fold_of = {g: i % folds for i, g in enumerate(groups)}
    oof: list[tuple[float, int]] = []
    qrows: list[np.ndarray] = []
    qgroups: list[int] = []
    qlabels: list[int] = []
    for f in range(folds):
        held = [e for e in examples if fold_of[e.group] == f]
        rest = [e for e in examples if fold_of[e.group] != f]
        if not held or not rest:
            continue
        model = train(rest)
        for e in held:
            if not e.cands:
                oof.append((0.0, 0))
                continue
            rows = np.asarray([features(e.question, e.attribute, e.products, cand) for cand in e.cands])
            sc = model.scores(rows)
            best = int(sc.argmax())
            ok = int(e.cands[best].source in e.expected)
            oof.append((float(sc[best]), ok))
            qrows.append(question_features(sc, rows, e.cands))
            qgroups.append(f)
            qlabels.append(ok)
    scores = np.asarray([s for s, _ in oof])
    labels = np.asarray([o for _, o in oof])
    if calibration == "isotonic":
        xs = np.unique(scores)
        ys = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, labels).predict(xs)
    else:
        # Platt: a sigmoid of the score's logit, kept as points on a grid so both maps save alike.
        logit = np.log(np.clip(scores, 1e-6, 1 - 1e-6) / np.clip(1 - scores, 1e-6, 1))[:, None]
        platt = LogisticRegression(C=1e4, max_iter=1000).fit(logit, labels)
        xs = np.linspace(0.0, 1.0, 201)
        grid = np.log(np.clip(xs, 1e-6, 1 - 1e-6) / np.clip(1 - xs, 1e-6, 1))[:, None]
        ys = platt.predict_proba(grid)[:, 1]
    ranker = train(examples)
    if calibration == "head":
        # A confidence head on question-level traits, scored out of fold for the threshold sweep.
        qx = np.stack(qrows)
        qy = np.asarray(qlabels)
        pred = np.zeros(len(qrows))
        for f in set(qgroups):
            inside = np.asarray([g == f for g in qgroups])
            head = LogisticRegression(C=1.0, max_iter=2000).fit(qx[~inside], qy[~inside])
            pred[inside] = head.predict_proba(qx[inside])[:, 1]
        head = LogisticRegression(C=1.0, max_iter=2000).fit(qx, qy)
        ranker.conf_coef, ranker.conf_intercept = head.coef_[0], float(head.intercept_[0])
        ranker.iso_x, ranker.iso_y = np.zeros(0), np.zeros(0)
        sweep = [(float(p), int(o)) for p, o in zip(pred, qy, strict=True)]
        sweep += [(0.0, 0)] * (len(oof) - len(qrows))  # questions with no candidate at all
        ranker.threshold = pick_threshold(sweep, target_precision)
        return ranker, {"sweep": sweep, "calibration_questions": len(oof)}
    ranker.iso_x, ranker.iso_y = xs, ys
    sweep = [(ranker.calibrate(s), o) for s, o in oof]
    ranker.threshold = pick_threshold(sweep, target_precision)
    return ranker, {"sweep": sweep, "calibration_questions": len(oof)}


def ece(pairs: Sequence[tuple[float, int]], bins: int = 10) -> tuple[float, list[dict[str, Any]]]:
    """Expected calibration error and the reliability table (per confidence bin: n, mean confidence, share right)."""
    table = []
    total = len(pairs)
    err = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(p, o) for p, o in pairs if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if not inside:
            continue
        conf = sum(p for p, _ in inside) / len(inside)
        acc = sum(o for _, o in inside) / len(inside)
        err += len(inside) / max(total, 1) * abs(conf - acc)
        table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": len(inside), "confidence": round(conf, 4),
                      "right": round(acc, 4)})
    return round(err, 4), table
