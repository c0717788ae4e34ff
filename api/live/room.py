"""A live room's state in the hub, the hub's knobs, and the records it sends (no I/O here)."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from api.live import protocol as p
from api.live.subscriber import Subscriber
from assistant.cards import BoardConfig, Card, CardBoard
from knowledge.room import RoomState
from knowledge.store import StoredComment


@dataclass
class LiveConfig:
    """The hub's knobs (built from `Settings` in `api/services.py`)."""

    queue_size: int = 256
    max_backlog: int = 5000
    batch_max: int = 512
    replay_max: int = 5000
    stats_interval_s: float = 1.0
    pitch_interval_s: float = 15.0
    answer_cache_size: int = 2048
    max_answer_backlog: int = 2000  # questions waiting for answers before the oldest are dropped
    board: BoardConfig = field(default_factory=BoardConfig)  # every room's card thresholds
    rebuild_window_s: float = 120.0  # shared bus: a new owner re-analyses this much of the room's past
    rebuild_max: int = 20000  # … and at most this many comments


@dataclass
class LiveRoom:
    """One room's live state: what it shows, who watches, what waits for analysis."""

    state: RoomState
    board: CardBoard
    subscribers: dict[str, set[Subscriber]] = field(default_factory=lambda: {"host": set(), "bot": set()})
    pending: deque[StoredComment] = field(default_factory=deque)
    reserved: int = 0  # comments accepted for storage, not yet in `pending`
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)  # the board, across threads
    last_seq: int = 0
    answers: OrderedDict[tuple[str, str | None], Any] = field(default_factory=OrderedDict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    last_pitch: float = 0.0
    answer_queue: deque[tuple[list[Any], list[Card], int]] = field(default_factory=deque)
    answering: bool = False
    stats_sec: int = 0  # the last whole second reported to dashboards
    owner: bool = False  # shared bus: this instance holds the room's analysis lease
    queued_upto: int = 0  # shared bus: the highest seq pulled from the store for analysis

    @property
    def room_id(self) -> str:
        """The room's id."""
        return self.state.room_id


def answer_item(ans: Any, *, question: str, **where: Any) -> p.AnswerItem:
    """The protocol's answer record from an `assistant.answers.Answer`."""
    return p.AnswerItem(question=question, text=ans.text, sources=list(ans.sources),
                        confidence=round(float(ans.confidence), 4), handoff=bool(ans.handoff),
                        reason=str(ans.reason), **where)


def card_model(card: Card) -> p.Card:
    """A board card as the protocol sends it (pydantic copies its lists: nothing is shared with the board)."""
    return p.Card.model_validate(card.__dict__)


def public_comment(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("seq", "comment_id", "user_id", "text", "ts", "platform", "analysis")
    return {k: row.get(k) for k in keys}
