"""Registrar (RFC 3261 §10.3, RFC 5626 §6): decides the answer to a REGISTER.

Pure apart from the clock passed in: it reads the directory and the location
service, changes bindings, and hands the device's new set to the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from enum import StrEnum

from switch.config import RegistrarSettings
from switch.sip.address import Address
from switch.sip.errors import ParseError
from switch.sip.message import Request, Response, make_response
from switch.sip.uri import SipURI
from switch.transport.peer import Peer

from .auth import Authenticator, AuthStatus
from .directory import DeviceRecord, Directory
from .location import Binding, LocationService


class RegisterOutcome(StrEnum):
    """Bounded set of outcomes, used as a metric label."""

    OK = "ok"
    REMOVED = "removed"
    QUERY = "query"
    CHALLENGED = "challenged"
    AUTH_FAILED = "auth_failed"
    FORBIDDEN = "forbidden"
    INTERVAL_TOO_BRIEF = "interval_too_brief"
    BAD_REQUEST = "bad_request"
    OUT_OF_ORDER = "out_of_order"


@dataclass(slots=True)
class RegisterResult:
    response: Response
    outcome: RegisterOutcome
    device: DeviceRecord | None = None
    username: str | None = None  # as claimed, for brute-force counting
    changed: list[Binding] = field(default_factory=list)


class Registrar:
    def __init__(
        self,
        settings: RegistrarSettings,
        auth: Authenticator,
        location: LocationService,
        directory: Callable[[], Directory],
        persist: Callable[[int, list[Binding]], None],
    ) -> None:
        self._settings = settings
        self._auth = auth
        self._location = location
        self._directory = directory
        self._persist = persist

    def handle(self, request: Request, source: Peer, now: float) -> RegisterResult:
        to = request.to
        if not isinstance(to.uri, SipURI):
            return _fail(request, 400, "To Must Be A SIP URI", RegisterOutcome.BAD_REQUEST)
        check = self._auth.check(request, "Authorization", self._directory(), now)
        if check.status is not AuthStatus.OK or check.device is None:
            response = self._auth.challenge(request, check, proxy=False, now=now)
            outcome = (
                RegisterOutcome.CHALLENGED
                if check.status in (AuthStatus.MISSING, AuthStatus.STALE)
                else RegisterOutcome.AUTH_FAILED
            )
            return RegisterResult(response, outcome, username=check.username)
        device = check.device
        if not device.active:
            return _fail(request, 403, "Device Disabled", RegisterOutcome.FORBIDDEN, device)
        if not device.owns_aor_user(to.uri.user):
            return _fail(request, 403, "Not Your Address", RegisterOutcome.FORBIDDEN, device)
        try:
            return self._update(request, device, source, now)
        except ParseError as exc:
            return _fail(request, 400, exc.reason, RegisterOutcome.BAD_REQUEST, device)

    def _update(
        self, request: Request, device: DeviceRecord, source: Peer, now: float
    ) -> RegisterResult:
        current = self._location.bindings(device.id, now)
        if request.contact_is_star:
            return self._remove_all(request, device, current)
        contacts = request.contacts
        if not contacts:
            return self._answer(request, device, current, now, RegisterOutcome.QUERY)
        header_expires = request.expires
        wanted: list[tuple[Address, int]] = []
        for contact in contacts:
            expires = self._expires_for(contact, header_expires)
            if 0 < expires < self._settings.min_expires:
                response = make_response(request, 423, "Interval Too Brief")
                response.headers.add("Min-Expires", str(self._settings.min_expires))
                return RegisterResult(response, RegisterOutcome.INTERVAL_TOO_BRIEF, device)
            wanted.append((contact, min(expires, self._settings.max_expires)))
        updated = list(current)
        call_id, cseq = request.call_id, request.cseq.seq
        aor = f"sip:{device.username}@{device.realm}"
        user_agent = request.headers.get("User-Agent")
        for contact, expires in wanted:
            candidate = _binding(
                device, aor, contact, expires, now, call_id, cseq, source, user_agent
            )
            existing = next((b for b in updated if b.same_flow(candidate)), None)
            if existing is not None:
                if existing.call_id == call_id and cseq <= existing.cseq:
                    return _fail(
                        request, 500, "Out Of Order CSeq", RegisterOutcome.OUT_OF_ORDER, device
                    )
                updated.remove(existing)
            if expires > 0:
                updated.append(candidate)
        # Keep the newest contacts when a device holds more than it may.
        limit = min(device.max_contacts, self._settings.max_contacts_per_device)
        updated = updated[-limit:]
        self._store(device, updated)
        outcome = RegisterOutcome.OK if updated else RegisterOutcome.REMOVED
        return self._answer(request, device, updated, now, outcome)

    def _remove_all(
        self, request: Request, device: DeviceRecord, current: list[Binding]
    ) -> RegisterResult:
        # RFC 3261 §10.2.2: "*" only with Expires: 0 and no other contact.
        if request.expires != 0 or len(request.headers.values("Contact")) != 1:
            return _fail(
                request, 400, "Invalid Wildcard Contact", RegisterOutcome.BAD_REQUEST, device
            )
        call_id, cseq = request.call_id, request.cseq.seq
        if any(b.call_id == call_id and cseq <= b.cseq for b in current):
            return _fail(request, 500, "Out Of Order CSeq", RegisterOutcome.OUT_OF_ORDER, device)
        self._store(device, [])
        return RegisterResult(make_response(request, 200), RegisterOutcome.REMOVED, device)

    def _store(self, device: DeviceRecord, bindings: list[Binding]) -> None:
        self._location.replace(device.id, bindings)
        self._persist(device.id, bindings)

    def _expires_for(self, contact: Address, header_expires: int | None) -> int:
        value = contact.params.get("expires")
        if value is not None:
            if not value.isdigit():
                raise ParseError("Bad Request - Malformed Contact expires")
            return int(value)
        if header_expires is not None:
            return header_expires
        return self._settings.default_expires

    def _answer(
        self,
        request: Request,
        device: DeviceRecord,
        bindings: list[Binding],
        now: float,
        outcome: RegisterOutcome,
    ) -> RegisterResult:
        response = make_response(request, 200)
        for binding in bindings:
            response.headers.add("Contact", _contact_value(binding, now))
        response.headers.add("Date", formatdate(now, usegmt=True))
        return RegisterResult(response, outcome, device, changed=bindings)


def _binding(
    device: DeviceRecord,
    aor: str,
    contact: Address,
    expires: int,
    now: float,
    call_id: str,
    cseq: int,
    source: Peer,
    user_agent: str | None,
) -> Binding:
    q_text = contact.params.get("q")
    reg_id = contact.params.get("reg-id")
    try:
        q = float(q_text) if q_text is not None else None
    except ValueError as exc:
        raise ParseError("Bad Request - Malformed Contact q") from exc
    if q is not None and not 0.0 <= q <= 1.0:
        raise ParseError("Bad Request - Contact q out of range")
    if reg_id is not None and not reg_id.isdigit():
        raise ParseError("Bad Request - Malformed reg-id")
    return Binding(
        device_id=device.id,
        aor=aor,
        contact=str(contact.uri),
        expires_at=now + expires,
        call_id=call_id,
        cseq=cseq,
        source=source,
        q=q,
        instance_id=contact.params.get("+sip.instance"),
        reg_id=int(reg_id) if reg_id is not None else None,
        user_agent=user_agent,
    )


def _contact_value(binding: Binding, now: float) -> str:
    value = f"<{binding.contact}>;expires={binding.remaining(now)}"
    if binding.q is not None:
        value += f";q={binding.q:g}"
    if binding.instance_id is not None:
        value += f";+sip.instance={binding.instance_id}"
    if binding.reg_id is not None:
        value += f";reg-id={binding.reg_id}"
    return value


def _fail(
    request: Request,
    status: int,
    reason: str,
    outcome: RegisterOutcome,
    device: DeviceRecord | None = None,
) -> RegisterResult:
    return RegisterResult(make_response(request, status, reason), outcome, device)
