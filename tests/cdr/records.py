"""Call records as the proxy builds them, and what the database holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from provisioning.cdr_models import CallRecordRow
from provisioning.db import Database
from switch.cdr.record import CallRecord, ClosedBy, Direction, Disposition, HangupBy
from switch.cdr.store import CALL_RECORDS, record_from_row

BASE = datetime(2026, 11, 10, 14, 0, 0, tzinfo=UTC)


def started(number: int, *, account_id: int | None = 7, at: datetime | None = None) -> CallRecord:
    """A record as the proxy opens it: every field known at INVITE time is set.

    Starts ``number`` seconds after BASE, with microseconds on purpose (records
    are kept to the millisecond), unless ``at`` says when.
    """
    start = BASE + timedelta(seconds=number, microseconds=123456) if at is None else at
    return CallRecord(
        call_id=f"call-{number}@192.0.2.10",
        start_time=start,
        direction=Direction.OUTBOUND,
        parent_call_id=f"parent-{number}" if number % 2 else None,
        account_id=account_id,
        extension_id=30 + number,
        device_id=40 + number,
        caller_presented="1001",
        caller_asserted="+12125550100",
        dialled="2125550199",
        destination="+12125550199",
        destination_class="domestic",
        policy_verdict="allow_flagged",
        policy_rule="cos-default",
        policy_reason="first call to a new country",
        trunk="carrier-a",
        source_address="udp:192.0.2.10:5060",
        user_agent="Yealink SIP-T46U 108.86.0.20",
        flags=["e911-location-fallback"],
    )


def finished(record: CallRecord, *, talk: float = 61.25) -> CallRecord:
    """The same call answered after 2.5 s and hung up by the caller ``talk`` seconds later."""
    record.answer_time = record.start_time + timedelta(seconds=2.5)
    record.end_time = record.answer_time + timedelta(seconds=talk)
    record.sip_status = 200
    record.disposition = Disposition.ANSWERED
    record.hangup_by = HangupBy.CALLER
    record.closed_by = ClosedBy.SIGNALLING
    return record


def stored(engine: Engine) -> dict[str, CallRecord]:
    with Database(engine).reading() as session:
        return {row.id: record_from_row(row) for row in session.scalars(select(CallRecordRow))}


def stored_rows(engine: Engine) -> dict[str, dict[str, Any]]:
    """Raw column values, including the computed ones."""
    with Database(engine).reading() as session:
        rows = session.execute(select(CALL_RECORDS)).mappings()
        return {row["id"]: dict(row) for row in rows}
