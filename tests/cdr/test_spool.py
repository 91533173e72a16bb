"""The spool on disk: durability across SIGKILL, torn writes, replay after a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from switch.cdr.spool import REJECTED_NAME, Spool, encode_op
from switch.cdr.store import CdrOp, CdrStore, OpKind, snapshot
from switch.cdr.writer import CdrWriter

from .outage import until
from .records import finished, started, stored

ROOT = Path(__file__).resolve().parents[2]


def _ops(count: int) -> list[CdrOp]:
    records = [started(n) for n in range(count)]
    return [snapshot(OpKind.OPEN, r) for r in records] + [
        snapshot(OpKind.FINISH, finished(r)) for r in records
    ]


def test_append_survives_reopening_in_order(data_dir: Path) -> None:
    ops = _ops(5)
    Spool(data_dir).append(ops[:4])
    Spool(data_dir).append(ops[4:])
    spool = Spool(data_dir)
    assert spool.size == 10
    path = spool.take_for_replay()
    assert path is not None
    chunk = spool.read_chunk(path, 0, 100)
    assert chunk.at_eof
    assert [(op.kind, op.record) for op in chunk.ops] == [(op.kind, op.record) for op in ops]


def test_a_torn_last_line_is_cut_off_and_the_next_append_stays_readable(data_dir: Path) -> None:
    ops = _ops(3)
    Spool(data_dir).append(ops[:4])
    torn = encode_op(ops[4])
    with (data_dir / "cdr-spool.jsonl").open("a") as handle:
        handle.write(torn[: len(torn) // 2])  # the process died in the middle of a write
    spool = Spool(data_dir)
    assert spool.size == 4
    spool.append(ops[4:])
    path = spool.take_for_replay()
    assert path is not None
    assert len(spool.read_chunk(path, 0, 100).ops) == 6
    assert not (data_dir / REJECTED_NAME).exists()


def test_a_complete_last_line_missing_only_its_newline_is_kept(data_dir: Path) -> None:
    ops = _ops(1)
    (data_dir).mkdir(parents=True)
    (data_dir / "cdr-spool.jsonl").write_text(encode_op(ops[0]) + encode_op(ops[1]).rstrip("\n"))
    spool = Spool(data_dir)
    spool.append(ops[:1])
    path = spool.take_for_replay()
    assert path is not None
    assert len(spool.read_chunk(path, 0, 100).ops) == 3


def test_an_unreadable_line_is_set_aside_not_replayed(data_dir: Path) -> None:
    ops = _ops(1)
    data_dir.mkdir(parents=True)
    lines = encode_op(ops[0]) + "{not json}\n" + encode_op(ops[1])
    (data_dir / "cdr-spool.jsonl").write_text(lines)
    spool = Spool(data_dir)
    path = spool.take_for_replay()
    assert path is not None
    chunk = spool.read_chunk(path, 0, 100)
    assert [op.kind for op in chunk.ops] == [OpKind.OPEN, OpKind.FINISH]
    assert [line for line, _ in chunk.unreadable] == ["{not json}\n"]


async def test_the_writer_sets_unreadable_lines_aside(engine: Engine, data_dir: Path) -> None:
    ops = _ops(1)
    data_dir.mkdir(parents=True)
    lines = encode_op(ops[0]) + "{not json}\n" + encode_op(ops[1])
    (data_dir / "cdr-spool.jsonl").write_text(lines)
    writer = CdrWriter(engine, data_dir, recover=False)
    assert await writer.flush(timeout=5) is True
    assert writer.rejected == 1
    assert "{not json}" in (data_dir / REJECTED_NAME).read_text()
    assert stored(engine)[ops[0].record.id].end_time is not None


def test_finished_ids_lists_records_finished_in_the_spool(data_dir: Path) -> None:
    ops = _ops(2)
    spool = Spool(data_dir)
    spool.append(ops[:3])
    assert spool.finished_ids() == {ops[2].record.id}


def test_chunks_resume_at_their_offset(data_dir: Path) -> None:
    ops = _ops(5)
    spool = Spool(data_dir)
    spool.append(ops)
    path = spool.take_for_replay()
    assert path is not None
    seen, position, at_eof = [], 0, False
    while not at_eof:
        chunk = spool.read_chunk(path, position, 3)
        seen += chunk.ops
        position, at_eof = chunk.end, chunk.at_eof
    assert [op.record.id for op in seen] == [op.record.id for op in ops]


async def test_a_crash_during_replay_replays_again_without_duplicates(
    engine: Engine, data_dir: Path
) -> None:
    ops = _ops(20)
    spool = Spool(data_dir)
    spool.append(ops)
    # Replay starts, writes part of the file, then the process dies.
    path = spool.take_for_replay()
    assert path is not None and path.name.endswith(".replaying")
    CdrStore(engine).apply(spool.read_chunk(path, 0, 25).ops)
    # Meanwhile (before the crash) new operations went to a fresh spool file behind it.
    late = started(500)
    spool.append([snapshot(OpKind.OPEN, late), snapshot(OpKind.FINISH, finished(late))])

    writer = CdrWriter(engine, data_dir, batch_size=7, batch_interval=0.01, recover=False)
    assert writer.spool_size == 42
    task = asyncio.create_task(writer.run())
    try:
        await until(lambda: writer.spool_size == 0)
    finally:
        task.cancel()
    rows = stored(engine)
    assert len(rows) == 21
    assert all(row.end_time is not None for row in rows.values())
    assert list(data_dir.glob("cdr-spool*")) == []


async def test_spooled_records_survive_sigkill(engine: Engine, data_dir: Path) -> None:
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("needs SIGKILL")
    data_dir.mkdir(parents=True)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.cdr.spool_child", str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acknowledged = [child.stdout.readline().strip() for _ in range(60)]
    os.kill(child.pid, signal.SIGKILL)  # somewhere in the middle of its next batch
    rest, _ = child.communicate(timeout=10)
    acknowledged += rest.split()
    assert child.returncode == -signal.SIGKILL
    assert all(acknowledged)

    # The next start: the writer replays what the killed process left.
    writer = CdrWriter(engine, data_dir, batch_interval=0.01, recover=False)
    task = asyncio.create_task(writer.run())
    try:
        await until(lambda: writer.spool_size == 0 and not list(data_dir.glob("cdr-spool*")))
    finally:
        task.cancel()
    rows = stored(engine)
    missing = [i for i in acknowledged if i not in rows or rows[i].end_time is None]
    assert missing == []
    assert len(rows) >= len(acknowledged)
