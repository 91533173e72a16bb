"""What the detectors are fed: call, registration and request events with their own time.

Every event carries ``time`` (seconds since the epoch, UTC); detectors never read
a clock. ``events_from_record`` turns a finished call record into the same events
so exported CDRs can be replayed through the detectors.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from switch.cdr.record import CallRecord, Direction, Disposition
from switch.policy.destination import DestinationClass


class SeatKind(StrEnum):
    """A single-user seat is one person's line; anything else may legitimately carry more."""

    SINGLE_USER = "single_user"
    MULTI_USER = "multi_user"  # a licensed trunk, call-centre or shared seat


@dataclass(frozen=True, slots=True)
class CallAttempt:
    """An INVITE the switch accepted for routing (one call record is opened per attempt).

    For outbound calls ``destination`` is the normalized dialled number; for inbound
    calls it is the DID that was called and ``caller_identity`` is the remote number.
    """

    time: float
    call_id: str
    direction: Direction
    account_id: int | None = None
    extension_id: int | None = None
    device_id: int | None = None
    seat_kind: SeatKind = SeatKind.SINGLE_USER
    destination: str | None = None
    destination_class: DestinationClass | None = None
    caller_name: str | None = None  # display name presented
    caller_identity: str | None = None  # number presented (or asserted)
    source_address: str | None = None  # host, or transport:host:port as records keep it
    parent_call_id: str | None = None  # transferred and forwarded legs


@dataclass(frozen=True, slots=True)
class CallAnswered:
    time: float
    call_id: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    time: float
    call_id: str
    duration: float  # from attempt to end
    billable_seconds: int  # from answer to end, 0 when never answered
    disposition: Disposition


@dataclass(frozen=True, slots=True)
class Registration:
    """A successful REGISTER; ``expires`` 0 removes the binding."""

    time: float
    device_id: int | None
    username: str
    source_address: str
    user_agent: str | None = None
    instance_id: str | None = None  # +sip.instance (RFC 5626)
    contact: str | None = None
    expires: float = 3600.0
    account_id: int | None = None
    extension_id: int | None = None
    seat_kind: SeatKind = SeatKind.SINGLE_USER
    country: str | None = None  # ISO 3166 alpha-2 of the source, when a GeoIP lookup knows it
    network: str | None = None  # e.g. an AS number or a prefix; derived from the address if None


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """A request whose digest credentials were wrong (not the first 401 challenge)."""

    time: float
    source_address: str
    username: str | None
    user_agent: str | None = None
    method: str = "REGISTER"


@dataclass(frozen=True, slots=True)
class RequestSeen:
    """Any request from a source, for rate limiting and sweep detection.

    ``username_known`` tells whether the user part names an existing credential or
    extension; a sweep is many unknown names, which a rebooting office NAT is not.
    """

    time: float
    source_address: str
    method: str
    username: str | None = None
    user_agent: str | None = None
    username_known: bool | None = None


CallEvent = CallAttempt | CallAnswered | CallEnded
Event = CallAttempt | CallAnswered | CallEnded | Registration | AuthFailure | RequestSeen


def source_host(address: str) -> str:
    """The host of ``transport:host:port``, ``host:port``, ``[v6]:port`` or a bare host."""
    text = address.strip()
    if text[:4].lower() in ("udp:", "tcp:", "tls:") or text[:3].lower() == "ws:":
        text = text.split(":", 1)[1]
    elif text[:4].lower() == "wss:":
        text = text[4:]
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text[1:]
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text  # a bare host or a bare IPv6 address


def network_of(address: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) holding a source: a stand-in for "the same network"."""
    host = source_host(address)
    parts = host.split(".")
    if len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts):
        return f"{parts[0]}.{parts[1]}.{parts[2]}.0/24"  # the common case, without ipaddress
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host.lower()
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _dest_class(value: str | None) -> DestinationClass | None:
    if value is None:
        return None
    try:
        return DestinationClass(value)
    except ValueError:
        return None  # older or foreign exports: unknown classes count as unclassified


def events_from_record(
    record: CallRecord, *, seat_kind: SeatKind = SeatKind.SINGLE_USER
) -> list[CallEvent]:
    """The attempt, answer and end events of a call record (open records give fewer)."""
    start = record.start_time.timestamp()
    events: list[CallEvent] = [
        CallAttempt(
            time=start,
            call_id=record.call_id,
            direction=record.direction,
            account_id=record.account_id,
            extension_id=record.extension_id,
            device_id=record.device_id,
            seat_kind=seat_kind,
            destination=record.destination or record.dialled,
            destination_class=_dest_class(record.destination_class),
            caller_name=record.caller_presented,  # records keep the From user, not a name
            caller_identity=record.caller_asserted or record.caller_presented,
            source_address=record.source_address,
            parent_call_id=record.parent_call_id,
        )
    ]
    if record.answer_time is not None:
        events.append(CallAnswered(record.answer_time.timestamp(), record.call_id))
    if record.end_time is not None:
        disposition = record.disposition
        if disposition is None:
            disposition = Disposition.ANSWERED if record.answer_time else Disposition.FAILED
        events.append(
            CallEnded(
                time=record.end_time.timestamp(),
                call_id=record.call_id,
                duration=record.duration_seconds,
                billable_seconds=record.billable_seconds,
                disposition=disposition,
            )
        )
    return events
