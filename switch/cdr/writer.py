"""The CDR pipeline on the event loop: queue, batch, write off-loop, spool when the database fails.

``open`` and ``finish`` only validate, copy and queue. ``run`` writes batches
(up to ``batch_size`` operations, or whatever arrived within
``batch_interval``) from a worker thread. A batch the database does not take
is appended to the spool and the database is retried with exponential
backoff; while anything is spooled, new batches are spooled behind it, so
the database always receives operations in the order they were made. At
start the writer replays a left-over spool, then closes the records earlier
runs left open (see :mod:`switch.cdr.recovery`).

Shutdown: cancel the ``run`` task, then ``await flush(timeout)``; whatever
cannot reach the database in time ends up in the spool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from provisioning.db import describe_failure

from .record import CallRecord
from .recovery import Heartbeat, RunSpan, recover_open_records
from .spool import Spool
from .store import CdrOp, CdrStore, OpKind, snapshot

log = logging.getLogger(__name__)

# The database refuses these operations for what they contain: retrying cannot help.
_REFUSED = (IntegrityError, DataError)


class CdrWriter:
    """Accepts records from the proxy; metrics: ``queue_depth``, ``spool_size``,
    ``write_failures``, ``rejected``, ``recovered``."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        *,
        batch_size: int = 500,
        batch_interval: float = 0.2,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        heartbeat_interval: float = 5.0,
        replay_batches_per_step: int = 20,
        recover: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._store = CdrStore(engine)
        self._spool = Spool(data_dir)
        self._heartbeat = Heartbeat(data_dir)
        self._batch_size = batch_size
        self._batch_interval = batch_interval
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._heartbeat_interval = heartbeat_interval
        self._replay_batches = replay_batches_per_step
        self._clock = clock
        # Records that start from now on belong to this run; recovery leaves them alone.
        self.started = clock()
        self._queue: deque[CdrOp] = deque()
        self._inflight: Sequence[CdrOp] = ()
        self._wakeup = asyncio.Event()
        self._lock = asyncio.Lock()
        self._replay_lock = threading.Lock()  # a cancelled replay may still run in its thread
        self._replay_pos = 0
        self._retry_at: float | None = None
        self._backoff = retry_initial
        self._stalled = False  # neither the database nor the spool took the last batch
        self._recovery_pending = recover
        self._previous_runs: list[RunSpan] = []
        self._next_beat = 0.0
        self.write_failures = 0
        self.rejected = 0
        self.recovered = 0
        self.written = 0

    # Metrics -------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        return len(self._queue) + len(self._inflight)

    @property
    def stalled(self) -> bool:
        """Neither the database nor the spool took the last batch: records are at risk."""
        return self._stalled

    @property
    def spool_size(self) -> int:
        return self._spool.size

    # Producer side (event loop, never blocks) ------------------------------

    def open(self, record: CallRecord) -> None:
        """Queue the insert of a new call; raises :class:`InvalidRecord` for a malformed one."""
        self._enqueue(snapshot(OpKind.OPEN, record))

    def update(self, record: CallRecord) -> None:
        """Queue the state of a call still going on (answered): written unless finished."""
        self._enqueue(snapshot(OpKind.UPDATE, record))

    def finish(self, record: CallRecord) -> None:
        """Queue the final state of a call (``end_time`` and ``disposition`` must be set)."""
        self._enqueue(snapshot(OpKind.FINISH, record))

    def _enqueue(self, op: CdrOp) -> None:
        self._queue.append(op)
        if len(self._queue) == 1 or len(self._queue) >= self._batch_size:
            self._wakeup.set()

    # Background task -------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._previous_runs = await asyncio.to_thread(self._heartbeat.begin, self.started)
        except OSError as exc:
            log.warning("cannot record the CDR heartbeat: %s", exc)
        self._next_beat = loop.time() + self._heartbeat_interval
        while True:
            async with self._lock:
                await self._step(recover=True)
            await self._beat_if_due(loop)
            await self._sleep_until_work(loop)

    async def flush(self, timeout: float = 5.0) -> bool:
        """Write everything queued now, retrying the database once whatever the backoff says.

        Returns True when the database holds everything; False when some
        operations are (durably) in the spool instead. After ``timeout``
        seconds whatever is still queued is spooled.
        """
        try:
            async with asyncio.timeout(timeout), self._lock:
                self._retry_at = None
                while self._spool.pending and self._retry_at is None:
                    await self._replay()
                await self._drain_queue()
        except TimeoutError:
            await self._spool_queue()
        return not self._queue and not self._spool.pending

    async def _step(self, *, recover: bool) -> None:
        if self._due() and self._spool.pending:
            await self._replay()
        if recover and self._recovery_pending and self._due() and not self._spool.pending:
            await self._recover()
        await self._drain_queue()

    async def _sleep_until_work(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        deadline = self._next_beat
        if self._spool.pending or self._recovery_pending or self._stalled:
            deadline = min(deadline, self._retry_at if self._retry_at is not None else now)
        if not self._queue or self._stalled:
            await self._wait(deadline - now)
        elif len(self._queue) < self._batch_size:
            await self._wait(self._batch_interval)  # gather a batch; a full one wakes us

    async def _wait(self, timeout: float) -> None:
        if timeout > 0:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that arrives as the event is set, and the task never stops.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
        self._wakeup.clear()

    async def _beat_if_due(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop.time() < self._next_beat:
            return
        self._next_beat = loop.time() + self._heartbeat_interval
        try:
            await asyncio.to_thread(self._heartbeat.beat, self._clock())
        except OSError as exc:
            log.warning("cannot record the CDR heartbeat: %s", exc)

    # Retry bookkeeping -------------------------------------------------------

    def _due(self) -> bool:
        return self._retry_at is None or asyncio.get_running_loop().time() >= self._retry_at

    def _failed(self, what: str, exc: BaseException) -> None:
        self.write_failures += 1
        if isinstance(exc, SQLAlchemyError | OSError):
            log.warning(
                "%s failed, retry in %.1f s: %s", what, self._backoff, describe_failure(exc)
            )
        else:
            log.error("%s failed, retry in %.1f s", what, self._backoff, exc_info=exc)
        self._retry_at = asyncio.get_running_loop().time() + self._backoff
        self._backoff = min(self._backoff * 2, self._retry_max)

    def _succeeded(self) -> None:
        self._retry_at = None
        self._backoff = self._retry_initial
        self._stalled = False  # worth trying the spool again too

    # Writing -----------------------------------------------------------------

    async def _drain_queue(self) -> None:
        while self._queue:
            count = min(len(self._queue), self._batch_size)
            batch = [self._queue.popleft() for _ in range(count)]
            if self._spool.pending:  # stay behind what is spooled
                if not await self._to_spool(batch):
                    return
            elif not await self._to_database(batch):
                return

    async def _to_database(self, batch: list[CdrOp]) -> bool:
        self._inflight = batch
        try:
            await asyncio.to_thread(self._apply, batch)
        except asyncio.CancelledError:
            self._queue.extendleft(reversed(batch))
            raise
        except Exception as exc:
            self._failed("writing call records", exc)
            return await self._to_spool(batch)
        finally:
            self._inflight = ()
        self._succeeded()
        self.written += len(batch)
        return True

    async def _to_spool(self, batch: list[CdrOp]) -> bool:
        self._inflight = batch
        try:
            await asyncio.to_thread(self._spool.append, batch)
        except asyncio.CancelledError:
            self._queue.extendleft(reversed(batch))
            raise
        except OSError as exc:
            # Nowhere to put them but memory; keep them and try again after a pause.
            log.error("cannot spool %d call record operation(s): %s", len(batch), exc)
            self.write_failures += 1
            self._queue.extendleft(reversed(batch))
            self._stalled = True
            self._retry_at = asyncio.get_running_loop().time() + self._backoff
            return False
        finally:
            self._inflight = ()
        self._stalled = False
        return True

    async def _spool_queue(self) -> None:
        ops = list(self._queue)
        self._queue.clear()
        if ops and not await self._to_spool(ops):
            log.error("%d call record operation(s) kept only in memory", len(ops))

    async def _replay(self) -> None:
        try:
            await asyncio.to_thread(self._replay_some)
        except Exception as exc:
            self._failed("replaying the CDR spool", exc)
        else:
            self._succeeded()

    async def _recover(self) -> None:
        try:
            self.recovered = await asyncio.to_thread(
                recover_open_records, self._engine, self.started, runs=self._previous_runs
            )
        except Exception as exc:
            self._failed("recovering open call records", exc)
        else:
            self._recovery_pending = False
            self._succeeded()

    # Worker-thread side --------------------------------------------------------

    def _apply(self, ops: Sequence[CdrOp]) -> None:
        """Write ``ops``; if the database refuses the batch, find and set aside the culprits."""
        try:
            self._store.apply(ops)
        except _REFUSED as exc:
            if len(ops) == 1:
                self._set_aside(ops, exc)
                return
            for op in ops:
                try:
                    self._store.apply([op])
                except _REFUSED as single:
                    self._set_aside([op], single)

    def _set_aside(self, ops: Sequence[CdrOp], exc: BaseException) -> None:
        self.rejected += len(ops)
        self._spool.reject(ops, describe_failure(exc))

    def _replay_some(self) -> None:
        """Replay up to ``replay_batches_per_step`` batches, oldest first."""
        with self._replay_lock:
            for _ in range(self._replay_batches):
                path = self._spool.take_for_replay()
                if path is None:
                    return
                chunk = self._spool.read_chunk(path, self._replay_pos, self._batch_size)
                self._apply(chunk.ops)
                for line, reason in chunk.unreadable:
                    self.rejected += 1
                    self._spool.reject_line(line, reason)
                self._spool.replayed(len(chunk.ops) + len(chunk.unreadable))
                if chunk.at_eof:
                    self._spool.finish_replay()
                    self._replay_pos = 0
                else:
                    self._replay_pos = chunk.end
