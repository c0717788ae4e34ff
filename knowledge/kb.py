"""The knowledge base: the shop's documents and product facts, searchable by meaning and by words.

Two indexes over the same integer slots: a FAISS inner-product index of the embedder's unit
vectors (`knowledge/dense.py`: fp16 codes, persisted with `faiss.write_index`) and a BM25 index
over jieba tokens (`knowledge/lexical.py`: rebuilt from the texts when the knowledge base opens).
A search takes the best candidates of each, scores every candidate on both, and fuses:
`dense_weight · cosine + (1 − dense_weight) · BM25 coverage`, both absolute 0–1 scales, so the
fused score also says how sure the match is (the answerer's confidence starts from it).

Every document is indexed with its product's title in front, so "耳机保修多久" meets the
earbuds' warranty and not the air fryer's, and documents about the product a question names
get a small bonus (`knowledge/mentions.py`); a search can also be scoped to one product or to a
room's line-up (general documents, with no product, always stay in scope).

Writes go through the knowledge base (`add`, `update`, `delete`, `upsert_products`,
`delete_product`): each updates the store, then both indexes for the documents it touched, then
saves. On opening, `sync` compares the saved index with the store by content hash and embeds
only what changed, so a restart neither loses a change nor re-embeds everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from knowledge.dense import DenseIndex
from knowledge.documents import FACT_PREFIX, product_facts, validate_document, validate_product
from knowledge.embedder import Embedder
from knowledge.errors import InvalidInputError, NotFoundError
from knowledge.lexical import Analyzer, BM25Index
from knowledge.mentions import ProductMentions
from knowledge.store import Store

INDEX_VERSION = 2  # 2: fp16 scalar-quantised codes
MODES = ("fused", "dense", "lexical")


@dataclass(frozen=True)
class Hit:
    """One retrieved document; `score` is the fused score, `dense` the cosine, `lexical` the BM25 coverage."""

    doc_id: str
    score: float
    kind: str
    product_id: str | None
    title: str
    text: str
    dense: float = 0.0
    lexical: float = 0.0


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def _lineup_ids(lineup: Sequence[Any] | None) -> list[str] | None:
    if lineup is None:
        return None
    return [p["id"] if isinstance(p, dict) else str(p) for p in lineup]


class KnowledgeBase:
    """Documents and product facts behind a dense and a lexical index, kept in step with the store."""

    def __init__(self, store: Store, embedder: Embedder, index_dir: Path | str, *,
                 dense_weight: float = 0.75, candidates: int = 50,
                 mention_bonus: float = 0.05, threads: int | None = 1, sync: bool = True) -> None:
        self.mention_bonus = mention_bonus
        if threads is not None:
            # One query at a time gains nothing from OpenMP, and under CPU contention its spinning
            # threads made a 10,000-document search 40x slower (process-wide setting).
            faiss.omp_set_num_threads(threads)
        self.store = store
        self.embedder = embedder
        self.index_dir = Path(index_dir)
        self.dense_weight = dense_weight
        self.candidates = candidates
        self._lock = threading.RLock()
        self.analyzer = Analyzer()
        self._reset()
        if sync:
            self.sync()

    # ---- state ----
    def _reset(self) -> None:
        self._dense = DenseIndex(self.embedder.dim)
        self._lexical = BM25Index(self.analyzer)
        self.mentions = ProductMentions(self.analyzer)
        self._slot_of: dict[str, int] = {}
        self._docs: dict[int, dict[str, Any]] = {}  # slot → document (+ "hash")
        self._free: list[int] = []
        self._next_slot = 0
        self._codes: dict[str, int] = {}  # product id → code carried by its slots

    def __len__(self) -> int:
        return len(self._docs)

    @property
    def _paths(self) -> tuple[Path, Path]:
        return self.index_dir / "kb.faiss", self.index_dir / "kb.json"

    def _code(self, product_id: str | None) -> int:
        if product_id is None:
            return -1
        return self._codes.setdefault(product_id, len(self._codes))

    def _index_text(self, doc: dict[str, Any], titles: dict[str, str]) -> str:
        product_title = titles.get(doc["product_id"] or "", "")
        parts = [product_title, doc.get("title") or "", doc["text"]]
        return " ".join(p for p in parts if p)

    # ---- low-level writes (caller holds the lock) ----
    def _remove_slot(self, doc_id: str) -> None:
        slot = self._slot_of.pop(doc_id, None)
        if slot is None:
            return
        self._dense.remove(slot)
        self._lexical.remove(slot)
        del self._docs[slot]
        self._free.append(slot)

    def _index_docs(self, docs: Sequence[dict[str, Any]], titles: dict[str, str],
                    vectors: np.ndarray | None = None) -> None:
        """(Re)index documents: embed their texts in one batch and put them in both indexes."""
        if not docs:
            return
        texts = [self._index_text(d, titles) for d in docs]
        if vectors is None:
            vectors = self.embedder.encode(texts)
        for doc in docs:
            self._remove_slot(doc["id"])
        slots = []
        for doc, text in zip(docs, texts, strict=True):
            slot = self._free.pop() if self._free else self._next_slot
            self._next_slot = max(self._next_slot, slot + 1)
            self._slot_of[doc["id"]] = slot
            self._docs[slot] = {**doc, "hash": _digest(text)}
            self._lexical.add(slot, text)
            slots.append(slot)
        self._dense.add(slots, vectors, [self._code(d.get("product_id")) for d in docs])

    def mentioned_products(self, query: str | list[str]) -> set[str]:
        """The products a question names by a title or brand word ("耳机保修多久" → the earbuds)."""
        return self.mentions.named(query)

    def _product_words(self, products: Iterable[dict[str, Any]]) -> list[str]:
        words: list[str] = []
        for p in products:
            words += [p.get("brand") or "", p.get("category") or ""]
            words += [w for w in str(p["title"]).replace("/", " ").split() if len(w) <= 16]
            words += [str(k) for k in (p.get("attributes") or {})]
        return [w for w in words if w]

    # ---- persistence ----
    def save(self) -> None:
        """Write the dense index and its metadata atomically (a crash leaves the previous pair)."""
        with self._lock:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            faiss_path, meta_path = self._paths
            meta = {"version": INDEX_VERSION, "embedder": self.embedder.name, "dim": self.embedder.dim,
                    "ntotal": len(self._dense),
                    "entries": {d["id"]: [slot, d["hash"]] for slot, d in self._docs.items()}}
            self._dense.write(Path(str(faiss_path) + ".tmp"))
            meta_tmp = meta_path.with_suffix(".json.tmp")
            meta_tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            os.replace(str(faiss_path) + ".tmp", faiss_path)
            os.replace(meta_tmp, meta_path)

    def _load_saved(self) -> tuple[dict[str, tuple[int, str]], Any] | None:
        """The saved entries and dense index, or None when absent or made with another embedder."""
        faiss_path, meta_path = self._paths
        if not (faiss_path.is_file() and meta_path.is_file()):
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            index = DenseIndex.read(faiss_path)
        except (OSError, ValueError, RuntimeError):
            return None  # a damaged index is rebuilt from the store, never trusted
        if (meta.get("version") != INDEX_VERSION or meta.get("embedder") != self.embedder.name
                or meta.get("dim") != self.embedder.dim or index.ntotal != meta.get("ntotal")):
            return None
        return {k: (int(v[0]), str(v[1])) for k, v in meta["entries"].items()}, index

    def sync(self) -> dict[str, int]:
        """Bring the indexes in line with the store, embedding only new or changed documents."""
        with self._lock:
            products = self.store.list_products()
            titles = {p["id"]: p["title"] for p in products}
            self.analyzer.add_words(self._product_words(products))
            # Rows already passed the store's own checks; take them as they are rather than let
            # one odd id written by another tool stop the service from starting.
            wanted = [{k: d[k] for k in ("id", "kind", "product_id", "title", "text", "tags")}
                      for d in self.store.list_documents()]
            for p in products:
                wanted += product_facts(p)
            saved = self._load_saved()
            self._reset()
            self.mentions.learn(products)
            reused, fresh = [], []
            if saved is not None:
                entries, index = saved
                for doc in wanted:
                    entry = entries.get(doc["id"])
                    if entry is not None and entry[1] == _digest(self._index_text(doc, titles)):
                        reused.append((doc, entry[0]))
                    else:
                        fresh.append(doc)
                if reused:
                    vectors = np.stack([index.reconstruct(slot) for _, slot in reused])
                    self._index_docs([d for d, _ in reused], titles, vectors)
            else:
                fresh = wanted
            for start in range(0, len(fresh), 2048):  # bounded batches keep memory flat on big imports
                self._index_docs(fresh[start:start + 2048], titles)
            stale = (len(saved[0]) - len(reused)) if saved else 0
            if fresh or stale or saved is None:
                self.save()
            return {"documents": len(self._docs), "embedded": len(fresh), "reused": len(reused)}

    # ---- documents ----
    def get(self, doc_id: str) -> dict[str, Any]:
        """An indexed document or product fact by id, or NotFoundError."""
        with self._lock:
            slot = self._slot_of.get(doc_id)
            if slot is None:
                raise NotFoundError(f"document {doc_id!r} does not exist")
            return {k: v for k, v in self._docs[slot].items() if k != "hash"}

    def add_many(self, docs: Iterable[dict[str, Any]]) -> int:
        """Validate, store and index documents (replacing those with the same id); return how many."""
        # The last of several documents with one id wins, as it would in the store.
        clean = list({d["id"]: d for d in (validate_document(d) for d in docs)}.values())
        if not clean:
            return 0
        products = {d["product_id"] for d in clean if d["product_id"]}
        # Embed before taking the lock, so live searches go on while a bulk import is embedded.
        titles = self._titles(products)
        texts = [self._index_text(d, titles) for d in clean]
        vectors = self.embedder.encode(texts)
        with self._lock:
            now = self._titles(products)
            if now != titles:  # a product was renamed meanwhile: re-embed only the texts it changed
                now_texts = [self._index_text(d, now) for d in clean]
                changed = [i for i, (a, b) in enumerate(zip(texts, now_texts, strict=True)) if a != b]
                if changed:
                    vectors = np.array(vectors, dtype=np.float32)  # a writable copy
                    vectors[changed] = self.embedder.encode([now_texts[i] for i in changed])
            self.store.upsert_documents(clean)
            self._index_docs(clean, now, vectors)
            self.save()
        return len(clean)

    def add(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Store and index one document (replacing one with the same id)."""
        self.add_many([doc])
        return self.get(str(doc["id"]).strip())

    def update(self, doc_id: str, **changes: Any) -> dict[str, Any]:
        """Change fields of a stored document (`kind`, `product_id`, `title`, `text`, `tags`) and reindex it."""
        unknown = set(changes) - {"kind", "product_id", "title", "text", "tags"}
        if unknown:
            raise InvalidInputError(f"unknown document fields: {sorted(unknown)}")
        if doc_id.startswith(FACT_PREFIX):
            raise InvalidInputError("product facts change with their product: update the product instead")
        with self._lock:
            current = self.store.get_document(doc_id)
            return self.add({**current, **changes, "id": doc_id})

    def delete(self, doc_id: str) -> None:
        """Remove a document from the store and both indexes, or NotFoundError."""
        if doc_id.startswith(FACT_PREFIX):
            raise InvalidInputError("product facts go with their product: delete or edit the product instead")
        with self._lock:
            self.store.delete_document(doc_id)
            self._remove_slot(doc_id)
            self.save()

    def list_documents(self, kind: str | None = None, product_id: str | None = None,
             include_facts: bool = False) -> list[dict[str, Any]]:
        """Indexed documents (optionally of one kind or product), by id; product facts on request."""
        with self._lock:
            docs = [{k: v for k, v in d.items() if k != "hash"} for d in self._docs.values()]
        return sorted((d for d in docs
                       if (include_facts or not d["id"].startswith(FACT_PREFIX))
                       and (kind is None or d["kind"] == kind)
                       and (product_id is None or d["product_id"] == product_id)), key=lambda d: d["id"])

    # ---- products ----
    def _titles(self, ids: Iterable[str]) -> dict[str, str]:
        ids = list(ids)
        return {p["id"]: p["title"] for p in self.store.list_products(ids)} if ids else {}

    def upsert_products(self, items: Iterable[dict[str, Any]]) -> int:
        """Store products and reindex their facts and documents (a new title changes what finds them)."""
        clean = [validate_product(p) for p in items]
        if not clean:
            return 0
        with self._lock:
            self.store.upsert_products(clean)
            titles = {p["id"]: p["title"] for p in clean}
            self.analyzer.add_words(self._product_words(clean))
            self.mentions.learn(clean)
            indexed = self._entries_of(titles.keys())  # one pass over the index for the whole batch
            touched: list[dict[str, Any]] = []
            for p in clean:
                facts = product_facts(p)
                keep = {f["id"] for f in facts}
                own = indexed.get(p["id"], [])
                for d in own:
                    if d["id"].startswith(FACT_PREFIX) and d["id"] not in keep:
                        self._remove_slot(d["id"])
                touched += [f for f in facts if self._stale(f, titles)]
                touched += [d for d in own if not d["id"].startswith(FACT_PREFIX) and self._stale(d, titles)]
            self._index_docs([{k: v for k, v in d.items() if k != "hash"} for d in touched], titles)
            self.save()
        return len(clean)

    def _entries_of(self, product_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The indexed documents and facts of these products, by product (by `product_id`, never by id
        prefix: product "a"'s prefix `product:a:` also starts the facts of a product "a:b")."""
        wanted = set(product_ids)
        out: dict[str, list[dict[str, Any]]] = {}
        for d in self._docs.values():
            if d["product_id"] in wanted:
                out.setdefault(d["product_id"], []).append(d)
        return out

    def _stale(self, doc: dict[str, Any], titles: dict[str, str]) -> bool:
        slot = self._slot_of.get(doc["id"])
        return slot is None or self._docs[slot]["hash"] != _digest(self._index_text(doc, titles))

    def update_product(self, product_id: str, **changes: Any) -> dict[str, Any]:
        """Change fields of a product (price, stock, attributes, title…); facts follow at once."""
        with self._lock:
            current = self.store.get_product(product_id)
            self.upsert_products([{**current, **changes, "id": product_id}])
            return self.store.get_product(product_id)

    def delete_product(self, product_id: str) -> None:
        """Remove a product and its facts (documents that name it stay, as general knowledge of the shop)."""
        with self._lock:
            self.store.delete_product(product_id)
            self.mentions.forget(product_id)
            for d in self._entries_of([product_id]).get(product_id, []):
                if d["id"].startswith(FACT_PREFIX):
                    self._remove_slot(d["id"])
            self.save()

    # ---- search ----
    def _scope_mask(self, product_id: str | None, lineup: Sequence[Any] | None) -> np.ndarray | None:
        allowed = [product_id] if product_id else _lineup_ids(lineup)
        if allowed is None:
            return None
        codes = [self._codes[p] for p in allowed if p in self._codes] + [-1]
        return self._dense.mask(codes, self._next_slot)

    def _lexical_top(self, words: list[str], bigrams: list[str], n: int,
                     mask: np.ndarray | None) -> dict[int, float]:
        optional: set[str] = set(bigrams) - set(words)  # a bigram that is also a word counts as the word
        raw, best = self._lexical.scores(words + bigrams, self._next_slot, optional=optional)
        if best <= 0:
            return {}
        if mask is not None:
            raw = np.where(mask, raw, 0.0)
        nonzero = np.flatnonzero(raw)
        if len(nonzero) > n:
            nonzero = nonzero[np.argpartition(-raw[nonzero], n - 1)[:n]]
        return {int(s): min(1.0, float(raw[s]) / best) for s in nonzero}

    def search(self, query: str, k: int = 5, product_id: str | None = None,
               lineup: Sequence[Any] | None = None, mode: str = "fused",
               vector: np.ndarray | None = None) -> list[Hit]:
        """The `k` best documents for a question, optionally scoped to a product or a room's line-up.

        `vector` is the question's embedding when the caller already has it (the comment pipeline
        embeds every comment), which saves the one model call a search otherwise makes.
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("the search query is empty")
        if mode not in MODES:
            raise InvalidInputError(f"unknown search mode {mode!r}; expected one of {', '.join(MODES)}")
        if k < 1:
            raise InvalidInputError("k must be at least 1")
        qvec = self.embedder.encode([query])[0] if vector is None else np.asarray(vector, dtype=np.float32).ravel()
        if qvec.shape[0] != self.embedder.dim:
            raise InvalidInputError(f"the query vector has {qvec.shape[0]} dimensions; the index has {self.embedder.dim}")
        with self._lock:
            if not self._docs:
                return []
            mask = self._scope_mask(product_id, lineup)
            pool = max(self.candidates, k)
            candidates = self._dense.top(qvec, pool, mask) if mode != "lexical" else []
            words = self.analyzer.words(query)
            lexical = (self._lexical_top(words, self.analyzer.char_bigrams(query), pool, mask)
                       if mode != "dense" else {})
            slots = list(set(candidates) | lexical.keys())
            # Exact float32 cosines for every candidate, also those only the lexical index found.
            dense = dict(zip(slots, self._dense.exact(slots, qvec), strict=True)) if mode != "lexical" else {}
            w = self.dense_weight if mode == "fused" else (1.0 if mode == "dense" else 0.0)
            fused = {s: w * dense.get(s, 0.0) + (1 - w) * lexical.get(s, 0.0) for s in slots}
            named = self.mentioned_products(words) if self.mention_bonus and not product_id else set()
            if named:
                # A document about the product the question names outranks an equally close one
                # about another product; applied in every mode, so the modes still compare fusion.
                codes = {self._codes[p] for p in named if p in self._codes}
                fused = {s: v + (self.mention_bonus if self._dense.product_code[s] in codes else 0.0)
                         for s, v in fused.items()}
            scored = sorted(((v, s) for s, v in fused.items()), reverse=True)[:k]
            return [self._hit(s, score, dense.get(s, 0.0), lexical.get(s, 0.0)) for score, s in scored]

    def _hit(self, slot: int, score: float, dense: float, lexical: float) -> Hit:
        d = self._docs[slot]
        return Hit(doc_id=d["id"], score=round(float(score), 6), kind=d["kind"], product_id=d["product_id"],
                   title=d["title"], text=d["text"], dense=round(float(dense), 6), lexical=round(float(lexical), 6))
