"""The asyncio writer: batching, database outages, the spool, replay and set-aside records."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from provisioning.db import Database
from switch.cdr.record import CallRecord
from switch.cdr.spool import REJECTED_NAME, SPOOL_NAME
from switch.cdr.store import InvalidRecord
from switch.cdr.writer import CdrWriter

from .outage import Outage, unreachable_engine, until, writer_engine
from .records import finished, started, stored

FAST: dict[str, Any] = {
    "batch_interval": 0.01,
    "retry_initial": 0.05,
    "retry_max": 0.2,
    "recover": False,
}


@asynccontextmanager
async def running(writer: CdrWriter) -> AsyncIterator[CdrWriter]:
    task = asyncio.create_task(writer.run())
    try:
        yield writer
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def calls(count: int, first: int = 0) -> list[CallRecord]:
    return [started(n) for n in range(first, first + count)]


def open_and_finish(writer: CdrWriter, records: list[CallRecord]) -> None:
    for record in records:
        writer.open(record)
    for record in records:
        writer.finish(finished(record))


def all_finished(engine: Engine, records: list[CallRecord]) -> bool:
    rows = stored(engine)
    return len(rows) == len(records) and all(
        rows[r.id].end_time is not None and rows[r.id].disposition is not None for r in records
    )


async def test_records_are_written_in_batches(engine: Engine, data_dir: Path) -> None:
    transactions: list[int] = []
    event.listen(engine, "begin", lambda _connection: transactions.append(1))
    writer = CdrWriter(engine, data_dir, batch_size=50, **FAST)
    records = calls(200)
    async with running(writer):
        open_and_finish(writer, records)
        assert writer.queue_depth == 400  # nothing written on the caller's turn
        await until(lambda: writer.written == 400)
    assert all_finished(engine, records)
    assert len(transactions) <= 12  # 8 full batches, not 400 single writes
    assert (writer.queue_depth, writer.spool_size, writer.write_failures) == (0, 0, 0)


async def test_flush_writes_everything_pending(engine: Engine, data_dir: Path) -> None:
    writer = CdrWriter(engine, data_dir, **FAST)
    records = calls(30)
    open_and_finish(writer, records)
    assert await writer.flush(timeout=5) is True
    assert all_finished(engine, records)


def test_open_refuses_a_malformed_record(tmp_path: Path, data_dir: Path) -> None:
    writer = CdrWriter(writer_engine(f"sqlite:///{tmp_path / 'unused.db'}"), data_dir, **FAST)
    record = started(1)
    record.id = "x"
    with pytest.raises(InvalidRecord):
        writer.open(record)
    assert writer.queue_depth == 0


async def test_outage_spools_then_replays_in_order(
    db_url: str, engine: Engine, data_dir: Path
) -> None:
    own = writer_engine(db_url)
    outage = Outage(own)
    writer = CdrWriter(own, data_dir, batch_size=25, **FAST)
    before, during, after = calls(10), calls(40, first=100), calls(10, first=200)
    async with running(writer):
        open_and_finish(writer, before)
        await until(lambda: writer.written == 20)

        outage.begin()
        for record in during:
            writer.open(record)
        await until(lambda: writer.spool_size == 40)
        for record in during:
            writer.finish(finished(record))
        await until(lambda: writer.spool_size == 80 and writer.queue_depth == 0)
        assert writer.write_failures >= 1
        assert len(stored(engine)) == 10  # the outage is real: nothing new arrived
        open_and_finish(writer, after)  # still spooled: they must stay behind the others
        await until(lambda: writer.spool_size == 100)

        outage.end()
        await until(lambda: writer.spool_size == 0 and writer.queue_depth == 0)
    assert all_finished(engine, before + during + after)
    assert not (data_dir / SPOOL_NAME).exists()
    assert not list(data_dir.glob("*.replaying"))
    own.dispose()


async def test_spool_left_by_a_run_without_database_is_replayed_at_start(
    db_url: str, engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    dead = unreachable_engine(db_url, tmp_path)
    records = calls(60)
    first = CdrWriter(dead, data_dir, **FAST)
    open_and_finish(first, records[:40])
    for record in records[40:]:
        first.open(record)  # these calls were still going on when the run ended
    assert await first.flush(timeout=5) is False
    assert first.spool_size == 100
    dead.dispose()

    second = CdrWriter(engine, data_dir, **FAST)
    assert second.spool_size == 100
    async with running(second):
        await until(lambda: second.spool_size == 0)
    rows = stored(engine)
    assert len(rows) == 60
    assert all(rows[r.id].end_time is not None for r in records[:40])
    assert all(rows[r.id].end_time is None for r in records[40:])
    assert not (data_dir / SPOOL_NAME).exists()


async def test_flush_is_bounded_and_spools_what_it_could_not_write(
    tmp_path: Path, data_dir: Path
) -> None:
    # Nothing reaches the database here, so its kind does not matter.
    own = writer_engine(f"sqlite:///{tmp_path / 'hanging.db'}")
    outage = Outage(own)
    outage.begin()
    outage.hang = threading.Event()  # a database that hangs instead of refusing
    writer = CdrWriter(own, data_dir, **FAST)
    open_and_finish(writer, calls(5))
    began = time.monotonic()
    assert await writer.flush(timeout=0.2) is False
    assert time.monotonic() - began < 2
    assert (writer.spool_size, writer.queue_depth) == (10, 0)
    outage.hang.set()
    await asyncio.sleep(0.05)  # let the abandoned attempt fail in its thread
    own.dispose()


def _refuse_call_id(engine: Engine, call_id: str) -> None:
    with Database(engine).writing() as session:
        if engine.dialect.name == "sqlite":
            session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON call_records "
                    f"WHEN NEW.call_id = '{call_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            session.execute(
                text(
                    f"ALTER TABLE call_records ADD CONSTRAINT refuse CHECK (call_id <> '{call_id}')"
                )
            )


async def test_a_record_the_database_refuses_is_set_aside(engine: Engine, data_dir: Path) -> None:
    records = calls(6)
    poison = records[3]
    _refuse_call_id(engine, poison.call_id)
    writer = CdrWriter(engine, data_dir, **FAST)
    open_and_finish(writer, records)
    assert await writer.flush(timeout=5) is True
    rows = stored(engine)
    assert set(rows) == {r.id for r in records} - {poison.id}
    assert writer.rejected == 2  # its open and its finish
    rejected = [json.loads(line) for line in (data_dir / REJECTED_NAME).read_text().splitlines()]
    assert [entry["op"]["record"]["id"] for entry in rejected] == [poison.id, poison.id]
    assert all(entry["reason"] for entry in rejected)


async def test_heartbeat_is_kept_while_running(engine: Engine, data_dir: Path) -> None:
    now = [1_000.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    writer = CdrWriter(engine, data_dir, heartbeat_interval=0.02, clock=clock, **FAST)
    path = data_dir / "cdr-heartbeat.json"

    def alive() -> float:
        if not path.exists():
            return 0.0
        return float(json.loads(path.read_text())["runs"][-1]["alive"])

    async with running(writer):
        await until(lambda: alive() == 1_000.0)
        now[0] = 1_042.5
        await until(lambda: alive() == 1_042.5)
