"""The live hub: rooms, their subscribers, and the path from a stored comment to a card on screen.

    ingest ─► CommentWriter (group commit, ack after commit)
           ─► room backlog ─► analyzer task ─► [model thread] pipeline.process + CardBoard.update
                                            ─► `cards` to every host     (one frame, encoded once)
                                            ─► [answer thread] answers, talking points, pitch-next
                                            ─► `answers` to every bot, `cards` to every host

Model work never runs on the event loop. Each room's backlog is bounded: past `max_backlog`
comments waiting for analysis, ingestion answers `OverloadedError` (429 / `overloaded`) instead of
lagging silently. Any of pipeline, answerer, compliance and recommender may be None; the card kinds
that need it are then simply not produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api.live import protocol as p
from api.live.bus import Bus, MemoryBus, RoomEvent
from api.live.room import LiveConfig, LiveRoom, answer_item, card_model, public_comment
from api.live.subscriber import Close, Send, Subscriber
from api.live.writer import CommentWriter
from assistant.cards import ANSWERABLE_INTENTS, Card, CardBoard
from knowledge.errors import InvalidInputError, ModelLoadError, OverloadedError
from knowledge.room import RoomState
from knowledge.store import CommentIn, Store, StoredComment

log = logging.getLogger("cuecard.live")
ANALYSIS_CHUNK = 256  # analyses per write-thread call (between them, waiting comment batches go first)


class Hub:
    """Every live room of one app; `start()`/`stop()` are called by the app's lifespan."""

    def __init__(self, store: Store, *, pipeline: Any = None, answerer: Any = None, compliance: Any = None,
                 recommender: Any = None, config: LiveConfig | None = None, auth: Any = None,
                 bus: Bus | None = None) -> None:
        self.store = store
        # The room bus: in-process by default (delivered directly, as one process always was);
        # a shared one (Redis) makes the room's owner analyse and every instance deliver.
        self.bus = bus or MemoryBus()
        self.shared = self.bus.shared
        self.pipeline = pipeline
        self.answerer = answerer
        self.compliance = compliance
        self.recommender = recommender
        self.config = config or LiveConfig()
        self.auth = auth
        self.rooms: dict[str, LiveRoom] = {}
        self._model = ThreadPoolExecutor(1, thread_name_prefix="live-model")
        self._answers = ThreadPoolExecutor(1, thread_name_prefix="live-answers")
        self._db = ThreadPoolExecutor(1, thread_name_prefix="live-db")
        self.writer = CommentWriter(store, self._db)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._analysis_rows: list[tuple[int, dict[str, Any]]] = []
        self._recording = False
        self.shows: Any = None  # a knowledge.shows.ShowRecorder: keeps each show's cards, answers, stage
        self.tickets: Any = None  # an assistant.ticket_desk.TicketDesk: complaints → tickets (issue 13)
        self.alerts: Any = None  # an assistant.alerts.AlertDesk: live KPI alerts (issue 13)
        self.returning: Any = None  # an assistant.returning.ReturningBuyers: linked shoppers' cards (issue 15)
        self.gaps: Any = None  # an assistant.gaps.GapDesk: handed-off questions become knowledge gaps (issue 11)
        self.counters = {"stored": 0, "analysed": 0, "dropped_subscribers": 0, "overloaded": 0}

    # ---- lifecycle ----
    async def start(self) -> None:
        """Start the comment writer and the stats ticker."""
        self.writer.start()
        await self.bus.start(self._on_bus)
        self._spawn(self._stats_loop())
        if self.shared:
            self._spawn(self._lease_loop())

    async def stop(self) -> None:
        """Close every subscriber, finish queued writes, stop the threads."""
        for room in self.rooms.values():
            for subs in room.subscribers.values():
                for sub in list(subs):
                    sub.close(p.CloseCode.GOING_AWAY, "server shutting down")
            for task in room.tasks:
                task.cancel()
        for task in list(self._tasks):
            task.cancel()
        await self.writer.stop()
        for room_id, live in list(self.rooms.items()):
            if live.owner:
                await self.bus.release(room_id)  # another instance takes the room at once
        await self.bus.stop()
        for ex in (self._model, self._answers, self._db):
            ex.shutdown(wait=False, cancel_futures=True)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- rooms ----
    async def room(self, room_id: str) -> LiveRoom:
        """The live room, loaded from the store on first use; NotFoundError if it does not exist."""
        live = self.rooms.get(room_id)
        if live is not None:
            return live
        lock = self._room_locks.setdefault(room_id, asyncio.Lock())
        try:
            async with lock:
                if room_id not in self.rooms:
                    state, last = await asyncio.to_thread(
                        lambda: (RoomState.load(self.store, room_id), self.store.last_comment_seq(room_id)))
                    live = LiveRoom(state=state, board=CardBoard(room_id, self.config.board),
                                    last_seq=last)
                    if self.shared:
                        self.rooms[room_id] = live
                        await self.bus.watch(room_id)
                        if await self.bus.claim(room_id):
                            await self._take_over(live)
                    else:
                        live.tasks.append(asyncio.create_task(self._analyzer(live), name=f"analyzer-{room_id}"))
                        self.rooms[room_id] = live
        finally:
            self._room_locks.pop(room_id, None)  # unknown ids must not pile up locks
        return self.rooms[room_id]

    async def refresh_room(self, room_id: str) -> RoomState:
        """Reload a room's line-up (current product rows) and product on stage from the store; tell
        its subscribers when the line-up or the product on stage changed."""
        return self._apply_state(await asyncio.to_thread(RoomState.load, self.store, room_id))

    def _apply_state(self, state: RoomState) -> RoomState:
        """Put a freshly loaded room state in place, telling subscribers if the line-up or stage moved."""
        live = self.rooms.get(state.room_id)
        if live is not None:
            old, live.state = live.state, state
            if (old.on_stage, old.lineup_ids) == (state.on_stage, state.lineup_ids):
                return state  # prices or stock may have changed: the new rows are in place, nothing to tell
            if not self._leads(live):
                return state  # the owner tells the subscribers (on every instance)
            frame = p.encode(p.RoomStateMsg(room_id=state.room_id, on_stage=state.on_stage, lineup=state.lineup_ids))
            self._broadcast(live, ("host", "bot"), frame)
            live.last_pitch = 0.0  # a new product on stage deserves a fresh pitch-next
            self._maybe_pitch(live)
        return state

    async def set_on_stage(self, room_id: str, product_id: str | None) -> RoomState:
        """Put a line-up product on stage (None clears it); InvalidInputError if not in the line-up."""
        def store_on_stage() -> RoomState:  # one trip to the store's thread: check, write, reload
            room = self.store.get_room(room_id)
            if product_id is not None and product_id not in room["lineup"]:
                raise InvalidInputError(f"product {product_id!r} is not in room {room_id!r}'s line-up {room['lineup']}")
            self.store.update_room(room_id, on_stage=product_id)
            if self.shows is not None:
                self.shows.observe_stage(room_id, product_id)
            return RoomState.load(self.store, room_id)

        state = self._apply_state(await asyncio.to_thread(store_on_stage))
        if self.shared:
            self.bus.publish(room_id, RoomEvent("state"))  # every instance reloads; the owner tells
        return state

    # ---- ingestion ----
    async def ingest(self, room_id: str, items: Sequence[CommentIn]) -> list[StoredComment]:
        """Store comments (acknowledge only after commit) and queue the new ones for analysis."""
        if not items:
            return []
        if len(items) > p.MAX_BATCH:
            raise InvalidInputError(f"at most {p.MAX_BATCH} comments per batch, got {len(items)}")
        live = await self.room(room_id)
        waiting = len(live.pending) + live.reserved
        if self.pipeline is not None and self._leads(live) and waiting + len(items) > self.config.max_backlog:
            self.counters["overloaded"] += 1
            raise OverloadedError(f"room {room_id!r} has {waiting} comments waiting for analysis; retry shortly")
        live.reserved += len(items)
        try:
            stored = await self.writer.write(room_id, items)
        finally:
            live.reserved -= len(items)
        fresh = [c for c in stored if c.inserted]
        self.counters["stored"] += len(fresh)
        if fresh:
            live.last_seq = max(live.last_seq, max(c.seq for c in fresh))
            if self.shared:  # the owner (maybe this instance) pulls them from the store, in seq order
                self.bus.publish(room_id, RoomEvent("comments", seq=live.last_seq))
            elif self.pipeline is not None:
                live.pending.extend(fresh)
                live.wakeup.set()
        return stored

    # ---- analysis ----
    async def _analyzer(self, live: LiveRoom) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await live.wakeup.wait()
            live.wakeup.clear()
            if self.shared:
                await self._pull(live)
            while live.pending:
                n = min(len(live.pending), self.config.batch_max)
                batch = [live.pending.popleft() for _ in range(n)]
                try:
                    analyses, cards = await loop.run_in_executor(self._model, self._analyze, live, batch)
                except asyncio.CancelledError:
                    raise
                except Exception:  # a bad batch must not stop the room: log it and move on
                    log.exception("analysis failed for %d comments in room %s", n, live.room_id)
                    continue
                upto = batch[-1].seq
                self.counters["analysed"] += len(batch)
                if cards:
                    frame = p.encode(p.CardsMsg(upto_seq=upto, cards=[card_model(c) for c in cards]))
                    self._broadcast(live, ("host",), frame)
                    if self.shared:
                        await self._keep_snapshot(live)
                self._record(analyses)
                if self.tickets is not None and (changed := self.tickets.observe(live.room_id, analyses)):
                    self._broadcast(live, ("host", "bot"), p.encode(p.TicketsMsg(room_id=live.room_id, tickets=changed)))
                if self.alerts is not None and (surge := self.alerts.batch_cards(live.room_id, analyses)):
                    self._broadcast(live, ("host",), p.encode(p.CardsMsg(upto_seq=upto, cards=[card_model(c) for c in surge])))
                if self.returning is not None and (back := self.returning.observe(live.room_id, batch)):
                    self._broadcast(live, ("host",), p.encode(p.ReturningBuyerMsg(room_id=live.room_id, buyers=back)))
                self._after_batch(live, analyses, cards, upto)

    def _analyze(self, live: LiveRoom, batch: list[StoredComment]) -> tuple[list[Any], list[Card]]:
        analyses = self.pipeline.process(live.state, batch)
        groups = self.pipeline.groups(live.room_id)
        with live.lock:
            cards = live.board.update(live.state, analyses, groups)
        if self.shows is not None:
            self.shows.observe_batch(live.room_id, analyses, cards)
        return analyses, cards

    def _record(self, analyses: Sequence[Any]) -> None:
        """Queue analyses for the store; under load, what piled up is written in one transaction."""
        self._analysis_rows.extend((a.seq, {"intents": a.intents, "top_intent": a.top_intent,
                                            "product_id": a.product_id, "group_id": a.group_id,
                                            "rejected": a.rejected, "normalized": a.normalized}) for a in analyses)
        if not self._recording and self._analysis_rows:
            self._recording = True
            self._spawn(self._flush_analyses())

    async def _flush_analyses(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._analysis_rows:
                # Acks wait on the same write thread: comment batches go first, and analyses follow
                # in chunks small enough that a batch arriving meanwhile waits little behind them.
                waited = 0
                while self.writer.busy() and waited < 25:
                    await asyncio.sleep(0.002)
                    waited += 1
                rows, self._analysis_rows = self._analysis_rows[:ANALYSIS_CHUNK], self._analysis_rows[ANALYSIS_CHUNK:]
                try:
                    await loop.run_in_executor(self._db, self.store.set_comment_analysis, rows)
                except Exception:
                    log.exception("could not record %d analyses", len(rows))
        finally:
            self._recording = False

    # ---- answers, talking points, pitch-next (the answer thread) ----
    def _after_batch(self, live: LiveRoom, analyses: list[Any], cards: list[Card], upto: int) -> None:
        want_answers = self._has(live, "bot") and self.answerer is not None
        new_groups = [c for c in cards if c.kind == "question_group" and not c.talking_point]
        if self.answerer is not None and (want_answers or new_groups):
            questions = [a for a in analyses if want_answers and a.top_intent in ANSWERABLE_INTENTS
                         and not a.rejected]
            live.answer_queue.append((questions, new_groups, upto))
            waiting = sum(len(q) for q, _, _ in live.answer_queue)
            if waiting > self.config.max_answer_backlog:
                # Answers cannot keep up: the oldest questions go unanswered, and bots are told so.
                dropped, _, _ = live.answer_queue.popleft()
                self._broadcast(live, ("bot",), p.encode(p.OverloadedMsg(retry_after_ms=1000, rejected=len(dropped))))
            if not live.answering:
                live.answering = True
                self._spawn(self._answer_stage(live))
        self._maybe_pitch(live)

    async def _answer_stage(self, live: LiveRoom) -> None:
        """Drain the room's answer queue, coalescing what piled up into one thread call."""
        loop = asyncio.get_running_loop()
        try:
            while live.answer_queue:
                jobs = list(live.answer_queue)
                live.answer_queue.clear()
                questions = [a for q, _, _ in jobs for a in q]
                groups = [g for _, gs, _ in jobs for g in gs]
                upto = jobs[-1][2]
                try:
                    items, cards = await loop.run_in_executor(self._answers, self._answer_batch, live, questions, groups)
                except Exception:
                    log.exception("answering failed in room %s", live.room_id)
                    continue
                if items:
                    self._broadcast(live, ("bot",), p.encode(p.AnswersMsg(upto_seq=upto, answers=items)))
                if cards:
                    self._broadcast(live, ("host",), p.encode(p.CardsMsg(upto_seq=upto,
                                                                         cards=[card_model(c) for c in cards])))
        finally:
            live.answering = False

    def _answer(self, live: LiveRoom, question: str, product_id: str | None, intent: str | None,
                key: str | None) -> Any:
        """One answer, cached per question group (or text) and product: a group asks one question."""
        cache_key = (key or question, product_id)
        hit = live.answers.get(cache_key)
        if hit is not None:
            live.answers.move_to_end(cache_key)
            return hit
        answer = self.answerer.answer(question, room=live.state, product_id=product_id, intent=intent)
        live.answers[cache_key] = answer
        if len(live.answers) > self.config.answer_cache_size:
            live.answers.popitem(last=False)
        return answer

    def _answer_batch(self, live: LiveRoom, questions: list[Any], groups: list[Card]) -> tuple[list[p.AnswerItem], list[Card]]:
        items = []
        for a in questions:
            ans = self._answer(live, a.text, a.product_id, a.top_intent, a.group_id)
            if self.gaps is not None and ans.handoff:  # recorded on the db thread, never the loop
                self._db.submit(self.gaps.observe, live.room_id, a.text, a.product_id, ans)
            items.append(answer_item(ans, question=a.text, seq=a.seq, comment_id=a.comment_id, user_id=a.user_id,
                                     intent=a.top_intent, product_id=a.product_id, group_id=a.group_id))
        cards: list[Card] = []
        given: list[dict[str, Any]] = []
        for card in groups:
            group_id = card.id.removeprefix("group:")
            ans = self._answer(live, card.title, card.product_id, card.intent, group_id)
            if self.gaps is not None and ans.handoff and not questions:  # no bot: the group's question
                self._db.submit(self.gaps.observe, live.room_id, card.title, card.product_id, ans)
            point = ans.talking_point or ans.text
            findings = list(getattr(ans, "compliance", None) or [])
            if not findings and self.compliance is not None and point:
                findings = self.compliance.check(point)
            with live.lock:
                cards.extend(live.board.set_talking_point(group_id, point, findings))
            given.append({"ref": f"group:{group_id}", "question": card.title, "text": point, "handoff": ans.handoff,
                          "group_id": group_id, "product_id": card.product_id, "confidence": ans.confidence,
                          "reason": str(ans.reason)})
        if self.shows is not None:
            self.shows.observe_answers(live.room_id, given + [i.model_dump() for i in items])
            self.shows.observe_cards(live.room_id, cards)
        return items, cards

    def _maybe_pitch(self, live: LiveRoom) -> None:
        if self.recommender is None or not self._has(live, "host"):
            return
        now = time.time()
        if now - live.last_pitch < self.config.pitch_interval_s:
            return
        live.last_pitch = now
        self._spawn(self._pitch(live))

    async def _pitch(self, live: LiveRoom) -> None:
        def work() -> Card | None:
            interest = self.pipeline.room_interest(live.room_id)  # every live question counts
            recs = self.recommender.pitch_next(live.state, room_interest=interest, k=3)
            with live.lock:
                card = live.board.pitch_next(recs, live.state)
            if card is not None and self.shows is not None:
                self.shows.observe_cards(live.room_id, [card])
            return card
        try:
            card = await asyncio.get_running_loop().run_in_executor(self._answers, work)
        except Exception:
            log.exception("pitch-next failed in room %s", live.room_id)
            return
        if card is not None:
            self._broadcast(live, ("host",), p.encode(p.CardsMsg(upto_seq=live.last_seq, cards=[card_model(card)])))

    async def ask(self, room_id: str | None, question: str, product_id: str | None = None) -> p.AnswerItem:
        """Answer one question on demand (off the event loop); NotFoundError for an unknown room."""
        if self.answerer is None:
            raise ModelLoadError("this server has no answerer: the knowledge base was not built (see `cuecard kb`)")
        state = (await self.room(room_id)).state if room_id else None

        def work() -> tuple[Any, str | None]:
            pid = product_id
            if pid is None and state is not None:
                # The product the question names ("2号链接", "耳机…") wins over the one on stage.
                named = self.pipeline.named_product(question, state) if self.pipeline is not None else None
                pid = named or state.on_stage
            ans = self.answerer.answer(question, room=state, product_id=pid)
            if self.gaps is not None and ans.handoff:  # in the answer thread, off the loop
                self.gaps.observe(room_id, question, pid, ans)
            return ans, pid

        ans, pid = await asyncio.get_running_loop().run_in_executor(self._answers, work)
        return answer_item(ans, question=question, product_id=pid)

    # ---- subscribers ----
    async def subscribe(self, room_id: str, role: str, send: Send, close: Close,
                        since: int | None = None) -> tuple[Subscriber, AsyncIterator[str]]:
        """Register a subscriber now (so nothing is missed) and return it with its preamble."""
        live = await self.room(room_id)
        sub = Subscriber(room_id, role, send, close, queue_size=self.config.queue_size)
        live.subscribers[role].add(sub)
        return sub, self._preamble(live, sub, since)

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a subscriber (its connection ended)."""
        live = self.rooms.get(sub.room_id)
        if live is not None:
            live.subscribers[sub.role].discard(sub)
        if sub.dropped:
            self.counters["dropped_subscribers"] += 1

    async def _preamble(self, live: LiveRoom, sub: Subscriber, since: int | None) -> AsyncIterator[str]:
        yield p.encode(p.HelloMsg(room_id=live.room_id, role=sub.role, last_seq=live.last_seq,
                                  on_stage=live.state.on_stage, lineup=live.state.lineup_ids,
                                  limits={"queue_size": self.config.queue_size, "max_batch": p.MAX_BATCH}))
        if since is not None:
            async for frame in self._replay(live, since):
                yield frame
        if sub.role == "host":
            snapshot = None if self._leads(live) else await self.bus.get_snapshot(live.room_id)
            if snapshot is not None:
                yield snapshot  # the owner's board, kept on the bus
            else:
                with live.lock:
                    cards = [] if not self._leads(live) else live.board.live_cards()
                yield p.encode(p.CardsMsg(upto_seq=live.last_seq, cards=[card_model(c) for c in cards],
                                          snapshot=True))
            self._maybe_pitch(live)

    async def _replay(self, live: LiveRoom, since: int) -> AsyncIterator[str]:
        upto, sent = since, 0
        while True:
            rows = await asyncio.to_thread(self.store.comments_since, live.room_id, upto, 500)
            sent += len(rows)
            upto = rows[-1]["seq"] if rows else upto
            truncated = bool(rows) and sent >= self.config.replay_max
            done = len(rows) < 500 or truncated
            yield p.encode(p.ReplayMsg(comments=[public_comment(r) for r in rows], upto_seq=upto,
                                       done=done, truncated=truncated))
            if done:
                return

    def _broadcast(self, live: LiveRoom, roles: Sequence[str], frame: str) -> None:
        """Send a frame to the room's subscribers: here, or through the shared bus on every instance."""
        if self.shared:
            self.bus.publish(live.room_id, RoomEvent("frame", roles=tuple(roles), frame=frame))
        else:
            self._deliver(live, roles, frame)

    def _deliver(self, live: LiveRoom, roles: Sequence[str], frame: str) -> None:
        for role in roles:
            for sub in list(live.subscribers[role]):
                if not sub.offer(frame) and sub.dropped:
                    live.subscribers[role].discard(sub)
                    self.counters["dropped_subscribers"] += 1
                    sub.dropped = False  # counted once, here

    # ---- the shared bus: ownership, events from other instances ----
    def _leads(self, live: LiveRoom) -> bool:
        """True when this instance analyses the room (always, on the in-process bus)."""
        return not self.shared or live.owner

    def _has(self, live: LiveRoom, role: str) -> bool:
        """Whether the room may have subscribers of `role` (on a shared bus, on some other instance)."""
        return self.shared or bool(live.subscribers[role])

    def _on_bus(self, room_id: str, ev: RoomEvent) -> None:
        """An event from the room's bus (published by any instance, this one included)."""
        live = self.rooms.get(room_id)
        if live is None:
            return
        if ev.kind == "frame":
            self._deliver(live, ev.roles, ev.frame)
        elif ev.kind == "comments":
            live.last_seq = max(live.last_seq, ev.seq)
            if live.owner:
                live.wakeup.set()
        elif ev.kind == "mark_done":
            if live.owner:
                self.mark_done(room_id, ev.card_id)
        elif ev.kind == "state":
            self._spawn(self.refresh_room(room_id))
        elif ev.kind == "bus_down":
            # Frames may be lost while the bus is away: tell every subscriber, who reconnects with
            # since=<last seq> and gets what it missed from the store.
            text = p.encode(p.ErrorMsg(code="bus_unavailable", close=int(p.CloseCode.BUS_UNAVAILABLE),
                                       reason="the room bus went away; reconnect with since=<last seq>"))
            for subs in live.subscribers.values():
                for sub in list(subs):
                    sub.close(p.CloseCode.BUS_UNAVAILABLE, "room bus unavailable", text)

    async def _lease_loop(self) -> None:
        """Renew the leases this instance holds; claim rooms whose owner went away."""
        while True:
            await asyncio.sleep(self.bus.lease_ms / 4000)
            for room_id, live in list(self.rooms.items()):
                try:
                    got = await self.bus.claim(room_id)
                    if got and not live.owner:
                        log.warning("instance %s takes over room %s", self.bus.instance_id, room_id)
                        await self._take_over(live)
                    elif not got and live.owner:
                        log.warning("instance %s lost room %s's lease", self.bus.instance_id, room_id)
                        self._give_up(live)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("lease renewal failed for room %s", room_id)

    async def _take_over(self, live: LiveRoom) -> None:
        """Become the room's owner: rebuild its groups and board from the store, then analyse."""
        live.owner = True
        live.board = CardBoard(live.room_id, self.config.board)
        question_groups = getattr(self.pipeline, "question_groups", None)
        if question_groups is not None and hasattr(question_groups, "reset"):
            question_groups.reset(live.room_id)  # whatever this instance held before is stale

        def rebuild() -> tuple[int, list[Any]]:
            last = self.store.last_comment_seq(live.room_id)
            cutoff = time.time() - self.config.rebuild_window_s
            rows = self.store.comments_since(live.room_id, max(0, last - self.config.rebuild_max),
                                             self.config.rebuild_max)
            past = [_stored(r) for r in rows if r["seq"] <= last and float(r["ts"]) >= cutoff]
            unanalysed = {r["seq"] for r in rows if r["analysis"] is None}
            fresh: list[Any] = []
            if self.pipeline is not None:
                for at in range(0, len(past), self.config.batch_max):
                    analyses, _ = self._analyze(live, past[at:at + self.config.batch_max])
                    fresh.extend(a for a in analyses if a.seq in unanalysed)
            return last, fresh

        last, fresh = await asyncio.get_running_loop().run_in_executor(self._model, rebuild)
        live.queued_upto = max(live.queued_upto, last)
        live.last_seq = max(live.last_seq, last)
        self._record(fresh)
        with live.lock:
            cards = live.board.live_cards()
        self._broadcast(live, ("host",), p.encode(p.CardsMsg(upto_seq=last, cards=[card_model(c) for c in cards],
                                                             snapshot=True)))
        await self._keep_snapshot(live)
        live.tasks.append(asyncio.create_task(self._analyzer(live), name=f"analyzer-{live.room_id}"))
        live.wakeup.set()  # anything stored since `last`

    def _give_up(self, live: LiveRoom) -> None:
        """Stop analysing a room whose lease another instance now holds."""
        live.owner = False
        for task in live.tasks:
            task.cancel()
        live.tasks.clear()
        live.pending.clear()

    async def _pull(self, live: LiveRoom) -> None:
        """Owner on a shared bus: queue what every instance stored since the last pull, in seq order."""
        if live.pending or live.queued_upto >= live.last_seq:
            return
        limit = max(self.config.batch_max * 4, 1)
        rows = await asyncio.get_running_loop().run_in_executor(
            self._db, self.store.comments_since, live.room_id, live.queued_upto, limit)
        if rows:
            live.queued_upto = rows[-1]["seq"]
            live.pending.extend(_stored(r) for r in rows)
        if len(rows) == limit:
            live.wakeup.set()  # more to come

    async def _keep_snapshot(self, live: LiveRoom) -> None:
        """Owner: keep the live board on the bus for hosts that connect to other instances."""
        with live.lock:
            cards = live.board.live_cards()
        await self.bus.set_snapshot(live.room_id, p.encode(p.CardsMsg(
            upto_seq=live.last_seq, cards=[card_model(c) for c in cards], snapshot=True)))

    async def room_stats(self, room_id: str, msg: Any) -> None:
        """A connector's room statistics: audience alert cards (assistant/alerts.py, issue 13) to hosts."""
        live = await self.room(room_id)
        if self.alerts is not None and (cards := self.alerts.stats_cards(room_id, msg, live.last_seq)):
            self._broadcast(live, ("host",), p.encode(p.CardsMsg(upto_seq=live.last_seq, cards=[card_model(c) for c in cards])))

    def mark_done(self, room_id: str, card_id: str) -> bool:
        """Mark a card done for every host of the room; False when no such live card."""
        live = self.rooms.get(room_id)
        if live is None:
            return False
        if not self._leads(live):  # the owner holds the board: it marks and tells every host
            self.bus.publish(room_id, RoomEvent("mark_done", card_id=card_id))
            return True
        with live.lock:
            ok = live.board.mark_done(card_id)
        if ok:
            self._broadcast(live, ("host",), p.encode(p.CardDoneMsg(card_id=card_id)))
        return ok

    async def _stats_loop(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(self.config.stats_interval_s)
            ticks += 1
            if ticks % 30 == 0:  # product rows change (price, stock) through other routes: re-read them
                for room_id in list(self.rooms):
                    with contextlib.suppress(Exception):
                        await self.refresh_room(room_id)
            now = time.time()
            upto = int(now) - 1  # the last whole second: the current one is still filling
            for live in list(self.rooms.values()):
                after = live.stats_sec or upto - 1
                if not self._leads(live) or not self._has(live, "host") or upto <= after:
                    continue
                live.stats_sec = upto
                with live.lock:
                    stats = live.board.stats(after, upto)
                subs = len(live.subscribers["host"]) + len(live.subscribers["bot"])
                self._broadcast(live, ("host",), p.encode(p.StatsMsg(
                    ts=float(upto + 1), window_s=float(upto - after), backlog=len(live.pending),
                    subscribers=subs, **stats)))


def _stored(row: dict[str, Any]) -> StoredComment:
    """A stored comment row as the pipeline takes it."""
    return StoredComment(seq=row["seq"], room_id=row["room_id"], platform=row["platform"],
                         comment_id=row["comment_id"], user_id=row["user_id"], text=row["text"],
                         ts=float(row["ts"]), inserted=True)
