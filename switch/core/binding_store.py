"""Persists registrar bindings off the packet path so they survive a restart.

The registrar hands over the full binding set of a device after each change; a
background task writes the latest set per device in batches from a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from provisioning.models import Registration
from switch.transport.peer import Peer

from .location import Binding

log = logging.getLogger(__name__)


def _to_row(binding: Binding) -> Registration:
    return Registration(
        device_id=binding.device_id,
        aor=binding.aor,
        contact=binding.contact,
        instance_id=binding.instance_id,
        reg_id=binding.reg_id,
        q=binding.q,
        call_id=binding.call_id,
        cseq=binding.cseq,
        expires_at=datetime.fromtimestamp(binding.expires_at, UTC),
        source_transport=binding.source.transport,
        source_host=binding.source.host,
        source_port=binding.source.port,
        user_agent=binding.user_agent,
        updated_at=datetime.now(UTC),
    )


def _from_row(row: Registration) -> Binding:
    expires = row.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return Binding(
        device_id=row.device_id,
        aor=row.aor,
        contact=row.contact,
        expires_at=expires.timestamp(),
        call_id=row.call_id,
        cseq=row.cseq,
        source=Peer(row.source_transport, row.source_host, row.source_port),
        q=row.q,
        instance_id=row.instance_id,
        reg_id=row.reg_id,
        user_agent=row.user_agent,
    )


class BindingStore:
    def __init__(self, engine: Engine, flush_interval: float = 0.2) -> None:
        self._engine = engine
        self._pending: dict[int, list[Binding]] = {}
        self._wakeup = asyncio.Event()
        self._flush_interval = flush_interval
        self.write_failures = 0

    def load(self, now: float) -> list[Binding]:
        """Blocking: the unexpired bindings at start-up."""
        with Session(self._engine) as session:
            rows = session.scalars(select(Registration)).all()
            bindings = [_from_row(r) for r in rows]
        return [b for b in bindings if b.expires_at > now]

    def save(self, device_id: int, bindings: list[Binding]) -> None:
        """Non-blocking: remember the device's current set; the writer persists it soon."""
        self._pending[device_id] = list(bindings)
        self._wakeup.set()

    def _write(self, batch: dict[int, list[Binding]]) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(delete(Registration).where(Registration.device_id.in_(list(batch))))
            session.add_all(_to_row(b) for bindings in batch.values() for b in bindings)

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            await asyncio.to_thread(self._write, batch)
        except SQLAlchemyError as exc:
            self.write_failures += 1
            log.warning("cannot persist registrations, will retry: %s", exc.__class__.__name__)
            # Keep the newest: anything saved meanwhile wins over the failed batch.
            self._pending = {**batch, **self._pending}

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self.flush()
            if self._pending:
                self._wakeup.set()
            await asyncio.sleep(self._flush_interval)
