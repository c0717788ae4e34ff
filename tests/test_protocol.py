"""The typed WebSocket protocol: inbound frames parse to their model or to a typed ProtocolError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.live import protocol as p


def test_comment_forms_all_parse_for_ingest() -> None:
    """A typed comment, a bare comment object and a JSON array all parse for an ingest connection."""
    typed = p.parse_inbound("ingest", json.dumps({"type": "comment", "comment_id": "a", "text": "多少钱"}))
    bare = p.parse_inbound("ingest", json.dumps({"comment_id": "a", "text": "多少钱", "ts": 3.5}))
    batch = p.parse_inbound("ingest", json.dumps([{"comment_id": "a", "text": "x"}, {"comment_id": "b", "text": "y"}]))
    assert isinstance(typed, p.CommentMsg) and typed.text == "多少钱" and typed.platform == "douyin"
    assert isinstance(bare, p.CommentMsg) and bare.ts == 3.5
    assert isinstance(batch, p.CommentBatchMsg) and [c.comment_id for c in batch.comments] == ["a", "b"]
    assert batch.comments[1].to_comment_in().text == "y"


@pytest.mark.parametrize(("role", "frame", "code"), [
    ("ingest", "{not json", "invalid_json"),
    ("ingest", "[1, 2]", "invalid_message"),
    ("ingest", '"hello"', "invalid_message"),
    ("ingest", '{"type": "dance"}', "unknown_type"),
    ("ingest", '{"type": 5}', "invalid_message"),
    ("host", '{"type": "comment", "comment_id": "a", "text": "x"}', "unknown_type"),
    ("bot", '{"type": "mark_done", "card_id": "x"}', "unknown_type"),
    ("ingest", '{"type": "comment", "comment_id": "", "text": "x"}', "invalid_message"),
    ("ingest", '{"type": "comment", "comment_id": "a", "text": 7}', "invalid_message"),
    ("ingest", '{"type": "comment", "comment_id": "a", "text": "x", "ts": "soon"}', "invalid_message"),
    ("ingest", '{"type": "comments", "comments": []}', "invalid_message"),
    ("host", '{"type": "ping", "v": 2}', "unsupported_version"),
    ("host", '{"type": "mark_done", "card_id": "x", "extra": 1}', "invalid_message"),
])
def test_bad_frames_are_typed_errors(role: str, frame: str, code: str) -> None:
    """Malformed JSON, wrong types, unknown types and wrong versions each get their error code."""
    with pytest.raises(p.ProtocolError) as info:
        p.parse_inbound(role, frame)
    assert info.value.code == code


def test_batch_over_the_limit_is_refused() -> None:
    """A batch of more than MAX_BATCH comments is an invalid message."""
    frame = json.dumps([{"comment_id": str(i), "text": "x"} for i in range(p.MAX_BATCH + 1)])
    with pytest.raises(p.ProtocolError, match="comments"):
        p.parse_inbound("ingest", frame)


def test_outbound_messages_carry_type_and_version() -> None:
    """Every outbound message encodes its `type` and the protocol version."""
    frame = json.loads(p.encode(p.AckMsg(comment_ids=["a"], seqs=[7])))
    assert frame == {"v": p.PROTOCOL_VERSION, "type": "ack", "comment_ids": ["a"], "seqs": [7], "duplicates": 0}
    card = p.Card(id="group:g1", kind="question_group", title="多少钱", count=3)
    assert json.loads(p.encode(p.CardsMsg(upto_seq=9, cards=[card])))["cards"][0]["count"] == 3


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                       max_leaves=20)
FIELDS = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["comment", "comments", "ping", "mark_done", "set_on_stage", "ask", "x"]) | st.text(max_size=8),
    "comment_id": JSONISH, "text": JSONISH, "ts": JSONISH, "comments": JSONISH, "card_id": JSONISH,
    "question": JSONISH, "v": st.sampled_from([1, 2, "1"]) | JSONISH})


@settings(max_examples=300, deadline=None)
@given(role=st.sampled_from(["ingest", "host", "bot"]),
       frame=st.one_of(JSONISH.map(json.dumps), FIELDS.map(json.dumps), st.text(max_size=60), st.binary(max_size=40)))
def test_fuzz_any_frame_parses_or_is_a_typed_error(role: str, frame: str | bytes) -> None:
    """Whatever arrives, parsing yields a protocol model or a ProtocolError with a known code."""
    try:
        msg = p.parse_inbound(role, frame)
    except p.ProtocolError as exc:
        assert exc.code in {"invalid_json", "invalid_message", "unknown_type", "unsupported_version"}
    else:
        assert msg.type in {"comment", "comments", "ping", "mark_done", "set_on_stage", "ask"}
