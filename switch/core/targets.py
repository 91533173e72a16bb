"""Where a new call goes: an extension's registered contacts, a DID's extension, or the trunk."""

from __future__ import annotations

from dataclasses import dataclass, field

from switch.cdr.record import Direction
from switch.config import Listen
from switch.policy.callerid import to_e164
from switch.sip.uri import SipURI, parse_uri
from switch.transport.peer import Peer

from .directory import Directory, ExtensionRecord
from .e911_types import EmergencyLocation
from .location import Binding, LocationService


@dataclass(frozen=True, slots=True)
class Target:
    uri: SipURI  # Request-URI of the branch
    peer: Peer  # where the branch is sent (the registration's source, for NAT)
    device_id: int | None = None


@dataclass(slots=True)
class RoutePlan:
    direction: Direction
    destination: str  # extension number or E.164
    targets: list[Target] = field(default_factory=list)
    extension: ExtensionRecord | None = None  # the callee's extension, on-net calls
    trunk: str | None = None
    identity: str | None = None  # P-Asserted-Identity to send, when the policy chose one
    emergency: bool = False  # 911/933: location by value, priority, callback number
    location: EmergencyLocation | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()  # e.g. Reason and Warning naming the policy rule


def contacts_of(extension: ExtensionRecord, location: LocationService, now: float) -> list[Target]:
    """Every registered contact of every active device of the extension (parallel fork)."""
    bindings: list[Binding] = []
    for device_id in extension.device_ids:
        bindings.extend(location.bindings(device_id, now))
    bindings.sort(key=lambda b: -(b.q if b.q is not None else 1.0))
    targets = []
    for binding in bindings:
        uri = parse_uri(binding.contact)
        if isinstance(uri, SipURI):
            # Headers in a registered Contact are data, never Route instructions (RFC 4475).
            uri.headers.clear()
            targets.append(Target(uri, binding.source, binding.device_id))
    return targets


def to_extension(
    extension: ExtensionRecord, direction: Direction, location: LocationService, now: float
) -> RoutePlan | Rejection:
    if not extension.active:
        return Rejection(404, "Not Found")
    targets = contacts_of(extension, location, now)
    if not targets:
        return Rejection(480, "Temporarily Unavailable")
    return RoutePlan(direction, extension.number, targets, extension)


def inbound_from_trunk(
    dialled: str, directory: Directory, location: LocationService, now: float, region: str
) -> RoutePlan | Rejection:
    number = to_e164(dialled, region)
    did = directory.dids.get(number) if number else None
    if did is None or not did.active or did.extension_id is None:
        return Rejection(404, "Not Found")
    extension = directory.extensions_by_id.get(did.extension_id)
    if extension is None:
        return Rejection(404, "Not Found")
    plan = to_extension(extension, Direction.INBOUND, location, now)
    if isinstance(plan, RoutePlan):
        plan.destination = number or dialled
    return plan


def to_trunk(number: str, gateway: Listen | None, trunk_name: str) -> RoutePlan | Rejection:
    if gateway is None:
        return Rejection(503, "No Route To Destination")
    return to_gateway(number, gateway, trunk_name)


def to_gateway(number: str, gateway: Listen, trunk_name: str) -> RoutePlan:
    host = f"[{gateway.host}]" if ":" in gateway.host else gateway.host
    params: dict[str, str | None] = {"user": "phone"}
    if gateway.transport.value != "udp":
        params["transport"] = gateway.transport.value
    uri = SipURI("sip", host, user=number, port=gateway.port, params=params)
    peer = Peer(gateway.transport.value, gateway.host, gateway.port)
    return RoutePlan(Direction.OUTBOUND, number, [Target(uri, peer)], trunk=trunk_name)
