"""Closing records left open by a crash, bounded by the last heartbeat of their run."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from switch.cdr.record import CallRecord, ClosedBy, Disposition
from switch.cdr.recovery import KEEP_RUNS, Heartbeat, RunSpan, recover_open_records
from switch.cdr.spool import Spool
from switch.cdr.store import CdrStore, OpKind, snapshot
from switch.cdr.writer import CdrWriter

from .outage import until
from .records import BASE, finished, started, stored, stored_rows


def _at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def _open(engine: Engine, number: int, start: float, answer: float | None = None) -> CallRecord:
    record = started(number, at=_at(start))
    if answer is not None:
        record.answer_time = _at(answer)
        record.sip_status = 200
    CdrStore(engine).apply([snapshot(OpKind.OPEN, record)])
    return record


def test_open_records_are_closed_at_the_last_heartbeat(engine: Engine) -> None:
    answered = _open(engine, 1, start=10, answer=12.5)
    ringing = _open(engine, 2, start=20)
    after_last_beat = _open(engine, 3, start=150, answer=151)
    done = finished(started(4, at=_at(30)))
    CdrStore(engine).apply([snapshot(OpKind.FINISH, done)])
    current = _open(engine, 5, start=1_000, answer=1_001)  # belongs to the new run
    runs = [RunSpan(started=_at(-3600).timestamp(), alive=_at(100).timestamp())]

    closed = recover_open_records(engine, _at(1_000).timestamp(), runs=runs)

    assert closed == 3
    rows = stored_rows(engine)
    assert rows[answered.id]["end_time"] == _at(100)
    assert rows[answered.id]["closed_by"] is ClosedBy.RECOVERY
    assert rows[answered.id]["disposition"] is Disposition.ANSWERED
    assert rows[answered.id]["billable_seconds"] == 88  # 87.5 s, never past the heartbeat
    assert rows[answered.id]["duration_seconds"] == 90
    assert rows[ringing.id]["disposition"] is Disposition.FAILED
    assert rows[ringing.id]["billable_seconds"] == 0
    assert rows[after_last_beat.id]["end_time"] == _at(150)  # no sign of life after its start
    assert rows[after_last_beat.id]["billable_seconds"] == 0
    assert rows[done.id]["closed_by"] is ClosedBy.SIGNALLING
    assert rows[current.id]["end_time"] is None
    assert recover_open_records(engine, _at(1_000).timestamp(), runs=runs) == 0


def test_without_a_heartbeat_records_end_where_they_started(engine: Engine) -> None:
    record = _open(engine, 1, start=10, answer=11)
    assert recover_open_records(engine, _at(500).timestamp()) == 1
    row = stored_rows(engine)[record.id]
    assert (row["end_time"], row["billable_seconds"]) == (_at(10), 0)


def test_each_record_is_bounded_by_its_own_run(engine: Engine) -> None:
    early = _open(engine, 1, start=50, answer=51)
    late = _open(engine, 2, start=300, answer=301)
    runs = [
        RunSpan(_at(-1000).timestamp(), _at(100).timestamp()),
        RunSpan(_at(200).timestamp(), _at(500).timestamp()),
    ]
    recover_open_records(engine, _at(900).timestamp(), runs=runs)
    rows = stored_rows(engine)
    assert rows[early.id]["end_time"] == _at(100)  # not the later run's heartbeat
    assert rows[late.id]["end_time"] == _at(500)
    assert rows[late.id]["billable_seconds"] == 199


def test_records_finished_in_the_spool_are_left_alone(engine: Engine) -> None:
    record = _open(engine, 1, start=10, answer=11)
    assert recover_open_records(engine, _at(500).timestamp(), skip_ids={record.id}) == 0
    assert stored(engine)[record.id].end_time is None


def test_heartbeat_file_keeps_recent_runs(tmp_path: Path) -> None:
    heartbeat = Heartbeat(tmp_path)
    assert heartbeat.begin(100.0) == []
    heartbeat.beat(105.0)
    heartbeat.beat(104.0)  # a clock step backwards never shortens what was seen
    later = Heartbeat(tmp_path)
    assert later.begin(200.0) == [RunSpan(100.0, 105.0)]
    for start in range(KEEP_RUNS + 5):
        Heartbeat(tmp_path).begin(300.0 + start)
    runs = Heartbeat(tmp_path).load()
    assert len(runs) == KEEP_RUNS
    assert runs[-1].started == 300.0 + KEEP_RUNS + 4


def test_a_damaged_heartbeat_file_counts_as_none(tmp_path: Path) -> None:
    (tmp_path / "cdr-heartbeat.json").write_text("{not json")
    assert Heartbeat(tmp_path).load() == []


async def test_writer_replays_the_spool_then_recovers_at_start(
    engine: Engine, data_dir: Path
) -> None:
    crashed = _open(engine, 1, start=10, answer=12)
    finished_in_spool = _open(engine, 2, start=20, answer=21)
    data_dir.mkdir(parents=True)
    Spool(data_dir).append([snapshot(OpKind.FINISH, finished(finished_in_spool, talk=5))])
    heartbeat = {"runs": [{"started": _at(-60).timestamp(), "alive": _at(40).timestamp()}]}
    (data_dir / "cdr-heartbeat.json").write_text(json.dumps(heartbeat))

    writer = CdrWriter(engine, data_dir, batch_interval=0.01, clock=lambda: _at(3_600).timestamp())
    task = asyncio.create_task(writer.run())
    try:
        await until(lambda: writer.recovered == 1)
    finally:
        task.cancel()
    rows = stored_rows(engine)
    assert rows[crashed.id]["closed_by"] is ClosedBy.RECOVERY
    assert rows[crashed.id]["end_time"] == _at(40)
    assert rows[crashed.id]["billable_seconds"] == 28
    assert rows[finished_in_spool.id]["closed_by"] is ClosedBy.SIGNALLING
    assert rows[finished_in_spool.id]["billable_seconds"] == 5
    runs = Heartbeat(data_dir).load()
    assert runs[-1].started == _at(3_600).timestamp()
