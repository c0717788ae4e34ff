"""Group commit for comment ingestion: every waiting batch, from every connection, in one transaction.

SQLite takes one writer at a time; a thousand comments a second arriving over many connections
would queue on its lock one small transaction at a time. `CommentWriter` drains whatever is waiting,
writes it per room in one `Store.add_comments` call on a single writer thread, and resolves each
caller's future only after the commit, so an acknowledgement always means "stored".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.exc import DBAPIError

from knowledge.errors import UnavailableError
from knowledge.store import CommentIn, Store, StoredComment

MAX_ROWS_PER_COMMIT = 5000

_Pending = tuple[str, Sequence[CommentIn], "asyncio.Future[list[StoredComment]]"]


class CommentWriter:
    """Serialises comment writes through one thread, coalescing concurrent batches."""

    def __init__(self, store: Store, executor: ThreadPoolExecutor) -> None:
        self.store = store
        self.executor = executor
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._committing = False

    def busy(self) -> bool:
        """True while comment batches wait or are being committed."""
        return self._committing or not self._queue.empty()

    def start(self) -> None:
        """Start the writer loop on the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="comment-writer")

    async def stop(self) -> None:
        """Finish the writes already queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def write(self, room_id: str, items: Sequence[CommentIn]) -> list[StoredComment]:
        """Store `items` (idempotently) and return them stored, once committed."""
        if self._task is None:  # not started (e.g. used outside a running app): write directly
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, self.store.add_comments, room_id, list(items))
        fut: asyncio.Future[list[StoredComment]] = asyncio.get_running_loop().create_future()
        await self._queue.put((room_id, items, fut))
        return await fut

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            rows = len(batch[0][1])
            while not self._queue.empty() and rows < MAX_ROWS_PER_COMMIT:
                batch.append(self._queue.get_nowait())
                rows += len(batch[-1][1])
            self._committing = True
            try:
                results = await loop.run_in_executor(self.executor, self._commit, batch)
                for (_, _, fut), result in zip(batch, results, strict=True):
                    if not fut.done():
                        fut.set_result(result)
            except Exception as exc:  # the store failed: every waiting caller hears why
                if isinstance(exc, DBAPIError):  # the database went away: 503 / 4503 with the reason
                    exc = UnavailableError(f"database unavailable, comments not stored: {str(exc)[:200]}")
                for _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
            finally:
                self._committing = False
                for _ in batch:
                    self._queue.task_done()

    def _commit(self, batch: list[_Pending]) -> list[list[StoredComment]]:
        by_room: dict[str, list[int]] = {}
        for i, (room_id, _, _) in enumerate(batch):
            by_room.setdefault(room_id, []).append(i)
        results: list[list[StoredComment]] = [[] for _ in batch]
        for room_id, indexes in by_room.items():
            merged = [c for i in indexes for c in batch[i][1]]
            stored = self.store.add_comments(room_id, merged)
            at = 0
            for i in indexes:
                n = len(batch[i][1])
                results[i] = stored[at:at + n]
                at += n
        return results
