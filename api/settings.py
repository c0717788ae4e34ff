"""One `Settings` class for the whole service, read from `CUECARD_*` variables and an optional `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.cards import BoardConfig

DEFAULT_MODEL = "usem3"


class Settings(BaseSettings):
    """Every knob of CueCard; built in `create_app()` or the CLI, never at import time."""

    # nested values by a double underscore: CUECARD_CARDS__SURGE_MIN_VIEWERS=10
    model_config = SettingsConfigDict(env_prefix="CUECARD_", env_file=".env", extra="ignore",
                                      env_nested_delimiter="__")

    # --- server ---
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Path("var")
    database_url: str | None = None  # default: sqlite file under data_dir
    load_demo: bool = True  # `make run` seeds the demo store when it is empty

    # --- embedder ---
    # "usem3" (the packaged multilingual USE v3), "hashing" (deterministic, tests only),
    # or a path to any sentence-transformers model directory.
    embedding_model: str = DEFAULT_MODEL
    embedding_batch_size: int = Field(64, ge=1, le=4096)
    embedding_cache_size: int = Field(50_000, ge=0)

    # --- comment understanding (issue 3) ---
    intent_threshold: float = Field(0.35, ge=0.0, le=1.0)
    group_window_s: float = Field(120.0, gt=0)
    group_similarity: float = Field(0.78, ge=0.0, le=1.0)

    # --- knowledge base and answers (issue 4) ---
    answer_min_confidence: float = Field(0.45, ge=0.0, le=1.0)
    # issue 11: the reranker's hand-off threshold is the one meeting this precision on calibration data
    answer_target_precision: float = Field(0.95, gt=0.0, le=1.0)
    retrieval_k: int = Field(5, ge=1, le=100)

    # --- recommendations (issue 5) ---
    als_factors: int = Field(64, ge=1)
    als_iterations: int = Field(15, ge=1)
    als_regularization: float = Field(0.01, ge=0.0)
    als_alpha: float = Field(1.0, gt=0.0)
    als_weighting: str = "bm25"  # "bm25" | "log" | "none"
    recsys_tune: bool = True  # `recsys train` fits the blend's weights to the shop; False keeps the configured ones
    # --- repeat purchases (issue 15): RFM thresholds (days), returning-buyer card ---
    segment_active_days: float = Field(7.0, gt=0)
    segment_sleeping_days: float = Field(30.0, gt=0)
    segment_loyal_orders: int = Field(5, ge=1)
    segment_loyal_window_days: float = Field(30.0, gt=0)
    segment_high_value_share: float = Field(0.10, gt=0, le=1)
    shoppers_refresh_s: float = Field(30.0, ge=0)  # profiles refit at most this often after new purchases

    # --- live room (issue 6) ---
    api_key_ingest: str | None = None
    api_key_host: str | None = None
    api_key_bot: str | None = None
    api_key_admin: str | None = None
    cors_origins: list[str] = ["*"]
    max_message_bytes: int = Field(256 * 1024, ge=1024)  # a WebSocket frame; a REST body of the rooms routes
    max_request_bytes: int = Field(32 * 1024 * 1024, ge=1024)  # any other REST body (purchases, KB imports)
    subscriber_queue_size: int = Field(256, ge=1)
    live_max_backlog: int = Field(5000, ge=1)  # comments waiting for analysis before ingest answers 429
    live_batch_max: int = Field(512, ge=1)  # comments per pipeline call
    live_replay_max: int = Field(5000, ge=1)  # comments one `since=` reconnect may replay
    live_pitch_interval_s: float = Field(15.0, gt=0)
    ingest_comments_per_s: float = Field(5000.0, gt=0)  # per connection (REST: per key)
    ws_messages_per_s: float = Field(200.0, gt=0)  # per connection, any role
    cards: BoardConfig = BoardConfig()  # when teleprompter cards appear (assistant.cards.BoardConfig)

    # --- several instances: room bus and leases (issue 12) ---
    bus_url: str = "memory://"  # memory:// = one process; redis://host:6379/0 = rooms shared by instances
    bus_lease_ms: int = Field(2000, ge=200)  # a room's analysis lease; another instance takes over after it

    # --- shows, review, widget key and events (issue 14) ---
    show_auto_start: bool = True  # the first comment after a quiet gap starts a show by itself
    show_gap_s: float = Field(1800.0, gt=0)  # how long a room must be quiet for that
    api_key_widget: str | None = None  # publishable: recommendations, related products and events only
    widget_origins: list[str] = []  # shop origins the widget key is accepted from (empty: any origin)
    widget_key_per_s: float = Field(200.0, gt=0)  # widget calls per second per key
    widget_client_per_s: float = Field(10.0, gt=0)  # widget calls per second per client (IP)
    widget_max_events: int = Field(500, ge=1)  # events per POST /events batch
    event_weights: dict[str, float] = {"impression": 0.0, "click": 0.3, "add_to_cart": 0.6, "purchase": 1.0}

    # --- complaint tickets (issue 13): response deadline per level, in seconds ---
    ticket_deadlines_s: dict[int, float] = {1: 1800.0, 2: 1800.0, 3: 172800.0}  # 30 min, 30 min + escalation, 48 h
    ticket_amber_fraction: float = Field(0.25, gt=0, lt=1)  # amber in the last quarter of the time
    ticket_incident_viewers: int = Field(10, ge=2)  # distinct viewers with one complaint → level 3
    ticket_incident_window_s: float = Field(120.0, gt=0)  # …within this many seconds
    ticket_repeated_after: int = Field(3, ge=2)  # complaints about a product before it is flagged
    # --- live alerts (issue 13) ---
    alert_surge_complaints: int = Field(5, ge=2)  # complaints about one product within the window
    alert_surge_window_s: float = Field(60.0, gt=0)
    alert_low_stock: int = Field(50, ge=0)  # a line-up product's stock below this
    alert_question_backlog: int = Field(20, ge=1)  # unanswered viewer questions
    alert_viewer_drop: float = Field(0.30, gt=0, lt=1)  # share of viewers lost since the previous sample
    alert_min_interaction_rate: float = Field(0.05, ge=0)  # comments per online viewer per sample period

    @field_validator("embedding_model")
    @classmethod
    def _model_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("CUECARD_EMBEDDING_MODEL is empty: use 'usem3' or a model directory")
        return value.strip()

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: `database_url`, else a SQLite file under `data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cuecard.db').resolve()}"

    @property
    def models_dir(self) -> Path:
        """Where trained models (intent heads, recommenders, indexes) are versioned."""
        return self.data_dir / "models"
