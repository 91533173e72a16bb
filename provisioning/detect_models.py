"""The ``abuse_alerts`` table: every alert of the abuse detectors, with its evidence.

The switch inserts the rows; operators acknowledge them and lift the restrictions an
alert caused (``switchctl alert``). ``uid`` is the switch's own id for the alert, by
which a lift reaches the restrictions held in the running switch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from provisioning.models import Base, UTCDateTime, utcnow


class AbuseAlert(Base):
    __tablename__ = "abuse_alerts"
    __table_args__ = (
        Index("ix_abuse_alerts_uid", "uid", unique=True),
        Index("ix_abuse_alerts_at", "at"),
        Index("ix_abuse_alerts_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    detector: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[int | None] = mapped_column(Integer)
    window_start: Mapped[float] = mapped_column(Float)
    window_end: Mapped[float] = mapped_column(Float)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    explanation: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(128))
