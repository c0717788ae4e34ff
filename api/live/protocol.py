"""The live-room WebSocket protocol: every message is a Pydantic model discriminated on `type`.

Inbound messages (client → server) are parsed with `parse_inbound(role, text)`, which raises
`ProtocolError` (a typed `error` message goes back, the connection lives on); outbound messages
(server → client) are built here and encoded once per broadcast with `encode()`. Close codes are
one enum; docs/protocol.md documents every message and code with examples.
"""

from __future__ import annotations

import json
import time
from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from knowledge.errors import InvalidInputError
from knowledge.store import CommentIn

PROTOCOL_VERSION = 1
MAX_BATCH = 1000  # comments in one message or one POST


class CloseCode(IntEnum):
    """WebSocket close codes this server uses (4000-4999 are the application's)."""

    NORMAL = 1000
    GOING_AWAY = 1001  # the server is shutting down
    MESSAGE_TOO_BIG = 1009  # a frame over `max_message_bytes`
    INTERNAL_ERROR = 1011
    UNAUTHORIZED = 4401  # missing or wrong API key
    FORBIDDEN = 4403  # the key's role may not use this endpoint
    ROOM_NOT_FOUND = 4404
    SLOW_CONSUMER = 4408  # the subscriber's queue overflowed; it was told, then dropped
    INVALID_MESSAGES = 4422  # too many malformed messages in a row
    RATE_LIMITED = 4429  # kept flooding after being told
    BUS_UNAVAILABLE = 4503  # the room bus (Redis) went away: reconnect, with since=<last seq>


class ProtocolError(InvalidInputError):
    """An inbound message that cannot be used; `code` is the `error` message's code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=100_000)
    v: int = PROTOCOL_VERSION


# ---- inbound -----------------------------------------------------------------------------------

class CommentPayload(BaseModel):
    """One live comment as a platform connector sends it."""

    model_config = ConfigDict(extra="ignore")
    comment_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field("", max_length=128)
    text: str = Field(max_length=2000)
    ts: float = Field(0.0, ge=0.0, le=1e11)  # unix seconds; 0 means "when received"
    platform: str = Field("douyin", min_length=1, max_length=32)

    def to_comment_in(self) -> CommentIn:
        """The store's input record."""
        return CommentIn(comment_id=self.comment_id, text=self.text, user_id=self.user_id,
                         ts=self.ts, platform=self.platform)


class CommentMsg(_Msg, CommentPayload):
    """Ingest: one comment."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["comment"] = "comment"


class CommentBatchMsg(_Msg):
    """Ingest: a batch of comments, acknowledged together."""

    type: Literal["comments"] = "comments"
    comments: list[CommentPayload] = Field(min_length=1, max_length=MAX_BATCH)


class PingMsg(_Msg):
    """Any role: keep-alive; answered with `pong`."""

    type: Literal["ping"] = "ping"
    id: str | None = Field(None, max_length=64)


class MarkDoneMsg(_Msg):
    """Teleprompter: the host dealt with a card; it leaves every host's screen."""

    type: Literal["mark_done"] = "mark_done"
    card_id: str = Field(min_length=1, max_length=128)


class SetOnStageMsg(_Msg):
    """Teleprompter: switch the product on stage (must be in the line-up)."""

    type: Literal["set_on_stage"] = "set_on_stage"
    product_id: str = Field(min_length=1, max_length=64)


class AskMsg(_Msg):
    """Bot: answer one question on demand; answered with `answer` carrying the same `request_id`."""

    type: Literal["ask"] = "ask"
    question: str = Field(min_length=1, max_length=2000)
    product_id: str | None = Field(None, max_length=64)
    request_id: str | None = Field(None, max_length=64)


class RoomStatsMsg(_Msg):
    """Ingest: the room's statistics since the last sample (issue 13 alerts); bad numbers → `error`."""

    type: Literal["room_stats"] = "room_stats"
    online_viewers: int = Field(ge=0, le=50_000_000)
    new_followers: int = Field(0, ge=0, le=5_000_000_000)
    likes: int = Field(0, ge=0, le=5_000_000_000)
    orders: int = Field(0, ge=0, le=5_000_000_000)
    ts: float | None = Field(None, ge=0)


IngestInbound = Annotated[CommentMsg | CommentBatchMsg | RoomStatsMsg | PingMsg, Field(discriminator="type")]
HostInbound = Annotated[MarkDoneMsg | SetOnStageMsg | PingMsg, Field(discriminator="type")]
BotInbound = Annotated[AskMsg | PingMsg, Field(discriminator="type")]

_INBOUND: dict[str, TypeAdapter[Any]] = {
    "ingest": TypeAdapter(IngestInbound),
    "host": TypeAdapter(HostInbound),
    "bot": TypeAdapter(BotInbound),
}


def parse_inbound(role: str, text: str | bytes) -> Any:
    """Parse one inbound frame for a connection of `role`, or raise `ProtocolError`.

    An ingest frame may also be a bare comment object (no `type`) or a JSON array of comments,
    so a platform connector can forward what it receives with no wrapping.
    """
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("invalid_json", f"the frame is not JSON: {exc}"[:200]) from None
    if role == "ingest":
        if isinstance(data, list):
            data = {"type": "comments", "comments": data}
        elif isinstance(data, dict) and "type" not in data and "comment_id" in data:
            data = {**data, "type": "comment"}
    if not isinstance(data, dict):
        raise ProtocolError("invalid_message", "a message must be a JSON object with a 'type'")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("invalid_message", "a message needs a string 'type'")
    version = data.get("v", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise ProtocolError("unsupported_version",
                            f"protocol version {version!r} is not supported; this server speaks {PROTOCOL_VERSION}")
    try:
        return _INBOUND[role].validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "union_tag_invalid":
            raise ProtocolError("unknown_type", f"unknown message type {kind!r} for a {role} connection") from None
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        raise ProtocolError("invalid_message", f"{where}: {first['msg']}"[:300]) from None


# ---- outbound ----------------------------------------------------------------------------------

class Card(BaseModel):
    """A teleprompter card; the same `id` is re-sent whenever it changes."""

    id: str
    kind: Literal["question_group", "purchase_surge", "complaint_alert", "compliance_warning", "pitch_next",
                  "alert"]
    title: str
    body: str = ""
    count: int = 0
    intent: str | None = None
    product_id: str | None = None
    link: int | None = None  # "#2" = the line-up's second link
    talking_point: str = ""
    trend: float = 0.0
    samples: list[str] = Field(default_factory=list)
    items: list[dict[str, Any]] = Field(default_factory=list)  # pitch-next suggestions, compliance findings
    priority: float = 0.0  # bigger first
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)


class HelloMsg(_Msg):
    """First message on every connection: who you are and where the room stands."""

    type: Literal["hello"] = "hello"
    room_id: str
    role: str
    last_seq: int
    on_stage: str | None = None
    lineup: list[str] = Field(default_factory=list)
    limits: dict[str, int] = Field(default_factory=dict)


class AckMsg(_Msg):
    """Ingest: these comments are stored; `seqs[i]` is the sequence number of `comment_ids[i]`."""

    type: Literal["ack"] = "ack"
    comment_ids: list[str]
    seqs: list[int]
    duplicates: int = 0  # how many were already stored (replays keep their first seq)


class CardsMsg(_Msg):
    """Teleprompter: new or changed cards, reflecting every comment up to `upto_seq`."""

    type: Literal["cards"] = "cards"
    upto_seq: int
    cards: list[Card]
    snapshot: bool = False  # True: the full set of live cards (after connect or replay)


class CardDoneMsg(_Msg):
    """Teleprompter: a host marked this card done."""

    type: Literal["card_done"] = "card_done"
    card_id: str


class RoomStateMsg(_Msg):
    """Teleprompter and bot: the line-up or the product on stage changed."""

    type: Literal["room_state"] = "room_state"
    room_id: str
    on_stage: str | None
    lineup: list[str]


class AnswerItem(BaseModel):
    """An answer for one customer's question (or a hand-off to a human)."""

    seq: int | None = None
    comment_id: str | None = None
    user_id: str | None = None
    question: str
    intent: str | None = None
    product_id: str | None = None
    group_id: str | None = None
    text: str
    sources: list[str] = Field(default_factory=list)
    confidence: float = 0.0
    handoff: bool = False
    reason: str = ""


class AnswersMsg(_Msg):
    """Bot: answers for the answerable questions among comments up to `upto_seq`."""

    type: Literal["answers"] = "answers"
    upto_seq: int
    answers: list[AnswerItem]


class AnswerMsg(_Msg):
    """Bot: the answer to an `ask`."""

    type: Literal["answer"] = "answer"
    request_id: str | None = None
    answer: AnswerItem


class ReplayMsg(_Msg):
    """After `since=<seq>`: stored comments (with what was understood of them) the client missed."""

    type: Literal["replay"] = "replay"
    comments: list[dict[str, Any]]
    upto_seq: int
    done: bool  # the last replay message before live messages resume
    truncated: bool = False  # more were missed than one replay carries; reconnect with since=upto_seq


class StatsMsg(_Msg):
    """Teleprompter (dashboard): one point of the live chart, about the last `window_s` seconds."""

    type: Literal["stats"] = "stats"
    ts: float
    window_s: float
    comments: int
    intents: dict[str, int]
    complaint_rate: float
    backlog: int
    subscribers: int


class PongMsg(_Msg):
    """Answer to `ping`."""

    type: Literal["pong"] = "pong"
    id: str | None = None


class OverloadedMsg(_Msg):
    """Ingest: the room's backlog is full; the comments in the message were NOT stored, retry later."""

    type: Literal["overloaded"] = "overloaded"
    retry_after_ms: int
    rejected: int


class TicketsMsg(_Msg):
    """Host and bot: complaint tickets created or changed (level, status, deadline, red-amber-green)."""

    type: Literal["tickets"] = "tickets"
    room_id: str
    tickets: list[dict[str, Any]]


class ReturningBuyerMsg(_Msg):
    """Host: linked shoppers who just commented (times bought, last item, a pairing line; no personal data)."""

    type: Literal["returning_buyer"] = "returning_buyer"
    room_id: str
    buyers: list[dict[str, Any]]


class ErrorMsg(_Msg):
    """Any role: a typed error. `close` tells whether the server closes the connection after it."""

    type: Literal["error"] = "error"
    code: str
    reason: str
    close: int | None = None


def encode(message: BaseModel) -> str:
    """Serialise an outbound message once, to share it between subscribers."""
    return message.model_dump_json(exclude_none=False)
