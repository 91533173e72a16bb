"""Closing the records a crash left open, billed no further than the switch was seen alive.

The writer keeps ``cdr-heartbeat.json`` in the data folder: for each of the
last few runs, when it started and when it was last known alive (refreshed
every few seconds). A file rather than a table, so that it keeps ticking while
the database is down. An open record belongs to the last run that started
before it; it is closed at that run's last heartbeat (never before its own
start), so a crash can only ever shorten a bill, never lengthen it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from provisioning.cdr_models import CallRecordRow, to_milliseconds
from provisioning.db import Database

from .record import ClosedBy, Disposition
from .store import record_from_row

log = logging.getLogger(__name__)

HEARTBEAT_NAME = "cdr-heartbeat.json"
KEEP_RUNS = 32


@dataclass(frozen=True, slots=True)
class RunSpan:
    """One run of the switch, in POSIX seconds: started, and last known alive."""

    started: float
    alive: float


class Heartbeat:
    """The run history file; written atomically (temporary file, fsync, rename)."""

    def __init__(self, data_dir: Path, keep: int = KEEP_RUNS) -> None:
        self.path = data_dir / HEARTBEAT_NAME
        self._keep = keep
        self._runs: list[RunSpan] = []

    def load(self) -> list[RunSpan]:
        """The recorded runs, oldest first; an absent or damaged file means none."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            runs = [RunSpan(float(r["started"]), float(r["alive"])) for r in data["runs"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            return []
        return sorted(runs, key=lambda r: r.started)

    def begin(self, now: float) -> list[RunSpan]:
        """Record a new run starting at ``now``; returns the runs before it."""
        previous = self.load()
        self._runs = [*previous, RunSpan(now, now)][-self._keep :]
        self._save()
        return previous

    def beat(self, now: float) -> None:
        """This run is alive at ``now``."""
        if not self._runs:
            self.begin(now)
            return
        self._runs[-1] = RunSpan(self._runs[-1].started, max(now, self._runs[-1].alive))
        self._save()

    def _save(self) -> None:
        body = {"runs": [{"started": r.started, "alive": r.alive} for r in self._runs]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(body, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def end_bound(start: datetime, runs: Sequence[RunSpan]) -> datetime:
    """The latest moment a call that started at ``start`` can have lasted to."""
    moment = start.timestamp()
    owners = [run for run in runs if run.started <= moment]
    if not owners:
        return start
    owner = max(owners, key=lambda run: run.started)
    if owner.alive <= moment:
        return start
    return to_milliseconds(datetime.fromtimestamp(owner.alive, UTC))


def recover_open_records(
    engine: Engine,
    now: float,
    *,
    runs: Sequence[RunSpan] = (),
    skip_ids: Collection[str] = (),
) -> int:
    """Close records left open by earlier runs; returns how many were closed.

    ``now`` is when this run started: records that started since belong to it
    and stay open. ``runs`` is the heartbeat history (without it, each record
    ends at its own start); ``skip_ids`` are records finished in a spool that
    has not been replayed yet.
    """
    cutoff = datetime.fromtimestamp(now, UTC)
    closed = 0
    with Database(engine).writing() as session:
        query = (
            select(CallRecordRow)
            .where(CallRecordRow.end_time.is_(None), CallRecordRow.start_time < cutoff)
            .with_for_update()
        )
        for row in session.scalars(query).all():
            if row.id in skip_ids:
                continue
            record = record_from_row(row)
            record.end_time = min(end_bound(row.start_time, runs), to_milliseconds(cutoff))
            record.closed_by = ClosedBy.RECOVERY
            record.disposition = (
                Disposition.ANSWERED if record.answer_time is not None else Disposition.FAILED
            )
            row.end_time = record.end_time
            row.closed_by = record.closed_by
            row.disposition = record.disposition
            row.duration_seconds = round(record.duration_seconds, 3)
            row.billable_seconds = record.billable_seconds
            closed += 1
    if closed:
        log.warning("closed %d call record(s) left open by a crash", closed)
    return closed
