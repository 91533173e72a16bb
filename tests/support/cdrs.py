"""Reads the call records the switch wrote (they are written in the background: poll),
and checks what every record must satisfy whatever the call was."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from provisioning.cdr_models import CallRecordRow

# How long an answered call's billable time may exceed the time it was held: signalling
# crosses loopback, but a loaded test machine can delay a BYE by a second or so.
BILLING_SLACK = 2
# Long enough for the writer (it batches every 0.2 s) to store a record that was opened.
SETTLE = 1.5


def call_records(
    database_url: str,
    *,
    until: Callable[[list[CallRecordRow]], bool] = lambda rows: bool(rows),
    timeout: float = 8.0,
) -> list[CallRecordRow]:
    """All records, oldest first, once ``until`` holds (or the timeout passes)."""
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with Session(engine, expire_on_commit=False) as session:
                    rows = list(
                        session.scalars(select(CallRecordRow).order_by(CallRecordRow.start_time))
                    )
            except (OperationalError, ProgrammingError):
                rows = []
            if until(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)
    finally:
        engine.dispose()


def finished(count: int = 1) -> Callable[[list[CallRecordRow]], bool]:
    return lambda rows: len(rows) >= count and all(r.end_time is not None for r in rows)


def describe(rows: list[CallRecordRow]) -> str:
    """The rows in a failure message: enough to see which call went wrong, and how."""
    return "\n".join(
        f"{r.call_id} {r.direction} {r.disposition} {r.sip_status} hangup={r.hangup_by!r} "
        f"closed={r.closed_by} dest={r.destination} start={r.start_time} "
        f"answer={r.answer_time} end={r.end_time}"
        for r in rows
    )


def finished_records(database_url: str, count: int, *, timeout: float = 8.0) -> list[CallRecordRow]:
    """Exactly ``count`` finished records, oldest first. The writer stores operations in
    the order they were made, so once the last call's end is stored every record opened
    before it is too: a surplus record shows up here."""
    rows = call_records(database_url, until=finished(count), timeout=timeout)
    assert len(rows) == count, f"expected {count} record(s), found:\n{describe(rows)}"
    assert all(r.end_time is not None for r in rows), f"record left open:\n{describe(rows)}"
    return rows


def only_record(database_url: str, *, timeout: float = 8.0) -> CallRecordRow:
    """The one finished record of the one call attempt the test made."""
    [record] = finished_records(database_url, 1, timeout=timeout)
    return record


def no_records(database_url: str, *, settle: float = SETTLE) -> None:
    """Nothing was recorded, not even a record still open."""
    rows = call_records(database_url, timeout=settle)
    assert not rows, f"expected no record, found:\n{describe(rows)}"


def check_unanswered(record: CallRecordRow) -> None:
    """A call that never connected: no answer time, nothing to bill, closed by its final
    response and hung up by nobody."""
    assert record.answer_time is None, describe([record])
    assert record.billable_seconds == 0, describe([record])
    assert record.end_time is not None and record.start_time <= record.end_time
    assert record.hangup_by == "", describe([record])
    assert record.closed_by == "signalling", describe([record])


def check_answered(record: CallRecordRow, *, held: float, slack: int = BILLING_SLACK) -> None:
    """An answered call held ``held`` seconds (as one side timed it): ordered times, and
    billable time from answer to end, rounded up, no less than the hold and barely more."""
    assert record.disposition == "answered", describe([record])
    assert record.sip_status == 200, describe([record])
    answer, end = record.answer_time, record.end_time
    assert answer is not None and end is not None, describe([record])
    assert record.start_time <= answer <= end, describe([record])
    talked = (end - answer).total_seconds()
    assert record.billable_seconds == math.ceil(talked), describe([record])
    lowest = max(0, math.ceil(held - 0.002))  # stored times are cut to the millisecond
    assert lowest <= record.billable_seconds <= math.ceil(held) + slack, (
        f"held {held:.3f} s, billed {record.billable_seconds} s\n{describe([record])}"
    )
    assert record.duration_seconds >= talked - 0.001
