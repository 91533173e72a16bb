"""The running switch: wires transports, the SIP core, the registrar and background tasks."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress

from sqlalchemy.engine import Engine

from provisioning.db import make_engine
from switch.config import Settings
from switch.sip.transaction import TransactionLayer
from switch.transport.manager import TransportManager

from .auth import Authenticator, load_nonce_secret
from .binding_store import BindingStore
from .directory import Directory, load_directory, read_version
from .dispatcher import Dispatcher
from .location import LocationService
from .registrar import Registrar

log = logging.getLogger(__name__)

DIRECTORY_POLL_SECONDS = 2.0
EXPIRY_SWEEP_SECONDS = 1.0


class SwitchService:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        self.directory = Directory()
        self.location = LocationService()
        self.store = BindingStore(self.engine)
        self.transactions = TransactionLayer()
        self.transports = TransportManager(settings, self._on_transport_error)
        self.auth = Authenticator(
            realm=settings.sip.realm,
            secret=load_nonce_secret(settings),
            algorithms=tuple(settings.sip.digest_algorithms),
            nonce_lifetime=settings.sip.nonce_lifetime,
        )
        self.registrar = Registrar(
            settings.registrar, self.auth, self.location, lambda: self.directory, self.store.save
        )
        self.dispatcher = Dispatcher(settings, self.transports, self.transactions, self.registrar)
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = asyncio.Event()

    def _on_transport_error(self, error: Exception, inbound: object) -> None:
        self.dispatcher.on_transport_error(error, inbound)

    async def start(self) -> None:
        self.directory = await asyncio.to_thread(load_directory, self.engine)
        now = time.time()
        for binding in await asyncio.to_thread(self.store.load, now):
            self.location.replace(
                binding.device_id, [*self.location.bindings(binding.device_id, now), binding]
            )
        log.info(
            "loaded %d devices, %d bindings", len(self.directory.devices), len(self.location)
        )
        await self.transports.start()
        self.dispatcher.local_ports = frozenset(self.transports.ports.values())
        for coroutine in (
            self.dispatcher.run(),
            self.store.run(),
            self._poll_directory(),
            self._sweep_expired(),
            self.dispatcher.run_timers(),
        ):
            self._tasks.append(asyncio.create_task(coroutine))
        self.ready.set()

    async def stop(self) -> None:
        await self.transports.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        await self.store.flush()
        self.engine.dispose()

    async def _poll_directory(self) -> None:
        while True:
            await asyncio.sleep(DIRECTORY_POLL_SECONDS)
            try:
                version = await asyncio.to_thread(read_version, self.engine)
                if version != self.directory.version:
                    self.directory = await asyncio.to_thread(load_directory, self.engine)
                    log.info("provisioning reloaded at version %d", version)
            except Exception as exc:  # the database may be away; keep the last good view
                log.warning("provisioning poll failed: %s", exc.__class__.__name__)

    async def _sweep_expired(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_SWEEP_SECONDS)
            now = time.time()
            for device_id in {b.device_id for b in self.location.expire(now)}:
                self.store.save(device_id, self.location.bindings(device_id, now))
