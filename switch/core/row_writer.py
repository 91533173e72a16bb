"""Writes audit rows (notifications, incidents, alerts) off the packet path, in batches.

Rows are kept in memory until the database takes them; a few failed attempts are
retried, so a short outage loses nothing. Each row is an ORM object built on the
event loop and added in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session

log = logging.getLogger(__name__)

MAX_PENDING = 100_000
RETRY_SECONDS = 2.0


class RowWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending: deque[DeclarativeBase] = deque()
        self._wakeup = asyncio.Event()
        self.failures = 0

    def add(self, row: DeclarativeBase) -> None:
        if len(self._pending) >= MAX_PENDING:
            log.error("audit row queue full; dropping the oldest row")
            self._pending.popleft()
        self._pending.append(row)
        self._wakeup.set()

    def _write(self, rows: list[DeclarativeBase]) -> None:
        with Session(self._engine) as session, session.begin():
            session.add_all(rows)

    async def flush(self) -> bool:
        if not self._pending:
            return True
        rows = list(self._pending)
        self._pending.clear()
        try:
            await asyncio.to_thread(self._write, rows)
        except SQLAlchemyError as exc:
            self.failures += 1
            log.warning("audit rows not written yet (%s); will retry", exc.__class__.__name__)
            self._pending.extendleft(reversed(rows))
            return False
        return True

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not await self.flush():
                await asyncio.sleep(RETRY_SECONDS)
                self._wakeup.set()
