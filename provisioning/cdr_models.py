"""The ``call_records`` table: one row per call attempt, keyed by the record's uuid.

Ids of accounts, extensions and devices are copied without foreign keys on
purpose: a billing record must never be refused (and a spool replay never
blocked) because the directory changed meanwhile. Free text from the network
(numbers, user agents, Call-IDs) is ``Text`` so that no length limit can turn
one odd call into a record the database rejects.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Dialect, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from provisioning.models import Base, UTCDateTime, _enum, check_in
from switch.cdr.record import ClosedBy, Direction, Disposition, HangupBy

OPEN_WHERE = "end_time IS NULL"


def to_milliseconds(value: datetime) -> datetime:
    """``value`` in UTC, cut to whole milliseconds: the precision records are kept at."""
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class MillisecondUTCDateTime(UTCDateTime):
    """UTC timestamps cut to milliseconds, so every backend returns what the CSV shows."""

    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = to_milliseconds(value)
        return super().process_bind_param(value, dialect)


class CallRecordRow(Base):
    __tablename__ = "call_records"
    __table_args__ = (
        check_in("direction", Direction, "direction"),
        check_in("disposition", Disposition, "disposition"),
        check_in("hangup_by", HangupBy, "hangup_by"),
        check_in("closed_by", ClosedBy, "closed_by"),
        Index("ix_call_records_account_id_start_time", "account_id", "start_time"),
        Index("ix_call_records_call_id", "call_id"),
        # Only open rows are indexed: recovery scans them, and there are few.
        Index(
            "ix_call_records_open",
            "start_time",
            postgresql_where=text(OPEN_WHERE),
            sqlite_where=text(OPEN_WHERE),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    call_id: Mapped[str] = mapped_column(Text)
    parent_call_id: Mapped[str | None] = mapped_column(Text)
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    account_id: Mapped[int | None] = mapped_column(Integer)
    extension_id: Mapped[int | None] = mapped_column(Integer)
    device_id: Mapped[int | None] = mapped_column(Integer)
    caller_presented: Mapped[str | None] = mapped_column(Text)
    caller_asserted: Mapped[str | None] = mapped_column(Text)
    dialled: Mapped[str | None] = mapped_column(Text)
    destination: Mapped[str | None] = mapped_column(Text)
    destination_class: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime] = mapped_column(MillisecondUTCDateTime())
    answer_time: Mapped[datetime | None] = mapped_column(MillisecondUTCDateTime())
    end_time: Mapped[datetime | None] = mapped_column(MillisecondUTCDateTime())
    duration_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    billable_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sip_status: Mapped[int | None] = mapped_column(Integer)
    disposition: Mapped[Disposition | None] = mapped_column(_enum(Disposition))
    hangup_by: Mapped[HangupBy] = mapped_column(
        _enum(HangupBy), default=HangupBy.NONE, server_default=""
    )
    policy_verdict: Mapped[str | None] = mapped_column(Text)
    policy_rule: Mapped[str | None] = mapped_column(Text)
    policy_reason: Mapped[str | None] = mapped_column(Text)
    trunk: Mapped[str | None] = mapped_column(Text)
    source_address: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[ClosedBy | None] = mapped_column(_enum(ClosedBy))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
