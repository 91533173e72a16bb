"""Small builders for hand-written event streams."""

from __future__ import annotations

from datetime import UTC, datetime

from switch.cdr.record import Direction, Disposition
from switch.detect import CallAnswered, CallAttempt, CallEnded, Event, SeatKind
from switch.policy.destination import DestinationClass as DC

# Monday 2025-09-01 10:00 UTC: inside business hours of a profile at UTC.
T0 = datetime(2025, 9, 1, 10, 0, tzinfo=UTC).timestamp()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def attempt(
    t: float,
    call_id: str,
    *,
    direction: Direction = Direction.OUTBOUND,
    account: int | None = 1,
    ext: int | None = 10,
    device: int | None = None,
    dest: str | None = "+12125550100",
    cls: DC | None = DC.DOMESTIC_LONG_DISTANCE,
    name: str | None = "Alice",
    identity: str | None = "+12125550001",
    seat_kind: SeatKind = SeatKind.SINGLE_USER,
    source: str | None = "udp:192.0.2.10:5060",
) -> CallAttempt:
    return CallAttempt(
        time=t,
        call_id=call_id,
        direction=direction,
        account_id=account,
        extension_id=ext,
        device_id=device if device is not None else ext,
        seat_kind=seat_kind,
        destination=dest,
        destination_class=cls,
        caller_name=name,
        caller_identity=identity,
        source_address=source,
    )


def ended(t: float, call_id: str, *, ring: float = 5.0, talk: float = 0.0) -> CallEnded:
    return CallEnded(
        time=t,
        call_id=call_id,
        duration=ring + talk,
        billable_seconds=int(-(-talk // 1)),
        disposition=Disposition.ANSWERED if talk > 0 else Disposition.NO_ANSWER,
    )


def call(
    t: float, call_id: str, *, ring: float = 5.0, talk: float = 0.0, **fields: object
) -> list[Event]:
    """Attempt, answer (if talked) and end of one call, in time order."""
    events: list[Event] = [attempt(t, call_id, **fields)]  # type: ignore[arg-type]
    if talk > 0:
        events.append(CallAnswered(t + ring, call_id))
    events.append(ended(t + ring + talk, call_id, ring=ring, talk=talk))
    return events


def in_order(events: list[Event]) -> list[Event]:
    order = {CallAttempt: 0, CallAnswered: 1, CallEnded: 2}
    return sorted(events, key=lambda e: (e.time, order.get(type(e), 0)))
