"""The ``sip_traces`` table: operator requests to log every SIP message of one device.

A row is one trace, from ``created_at`` to ``until``; stopping a trace early moves its
``until`` to the moment it was stopped, so the table is also the history of who traced
which device and when. The username is copied, not a foreign key: the history stays
readable whatever happens to the device later.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from provisioning.models import Base, UTCDateTime, utcnow


class SipTrace(Base):
    __tablename__ = "sip_traces"
    __table_args__ = (Index("ix_sip_traces_username_until", "username", "until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
