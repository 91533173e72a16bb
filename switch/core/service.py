"""The running switch: wires transports, the SIP core, the registrar and background tasks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from sqlalchemy.engine import Engine

from provisioning.db import make_engine
from switch.cdr.record import CallRecord
from switch.cdr.sink import CdrSink
from switch.cdr.writer import CdrWriter
from switch.config import Settings
from switch.detect import (
    Alert,
    BanList,
    BanPolicy,
    DetectConfig,
    DetectionEngine,
    GradedResponse,
    RateLimiter,
    RatePolicy,
    Registration,
)
from switch.metrics import Metrics
from switch.metrics_http import start_http
from switch.sip.message import make_response
from switch.sip.transaction import TransactionLayer, TransactionState
from switch.transport.manager import TransportManager
from switch.transport.peer import Peer

from .auth import Authenticator, load_nonce_secret
from .binding_store import BindingStore
from .directory import DeviceRecord, Directory, load_directory, read_version
from .dispatcher import Dispatcher
from .e911_enforce import has_moved, mark_unconfirmed
from .e911_events import EmergencyEvents
from .forwarding import LocalAddress
from .guard import AbuseGuard, GuardSettings
from .guard_store import alert_row, lifted_alerts
from .location import LocationService
from .notify import Notifier, SmtpSettings
from .observe import MeteredCdrSink, refresh_gauges
from .proxy import Proxy
from .proxy_dialog import end_call_on_command, maintain_dialogs
from .registrar import Registrar
from .row_writer import RowWriter
from .trace import SipTracer, load_traces

log = logging.getLogger(__name__)

DIRECTORY_POLL_SECONDS = 2.0
EXPIRY_SWEEP_SECONDS = 1.0


class NullCdrSink:
    """Keeps nothing: for tools that run the switch without billing."""

    def open(self, record: CallRecord) -> None:
        log.debug("call %s opened", record.id)

    def update(self, record: CallRecord) -> None:
        log.debug("call %s answered", record.id)

    def finish(self, record: CallRecord) -> None:
        log.debug("call %s finished: %s", record.id, record.disposition)


class SwitchService:
    def __init__(
        self, settings: Settings, engine: Engine | None = None, cdr: CdrSink | None = None
    ) -> None:
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
        self.metrics = Metrics()
        self.dispatcher.metrics = self.metrics
        self.dispatcher.actions.metrics = self.metrics
        self.tracer = SipTracer(lambda: self.directory, self.location)
        self.dispatcher.tracer = self.dispatcher.actions.tracer = self.tracer
        self.auth.on_failure = lambda check: self.metrics.auth_failure(check.status.value)
        self.transports.on_drop = self.metrics.dropped
        self.cdr_writer: CdrWriter | None = None
        if cdr is None:
            self.cdr_writer = CdrWriter(self.engine, Path(settings.data_dir))
            cdr = self.cdr_writer
        self.cdr: CdrSink = MeteredCdrSink(cdr, self.metrics)
        self.proxy: Proxy | None = None
        self._http: asyncio.Server | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.rows = RowWriter(self.engine)
        self.guard: AbuseGuard | None = None
        # Extension numbers of the directory version they were collected from.
        self._known_numbers: tuple[int, frozenset[str]] = (-2, frozenset())
        # True while provisioning cannot be read: calls use the last view loaded.
        self.provisioning_stale = False
        self.dispatcher.on_registered = self.on_registered
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = asyncio.Event()

    def _on_transport_error(self, error: Exception, inbound: object) -> None:
        self.dispatcher.on_transport_error(error, inbound)

    async def start(self) -> None:
        self.directory = await asyncio.to_thread(load_directory, self.engine)
        self.tracer.replace(await asyncio.to_thread(load_traces, self.engine))
        now = time.time()
        for binding in await asyncio.to_thread(self.store.load, now):
            self.location.replace(
                binding.device_id, [*self.location.bindings(binding.device_id, now), binding]
            )
        log.info("loaded %d devices, %d bindings", len(self.directory.devices), len(self.location))
        await self.transports.start()
        loop = asyncio.get_running_loop()
        self.proxy = Proxy(
            self.settings,
            self.transactions,
            self.dispatcher.actions,
            self.auth,
            self.location,
            lambda: self.directory,
            LocalAddress(
                self.settings.advertised_host,
                dict(self.transports.ports),
                self.dispatcher.local_ports,
            ),
            self.dispatcher.local_hosts,
            self.cdr,
            loop.call_later,
            time.time,
            self.engine,
            self.run_in_thread,
        )
        self.proxy.metrics = self.metrics
        notify = self.settings.notify
        smtp = (
            SmtpSettings(notify.smtp_host, notify.smtp_port, notify.smtp_from)
            if notify.smtp_host
            else None
        )
        notifier = Notifier(
            smtp, self.proxy.send_text, attempts=notify.attempts, retry_delay=notify.retry_delay
        )
        self.proxy.events = EmergencyEvents(self, notifier)
        self.guard = self._build_guard()
        self.proxy.guard = self.guard
        self.dispatcher.guard = self.guard
        assert isinstance(self.cdr, MeteredCdrSink)
        self.cdr.guard = self.guard
        self.proxy.is_stale = lambda: self.provisioning_stale
        self.dispatcher.proxy = self.proxy
        address = self.settings.metrics.address
        if address is not None:
            self._http = await start_http(self.metrics, address[0], address[1], self.readiness)
        if self.cdr_writer is not None:
            self._tasks.append(asyncio.create_task(self.cdr_writer.run()))
        for coroutine in (
            self.dispatcher.run(),
            self.store.run(),
            self._poll_directory(),
            self._sweep_expired(),
            self._maintain_dialogs(),
            self.rows.run(),
            self.dispatcher.run_timers(),
        ):
            self._tasks.append(asyncio.create_task(coroutine))
        self.ready.set()

    def _build_guard(self) -> AbuseGuard:
        detect = self.settings.detect
        exempt = {
            entry.rpartition(":")[0] or entry for entry in self.settings.trunk.trusted_sources
        }
        exempt |= set(detect.rate_exempt)
        proxy = self.proxy
        assert proxy is not None
        rate = RatePolicy(
            detect.rate_requests,
            detect.rate_interval,
            detect.rate_block_seconds,
            exempt=frozenset(h.strip("[]") for h in exempt),
        )
        return AbuseGuard(
            # The detector's view of floods uses the very limit the switch enforces.
            DetectionEngine(DetectConfig(rate_limit=rate)),
            GradedResponse() if detect.enforce_actions else GradedResponse(rules={}),
            BanList(BanPolicy(detect.ban_failures, detect.ban_window, detect.ban_seconds)),
            RateLimiter(rate),
            self.metrics,
            GuardSettings(detect.max_calls_per_seat, detect.seat_limit_action),
            store_alert=self._store_alert,
            end_call=lambda call_id: end_call_on_command(proxy, call_id),
            has_valid_registration=self._has_valid_registration,
            is_known_user=self._is_known_user,
        )

    def _store_alert(self, alert: Alert, notes: list[str], uid: str) -> None:
        self.rows.add(alert_row(alert, notes, uid))

    async def _apply_lifts(self) -> None:
        """Alerts an operator lifted (switchctl alert lift) free what they restricted."""
        if self.guard is None:
            return
        held = self.guard.held_alerts(time.time())
        if held:
            lifted = await asyncio.to_thread(lifted_alerts, self.engine, held)
            self.guard.lift_alerts(lifted, time.time())

    def _is_known_user(self, user: str) -> bool:
        """A username or extension number this switch knows (called per request: no scan)."""
        directory = self.directory
        if self._known_numbers[0] != directory.version:
            numbers = frozenset(e.number for e in directory.extensions.values())
            self._known_numbers = (directory.version, numbers)
        return directory.device(user) is not None or user in self._known_numbers[1]

    def _has_valid_registration(self, host: str, username: str) -> bool:
        device = self.directory.device(username)
        if device is None:
            return False
        now = time.time()
        return any(b.source.host == host for b in self.location.bindings(device.id, now))

    def run_in_thread(self, job: Callable[[], object]) -> None:
        """Fire and forget a blocking job; failures are logged, never raised on the loop."""

        async def runner() -> None:
            try:
                await asyncio.to_thread(job)
            except Exception:
                log.exception("background job failed")

        task = asyncio.get_running_loop().create_task(runner())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def on_registered(self, device: DeviceRecord, source: Peer) -> None:
        """A device registered: has it moved away from where its 911 address was confirmed?"""
        if self.guard is not None:
            bindings = self.location.bindings(device.id, time.time())
            newest = bindings[-1] if bindings else None
            self.guard.registered(
                Registration(
                    time=time.time(),
                    device_id=device.id,
                    username=device.username,
                    source_address=source.host,
                    user_agent=newest.user_agent if newest else None,
                    instance_id=newest.instance_id if newest else None,
                    contact=newest.contact if newest else None,
                    account_id=device.account_id,
                    extension_id=device.extension_id,
                )
            )
        if has_moved(device, self.directory, source.host):
            log.warning(
                "device %s registered from a network its 911 location was not confirmed on",
                device.id,
            )
            self.metrics.detector_alert("moved_device", "warning")
            self.run_in_thread(lambda: mark_unconfirmed(self.engine, device.id))

    def readiness(self) -> dict[str, bool]:
        writer = self.cdr_writer
        return {
            "transports_bound": bool(self.transports.bound),
            # Reachable, or at least spooling: no call record is being lost.
            "database": writer is None or not writer.stalled,
            "provisioning_loaded": self.directory.version >= 0,
        }

    async def drain(self, timeout: float) -> None:
        """Refuse new calls, and give calls being set up and open transactions time to end."""
        self.dispatcher.draining = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = self.proxy is not None and any(
                not c.finished for c in self.proxy.contexts.values()
            )
            # Transactions that only absorb retransmissions (Completed, Confirmed) need no wait.
            working = any(
                tx.state
                in (TransactionState.CALLING, TransactionState.TRYING, TransactionState.PROCEEDING)
                for tx in self.transactions
            )
            if not busy and not working:
                break
            await asyncio.sleep(0.1)
        self._end_unfinished_calls()

    def _end_unfinished_calls(self) -> None:
        """Calls still ringing when the drain ends are refused now, so their records close."""
        proxy = self.proxy
        if proxy is None:
            return
        now = time.time()
        for ctx in list(proxy.contexts.values()):
            if ctx.is_invite and not ctx.finished:
                proxy.cancel_pending(ctx, now)
                proxy.send_final(ctx, make_response(ctx.request, 503, "Shutting Down"), now)

    async def stop(self) -> None:
        if self._http is not None:
            self._http.close()
        await self.transports.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        await self.store.flush()
        await self.rows.flush()
        if self.cdr_writer is not None:
            # Whatever the database does not take in time is in the spool: nothing is lost.
            await self.cdr_writer.flush(timeout=5.0)
        self.engine.dispose()

    async def _poll_directory(self) -> None:
        while True:
            await asyncio.sleep(DIRECTORY_POLL_SECONDS)
            try:
                version = await asyncio.to_thread(read_version, self.engine)
                if version != self.directory.version:
                    self.directory = await asyncio.to_thread(load_directory, self.engine)
                    self.tracer.replace(await asyncio.to_thread(load_traces, self.engine))
                    await self._apply_lifts()
                    log.info("provisioning reloaded at version %d", version)
                self.tracer.expire()
                self.provisioning_stale = False
            except Exception as exc:  # the database may be away; keep the last good view
                # Emergency calls then say their location is the last one known.
                self.provisioning_stale = True
                log.warning("provisioning poll failed: %s", exc.__class__.__name__)

    async def _maintain_dialogs(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.proxy is not None:
                maintain_dialogs(self.proxy, time.time())
            refresh_gauges(self)

    async def _sweep_expired(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_SWEEP_SECONDS)
            now = time.time()
            for device_id in {b.device_id for b in self.location.expire(now)}:
                self.store.save(device_id, self.location.bindings(device_id, now))
