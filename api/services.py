"""Everything the app serves with, built once from `Settings` and owned by the lifespan.

Each part of the product builds its own section; the domain objects take explicit arguments,
so the same objects can be built from Python or the CLI without FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.settings import Settings
from knowledge.embedder import Embedder, load_embedder
from knowledge.store import Store


@dataclass
class Services:
    """The resources of one running app."""

    settings: Settings
    store: Store
    embedder: Embedder
    # --- issue 3: comment understanding ---
    pipeline: Any = None
    # --- issue 4: knowledge base, answers, compliance ---
    kb: Any = None
    answerer: Any = None
    compliance: Any = None
    # --- issue 5: recommendations ---
    recommender: Any = None
    # --- issue 6: live rooms ---
    live: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def versions(self) -> dict[str, Any]:
        """Which model, store and versions are loaded, for /health."""
        models = {m["kind"]: m["version"] for m in self.store.list_models() if m["active"]}
        return {
            "embedding_model": self.embedder.name,
            "embedding_dim": self.embedder.dim,
            "store": self.store.engine.dialect.name,
            "schema_version": self.store.schema_version(),
            "models": models,
            "recommender": self.recommender.describe() if self.recommender is not None else None,
        }

    def close(self) -> None:
        """Release what the services hold."""
        self.store.close()


def build_store(settings: Settings) -> Store:
    """Open (and migrate) the store the settings name, creating the data directory."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Store(settings.resolved_database_url)


def build_services(settings: Settings, embedder: Embedder | None = None) -> Services:
    """Build every resource; `embedder` may be injected (tests reuse one loaded model)."""
    store = build_store(settings)
    if settings.load_demo and store.count_products() == 0:
        from knowledge.demo import seed_demo

        seed_demo(store)
    emb = embedder or load_embedder(settings.embedding_model, settings.embedding_batch_size,
                                    settings.embedding_cache_size)
    services = Services(settings=settings, store=store, embedder=emb)
    # --- issue 3: comment understanding (build services.pipeline here) ---
    from assistant.pipeline import build_pipeline

    services.pipeline = build_pipeline(emb, store, settings.models_dir, threshold=settings.intent_threshold,
                                       window_s=settings.group_window_s, similarity=settings.group_similarity)
    # --- issue 4: knowledge base (build services.kb, .answerer, .compliance here) ---
    from assistant.answers import Answerer
    from assistant.compliance import ComplianceChecker
    from knowledge.kb import KnowledgeBase

    # A shop extends the shipped word lists with files of the same names under <data_dir>/compliance.
    services.compliance = ComplianceChecker.default(settings.data_dir / "compliance")
    services.kb = KnowledgeBase(store, emb, settings.models_dir / "kb")
    from assistant.ranking import Ranker  # issue 11: frame-aware reranker, calibrated hand-off

    services.answerer = Answerer(services.kb, store, services.compliance,
                                 min_confidence=settings.answer_min_confidence, k=settings.retrieval_k,
                                 ranker=Ranker.load(target_precision=settings.answer_target_precision))
    # --- issue 5: recommendations (build services.recommender here) ---
    from recsys.service import build_recommender

    services.recommender = build_recommender(store, settings)
    from recsys.shoppers import build_shoppers  # issue 15: due items, segments, profiles

    services.extras["shoppers"] = build_shoppers(store, settings, services.recommender)
    from assistant.returning import ReturningBuyers  # issue 15: returning-buyer cards, off per room

    services.extras["returning"] = ReturningBuyers(store, services.recommender)
    # --- issue 6: live rooms (build services.live here) ---
    from api.live import build_hub

    services.live = build_hub(services)
    # --- issue 14: shows (recorded by the hub) and widget events ---
    from knowledge.events import EventStore
    from knowledge.shows import ShowRecorder, ShowStore

    services.extras["shows"] = ShowStore(store)
    services.extras["events"] = EventStore(store)
    services.live.shows = ShowRecorder(services.extras["shows"], gap_s=settings.show_gap_s,
                                       auto_start=settings.show_auto_start)
    services.live.tickets = build_ticket_desk(store, settings)  # issue 13: complaints → tickets
    services.live.alerts = build_alert_desk(settings)  # issue 13: live KPI alerts
    services.live.returning = services.extras["returning"]  # issue 15
    from assistant.gaps import GapDesk  # issue 11: knowledge gaps (hand-offs → gaps → written FAQ answers)
    from knowledge.gaps import GapStore

    services.extras["gaps"] = services.answerer.gaps = services.live.gaps = GapDesk(GapStore(store))
    return services


def build_ticket_desk(store: Any, settings: Any) -> Any:
    """The complaint ticket desk with the settings' SLA policy, persisted in the store (issue 13)."""
    from assistant.ticket_desk import TicketDesk
    from assistant.tickets import SlaPolicy
    from knowledge.tickets import TicketStore

    policy = SlaPolicy(deadlines=dict(settings.ticket_deadlines_s), amber_fraction=settings.ticket_amber_fraction,
                       incident_viewers=settings.ticket_incident_viewers,
                       incident_window=settings.ticket_incident_window_s,
                       repeated_after=settings.ticket_repeated_after)
    return TicketDesk(policy, TicketStore(store))


def build_alert_desk(settings: Any) -> Any:
    """The live alert desk with the settings' thresholds (issue 13)."""
    from assistant.alerts import AlertDesk, AlertThresholds

    return AlertDesk(AlertThresholds(
        surge_complaints=settings.alert_surge_complaints, surge_window_s=settings.alert_surge_window_s,
        low_stock=settings.alert_low_stock, question_backlog=settings.alert_question_backlog,
        viewer_drop=settings.alert_viewer_drop, min_interaction_rate=settings.alert_min_interaction_rate))
