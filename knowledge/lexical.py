"""Lexical retrieval: BM25 over jieba tokens, with the shop's product and brand words added.

`Analyzer` turns a text into search terms: NFKC, lower case, jieba's search-mode cut (long words
and their parts), stop words dropped, and shop slang folded onto one canonical word by the
synonym list in `knowledge/data/synonyms.txt` ("质保" and "保修" are the same term), plus the
character bigrams of every run of Chinese characters, so a segmentation slip still leaves
overlapping terms. Each analyzer owns its own jieba dictionary, so one shop's product words
never leak into another's.

`BM25Index` is an inverted index over integer slots that the caller assigns (the knowledge base
shares them with its FAISS ids); adding or removing one document touches only its own terms,
so the index follows every change without a rebuild.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import jieba
import numpy as np

SYNONYMS_FILE = Path(__file__).parent / "data" / "synonyms.txt"

# Function words and live-room filler that carry no retrieval signal.
_STOPWORD_TEXT = (
    "的 了 吗 呢 吧 啊 呀 哦 喔 哈 嘛 么 啦 哇 噢 嗯 呗 是 在 有 和 与 或 就 都 也 还 又 把 被 给 让 "
    "我 你 他 她 它 我们 你们 他们 这 那 这个 那个 这款 那款 这种 一下 一个 个 请问 问下 问一下 想问 "
    "主播 家人们 家人 宝宝们 宝宝 姐妹们 姐妹 亲 亲们 老铁 老铁们 小姐姐 大家 能 能不能 可以 可不可以 "
    "会 会不会 要 想 吗吗 不 没 没有 多 么么 呐 哈哈 哈哈哈 嘿 诶 额 呃 怎么 怎么样 咋 咋样 啥 什么 "
    "如何 为什么 为啥 几 多少 哪 哪个 哪些 啊啊 呀呀 下 一 上 里 中"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_TOKEN_OK = re.compile(r"[\w%\u4e00-\u9fff]")


@functools.lru_cache(maxsize=1)
def _base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's default dictionary, loaded once per process and copied into each analyzer."""
    jieba.setLogLevel(logging.WARNING)
    base = jieba.Tokenizer()
    base.initialize()
    return base.FREQ, base.total


def load_synonyms(path: Path = SYNONYMS_FILE) -> dict[str, str]:
    """Variant → canonical word, from lines `canonical: variant variant …` (`#` starts a comment)."""
    mapping: dict[str, str] = {}
    if not path.is_file():
        return mapping
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        canonical, variants = line.split(":", 1)
        canonical = canonical.strip().lower()
        for variant in variants.split():
            mapping[variant.strip().lower()] = canonical
    return mapping


class Analyzer:
    """Text → search terms, with a private jieba dictionary that the shop's words extend."""

    def __init__(self, words: Iterable[str] = (), synonyms: dict[str, str] | None = None,
                 bigrams: bool = True) -> None:
        self.bigrams = bigrams
        freq, total = _base_dictionary()
        self._jieba = jieba.Tokenizer()
        self._jieba.FREQ, self._jieba.total = dict(freq), total  # a private copy: add_word mutates it
        self._jieba.initialized = True
        self._lock = threading.Lock()  # jieba's add_word and cut share mutable state
        self.synonyms = load_synonyms() if synonyms is None else synonyms
        self.custom: set[str] = set()
        self.add_words(list(self.synonyms) + list(set(self.synonyms.values())))
        self.add_words(words)

    def add_words(self, words: Iterable[str]) -> int:
        """Teach the segmenter shop words (product names, brands); return how many were new."""
        added = 0
        with self._lock:
            for word in words:
                word = unicodedata.normalize("NFKC", str(word)).strip().lower()
                if 2 <= len(word) <= 16 and " " not in word and word not in self.custom:
                    self._jieba.add_word(word, freq=max(self._jieba.suggest_freq(word), 10))
                    self.custom.add(word)
                    added += 1
        return added

    def words(self, text: str) -> list[str]:
        """The words of a text (jieba search mode, stop words dropped, slang folded), repeats kept."""
        text = unicodedata.normalize("NFKC", text).lower()
        with self._lock:
            pieces = list(self._jieba.tokenize(text, mode="search", HMM=False))
        kept: list[tuple[str, int, int]] = []  # (folded word, start, end) in the text
        for piece, begin, stop in pieces:
            piece = piece.strip()
            if not piece or piece in STOPWORDS or not _TOKEN_OK.search(piece):
                continue
            folded = self.synonyms.get(piece, piece)
            if folded != piece:
                # Search mode yields a word's sub-words just before it; a folded phrase's are not
                # the shop's meaning ("几天能到" is 送达, not 几天 + 能到), so they would only dilute it.
                while kept and begin <= kept[-1][1] and kept[-1][2] <= stop:
                    kept.pop()
            kept.append((folded, begin, stop))
        return [word for word, _, _ in kept]

    @staticmethod
    def char_bigrams(text: str) -> list[str]:
        """The character bigrams of each run of Chinese characters.

        They catch what a segmentation misses ("烤红薯" vs "红薯"); measured on both evaluation
        sets, they raise lexical and fused recall (docs/benchmarks.md).
        """
        out: list[str] = []
        for run in _CJK_RUN.findall(unicodedata.normalize("NFKC", text)):
            out += [run[i:i + 2] for i in range(len(run) - 1)]
        return out

    def terms(self, text: str, bigrams: bool | None = None) -> list[str]:
        """The search terms of a text, in order, repeats kept (they are BM25's term frequencies)."""
        out = self.words(text)
        if self.bigrams if bigrams is None else bigrams:
            out += self.char_bigrams(text)
        return out


class BM25Index:
    """Okapi BM25 over caller-assigned integer slots, updated one document at a time."""

    def __init__(self, analyzer: Analyzer, k1: float = 1.2, b: float = 0.75) -> None:
        self.analyzer = analyzer
        self.k1, self.b = k1, b
        self._postings: dict[str, dict[int, int]] = {}
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # term → (slots, tfs), rebuilt lazily
        self._doc_terms: dict[int, Counter[str]] = {}
        self._doclen = np.zeros(0, dtype=np.float32)
        self._total_len = 0

    def __len__(self) -> int:
        return len(self._doc_terms)

    def __contains__(self, slot: int) -> bool:
        return slot in self._doc_terms

    @property
    def capacity(self) -> int:
        """One past the highest slot the index has room for."""
        return len(self._doclen)

    def add(self, slot: int, text: str) -> None:
        """Index a document's text under `slot` (replacing what that slot held)."""
        if slot in self._doc_terms:
            self.remove(slot)
        counts = Counter(self.analyzer.terms(text))
        if slot >= len(self._doclen):
            grown = np.zeros(max(slot + 1, 2 * len(self._doclen), 64), dtype=np.float32)
            grown[: len(self._doclen)] = self._doclen
            self._doclen = grown
        length = sum(counts.values())
        self._doclen[slot] = length
        self._total_len += length
        self._doc_terms[slot] = counts
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[slot] = tf
            self._arrays.pop(term, None)

    def remove(self, slot: int) -> None:
        """Forget the document at `slot` (no-op when empty)."""
        counts = self._doc_terms.pop(slot, None)
        if counts is None:
            return
        self._total_len -= int(self._doclen[slot])
        self._doclen[slot] = 0
        for term in counts:
            posting = self._postings.get(term)
            if posting is not None:
                posting.pop(slot, None)
                if not posting:
                    del self._postings[term]
            self._arrays.pop(term, None)

    def _posting_arrays(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        arrays = self._arrays.get(term)
        if arrays is None:
            posting = self._postings.get(term)
            if not posting:
                return None
            arrays = (np.fromiter(posting.keys(), dtype=np.int64, count=len(posting)),
                      np.fromiter(posting.values(), dtype=np.float32, count=len(posting)))
            self._arrays[term] = arrays
        return arrays

    def idf(self, term: str) -> float:
        """Inverse document frequency (the non-negative BM25 form); 0 for an unknown term."""
        df = len(self._postings.get(term, ()))
        if not df:
            return 0.0
        n = len(self._doc_terms)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def scores(self, query: str | list[str], size: int | None = None,
               optional: Iterable[str] = ()) -> tuple[np.ndarray, float]:
        """BM25 score of every slot (array of `size`, default capacity) and the query's best possible score.

        The ratio of a score to the best possible one (every query term present at a typical
        length) says how much of the query's information a document covers, on a 0–1 scale that
        does not depend on the collection; the knowledge base fuses and calibrates on it. A query
        word no document has still counts in the best score ("推荐个电视剧" must not look fully
        covered because one word matched), except `optional` terms (character bigrams: an
        unseen "邮吗" is noise, not missing information).
        """
        terms = set(self.analyzer.terms(query) if isinstance(query, str) else query)
        optional = set(optional)
        out = np.zeros(size if size is not None else self.capacity, dtype=np.float32)
        if not self._doc_terms or not terms:
            return out, 0.0
        avgdl = max(self._total_len / len(self._doc_terms), 1.0)
        n = len(self._doc_terms)
        unseen_idf = math.log(1.0 + (n + 0.5) / 0.5)
        best = 0.0
        for term in terms:
            arrays = self._posting_arrays(term)
            if arrays is None:
                if term not in optional:
                    best += unseen_idf
                continue
            slots, tfs = arrays
            idf = self.idf(term)
            norm = self.k1 * (1.0 - self.b + self.b * self._doclen[slots] / avgdl)
            out[slots] += idf * tfs * (self.k1 + 1.0) / (tfs + norm)
            best += idf
        return out, best
