"""Labelled synthetic traffic: the labels, the building blocks, and the merged scenario.

Everything is drawn from seeded ``random.Random`` instances, so a seed gives the
same month every time. Honest offices (1, 5, 20 or 100 seats, ``offices.py``)
call in business hours with Poisson arrivals, log-normal talk times around three
minutes, unanswered and short calls, a receptionist who answers the main number
and does consult transfers, phones that re-register daily (some from home or a
hotel), now and then a phone with a stale password. The abuse patterns
(``abuse.py``) run on top of such offices, or as bare attacking sources.

Each tenant yields its own time-ordered stream; ``Scenario.events`` merges them.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from operator import attrgetter
from typing import TYPE_CHECKING

from switch.detect import (
    DetectorKind,
    Event,
    Profiles,
    SeatKind,
)

if TYPE_CHECKING:
    from tests.detect.offices import Office

DAY = 86_400.0
START = datetime(2025, 9, 1, tzinfo=UTC).timestamp()  # a Monday; September is the billing month
NPAS = ("212", "312", "415", "617", "713", "202", "305", "404", "503", "602", "702", "206")
FOREIGN = ("44", "49", "33", "52", "91", "63", "61", "81", "34", "39")
HIGH_RISK = ("882", "225", "371", "252", "53", "216", "960", "674", "677", "239")
PHONE_UAS = (
    "Yealink SIP-T46U 108.86.0.20",
    "Poly VVX 450 6.4.3",
    "Grandstream GXP2170 1.0.11.23",
    "Cisco/SPA504G-7.6.2",
    "Zoiper rv2.10.20.4",
)
_time = attrgetter("time")


class Pattern(StrEnum):
    HONEST = "honest"
    DIALER = "predictive dialer"
    TRUNKED_PBX = "PBX trunked on a seat"
    TOLL_FRAUD = "toll-fraud night burst"
    WANGIRI = "Wangiri wave"
    BLAST = "blast"
    BRUTE_FORCE = "brute-force attacker"
    FAIR_USE = "fair-use overrun"


# The detector whose critical alert counts as catching each pattern.
EXPECTED: dict[Pattern, DetectorKind] = {
    Pattern.DIALER: DetectorKind.AUTODIAL,
    Pattern.TRUNKED_PBX: DetectorKind.TRUNKING,
    Pattern.TOLL_FRAUD: DetectorKind.TOLL_FRAUD,
    Pattern.WANGIRI: DetectorKind.WANGIRI,
    Pattern.BLAST: DetectorKind.BLASTING,
    Pattern.BRUTE_FORCE: DetectorKind.BRUTE_FORCE,
    Pattern.FAIR_USE: DetectorKind.FAIR_USE,
}


@dataclass(frozen=True, slots=True)
class Tenant:
    """One labelled unit: an account (id = account id) or an attacking source."""

    id: int
    pattern: Pattern
    sources: frozenset[str]
    seats: int = 0


@dataclass(slots=True)
class Seat:
    index: int
    ext: int
    username: str
    name: str
    did: str
    out_rate: float
    in_rate: float
    ua: str
    instance: str | None
    nomad: bool
    home_ip: str
    seat_kind: SeatKind = SeatKind.SINGLE_USER
    booked: list[tuple[float, float]] = field(default_factory=list)

    def free(self, start: float, end: float) -> bool:
        return all(end <= b0 or start >= b1 for b0, b1 in self.booked)

    def next_free(self, start: float, length: float) -> float:
        t = start
        for b0, b1 in sorted(self.booked):
            if t + length <= b0:
                break
            t = max(t, b1 + 5.0)
        return t


class Sink:
    """Events of one tenant; each flush sorts what is due (a stable sort keeps an
    attempt before its answer and its end when their times tie)."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self.add = self._events.append

    def flush(self, before: float) -> list[Event]:
        events = self._events
        events.sort(key=_time)
        cut = bisect.bisect_left(events, before, key=_time)
        due = events[:cut]
        del events[:cut]
        return due


def talk_time(rng: random.Random) -> float:
    """Talk seconds: log-normal around 2.5 min (mean about 3.5), a few quick calls."""
    if rng.random() < 0.05:
        return rng.uniform(2.0, 20.0)
    return min(7200.0, max(5.0, rng.lognormvariate(math.log(150.0), 0.85)))


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; the rates here are small."""
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def nanp(rng: random.Random, npa: str | None = None) -> str:
    return f"+1{npa or rng.choice(NPAS)}{rng.randrange(200, 1000)}{rng.randrange(10_000):04d}"


def foreign(rng: random.Random, codes: tuple[str, ...] = FOREIGN) -> str:
    return f"+{rng.choice(codes)}{rng.randrange(10**8, 10**9)}"


StreamFactory = Callable[[], Iterator[Event]]


class _Peek:
    """A time-ordered stream read up to a boundary at a time."""

    __slots__ = ("_it", "_next")

    def __init__(self, it: Iterator[Event]) -> None:
        self._it = it
        self._next: Event | None = next(it, None)

    def take_before(self, boundary: float, out: list[Event]) -> None:
        event, it = self._next, self._it
        while event is not None and event.time < boundary:
            out.append(event)
            event = next(it, None)
        self._next = event


@dataclass(slots=True)
class Scenario:
    """Tenants with their labels, their profiles, and a merged event stream."""

    days: int
    tenants: list[Tenant] = field(default_factory=list)
    profiles: Profiles = field(default_factory=Profiles)
    streams: list[StreamFactory] = field(default_factory=list)
    registered: dict[str, set[str]] = field(default_factory=dict)  # host -> usernames

    def add_office(self, office: Office) -> None:
        self.tenants.append(office.tenant())
        self.profiles.set(office.account, office.profile)
        self.streams.append(lambda: office.stream(self.days))
        for seat in office.seats:
            self.registered.setdefault(office.ip, set()).add(seat.username)

    def events(self) -> Iterator[Event]:
        """All streams merged in time order, a simulated day at a time.

        Each stream is already ordered, so sorting the concatenated runs of a day
        (Timsort merges runs) is much cheaper than a heap over hundreds of streams.
        """
        feeds = [_Peek(make()) for make in self.streams]
        for k in range(self.days + 2):
            batch: list[Event] = []
            boundary = START + k * DAY if k <= self.days else math.inf
            for feed in feeds:
                feed.take_before(boundary, batch)
            batch.sort(key=_time)
            yield from batch

    def owner_of_source(self) -> dict[str, Tenant]:
        return {source: tenant for tenant in self.tenants for source in tenant.sources}
