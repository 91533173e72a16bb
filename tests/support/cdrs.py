"""Reads the call records the switch wrote (they are written in the background: poll)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from provisioning.cdr_models import CallRecordRow


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
