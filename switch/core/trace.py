"""Per-device SIP trace: every message to or from one device, logged in full for a while.

An operator starts one with ``switchctl trace start USERNAME``; the switch reads the
``sip_traces`` rows whenever it reloads provisioning. A message belongs to a traced
device when it comes from or goes to one of the device's registered source addresses,
or names the device's username in From, To or the digest credentials (which catches
the first REGISTER, before there is any binding). A trace ends by itself at its
``until``: that is checked on every message, not left to the next reload.

The same username matching also names the account a message belongs to, for the log
context (:func:`switch.logs.log_context`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from provisioning.trace_models import SipTrace
from switch.logs import redact
from switch.sip.errors import SipError
from switch.sip.message import Request, Response, parse_message
from switch.transport.peer import Peer

from .directory import Directory
from .location import LocationService

TRACE_LOGGER = "switch.trace"
trace_log = logging.getLogger(TRACE_LOGGER)
log = logging.getLogger(__name__)

_CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization")
_USERNAME_PARAM = re.compile(r'\busername\s*=\s*(?:"([^"]*)"|([^\s,]+))', re.IGNORECASE)

Message = Request | Response


class TraceDirection(StrEnum):
    RECEIVED = "received from"
    SENT = "sent to"


def load_traces(engine: Engine, now: float | None = None) -> dict[str, float]:
    """Blocking: traces still running at ``now``, as username -> end (POSIX seconds).

    A database not migrated this far has no traces (an older schema must not stop the
    switch from starting).
    """
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    query = (
        select(SipTrace.username, func.max(SipTrace.until))
        .where(SipTrace.until > moment)
        .group_by(SipTrace.username)
    )
    try:
        with Session(engine) as session:
            rows = session.execute(query).all()
    except (OperationalError, ProgrammingError) as exc:
        log.warning("SIP traces not loaded: %s", exc.__class__.__name__)
        return {}
    return {username: until.timestamp() for username, until in rows}


def message_usernames(message: Message) -> set[str]:
    """User parts of From and To, and the usernames in digest credentials."""
    names: set[str] = set()
    for address in (message.from_, message.to):
        user = getattr(address.uri, "user", None)
        if user:
            names.add(user)
    for header in _CREDENTIAL_HEADERS:
        for value in message.headers.values(header):
            match = _USERNAME_PARAM.search(value)
            if match is not None:
                names.add(match.group(1) if match.group(1) is not None else match.group(2))
    return names


class SipTracer:
    """Decides which messages are traced and logs them under ``switch.trace``."""

    def __init__(
        self,
        directory: Callable[[], Directory],
        location: LocationService,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory
        self._location = location
        self._clock = clock
        self.traces: dict[str, float] = {}

    # -- which traces run ------------------------------------------------------------------
    def replace(self, traces: Mapping[str, float]) -> None:
        """Take the traces just loaded from the database; log the ones that start or end."""
        now = self._clock()
        for username in sorted(set(self.traces) - set(traces)):
            trace_log.info("SIP trace of %s stopped", username)
        for username, until in sorted(traces.items()):
            if until > now and self.traces.get(username) != until:
                ends = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")
                trace_log.info("SIP trace of %s on until %s", username, ends)
        self.traces = dict(traces)

    def expire(self) -> None:
        """Forget traces whose time is up (they already stopped matching at ``until``)."""
        now = self._clock()
        for username, until in list(self.traces.items()):
            if until <= now:
                del self.traces[username]
                trace_log.info("SIP trace of %s ended", username)

    # -- messages --------------------------------------------------------------------------
    def received(self, data: bytes, peer: Peer, message: Message | None) -> None:
        if self.traces:
            self._trace(TraceDirection.RECEIVED, data, peer, message)

    def sent(self, data: bytes, peer: Peer, message: Message | None = None) -> None:
        if self.traces:
            self._trace(TraceDirection.SENT, data, peer, message)

    def _trace(
        self, direction: TraceDirection, data: bytes, peer: Peer, message: Message | None
    ) -> None:
        username = self.match(data, peer, message)
        if username is None:
            return
        text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").rstrip("\n")
        trace_log.info(
            "SIP trace %s: %s %s (%d bytes)\n%s",
            username,
            direction.value,
            peer,
            len(data),
            redact(text),
        )

    def match(self, data: bytes, peer: Peer, message: Message | None) -> str | None:
        """The traced username this message belongs to, if any."""
        now = self._clock()
        live = [name for name, until in self.traces.items() if until > now]
        if not live:
            return None
        directory = self._directory()
        for name in live:
            device = directory.device(name)
            if device is None:
                continue
            if any(b.source == peer for b in self._location.bindings(device.id, now)):
                return name
        if message is None:
            try:
                message = parse_message(data)
            except SipError:
                return None
        try:
            names = message_usernames(message)
        except SipError:
            return None
        return next((name for name in live if name in names), None)

    # -- log context -----------------------------------------------------------------------
    def account_of(self, message: Message) -> str | None:
        """Name of the account whose device or number the message is from (or else to)."""
        directory = self._directory()
        for address in (message.from_, message.to):
            user = getattr(address.uri, "user", None)
            if not user:
                continue
            account_id = _account_id(directory, user)
            if account_id is not None:
                account = directory.accounts.get(account_id)
                return account.name if account is not None else None
        return None


def _account_id(directory: Directory, user: str) -> int | None:
    device = directory.device(user)
    if device is not None:
        return device.account_id
    did = directory.dids.get(user if user.startswith("+") else f"+{user}")
    return did.account_id if did is not None else None
