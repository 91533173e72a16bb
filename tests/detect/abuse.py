"""The abuse patterns of the synthetic traffic, each on top of an office's honest calls
(except the brute-force attacker, which is a bare source on the internet)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator

from switch.cdr.record import Direction
from switch.detect import AuthFailure, Event, RequestSeen
from switch.policy.destination import DestinationClass as DC
from tests.detect.offices import Office
from tests.detect.synthetic import (
    DAY,
    HIGH_RISK,
    START,
    Pattern,
    Seat,
    Tenant,
    foreign,
    nanp,
    poisson,
    talk_time,
)

PBX_UAS = ("Asterisk PBX 18.9.0", "FPBX-16.0.33(18.20.0)", "3CX Phone System 18.0", "Yeastar P550")
SCANNER_UAS = ("friendly-scanner", "sipvicious", "VaxSIPUserAgent/3.1", "pplsip", "sipcli/v1.8")
SPOOFED_UAS = ("Zoiper rv2.10.20.4", "Linphone/4.4.0", "Yealink SIP-T46S 66.85.0.5", "eyeBeam")


def _workday(office: Office, first: int, last: int) -> int:
    rng = office.rng
    days = [d for d in range(first, last) if office.is_workday(d)]
    return rng.choice(days)


class DialerOffice(Office):
    """One extension runs a dialler for a few hours: sequential numbers, a prefix walked,
    or a purchased list dialled over several lines at a steady pace."""

    def __init__(self, account: int, seats: int, rng: random.Random, days: int) -> None:
        super().__init__(account, seats, rng, Pattern.DIALER)
        self.abuse_day = _workday(self, 1, days - 1)
        self.variant = rng.choice(("sequential", "prefix", "list"))
        self.rate = rng.uniform(4.0, 30.0)  # attempts per minute
        self.jitter = rng.uniform(0.05, 0.35)
        self.answer = rng.uniform(0.12, 0.35)
        self.hours = min(rng.uniform(1.0, 5.0), 600 / (self.rate * 60))

    def extra_day(self, day: int) -> None:
        if day != self.abuse_day:
            return
        rng = self.rng
        seat = rng.choice(self.seats)
        t = self.local_midnight(day) + rng.uniform(9.0, 13.0) * 3600
        end = t + self.hours * 3600
        base = int(nanp(rng, self.npa)[1:]) // 10_000 * 10_000
        n = 0
        while t < end:
            n += 1
            if self.variant == "sequential":
                number = f"+{base + n}"
            elif self.variant == "prefix":
                number = f"+{base + rng.randrange(10_000)}"
            else:
                number = nanp(rng)
            if rng.random() < self.answer:
                ring = rng.uniform(3.0, 15.0)
                talk = rng.uniform(1.0, 5.0) if rng.random() < 0.6 else talk_time(rng) / 3
            else:
                ring, talk = rng.uniform(2.0, 20.0), 0.0
            self.call(
                t, Direction.OUTBOUND, seat, number, DC.DOMESTIC_LONG_DISTANCE, ring=ring, talk=talk
            )
            t += 60.0 / self.rate * max(0.05, rng.gauss(1.0, self.jitter))


class TrunkedOffice(Office):
    """A PBX with many users registered on one single-user seat."""

    def __init__(self, account: int, seats: int, rng: random.Random) -> None:
        super().__init__(account, seats, rng, Pattern.TRUNKED_PBX)
        self.pbx_seat = rng.choice(self.seats)
        if rng.random() < 0.5:
            self.pbx_seat.ua = rng.choice(PBX_UAS)
        self.users = [f"PBX user {i}" for i in range(rng.randrange(8, 17))]
        self.pass_names = rng.random() < 0.6  # most PBXs pass the user's name through
        self.numbers = [nanp(rng, self.npa) for _ in self.users] if rng.random() < 0.3 else []

    def seat_day(self, day: int, seat: Seat) -> None:
        if seat is not self.pbx_seat:
            super().seat_day(day, seat)

    def extra_day(self, day: int) -> None:
        if not self.is_workday(day):
            return
        rng, seat = self.rng, self.pbx_seat
        for i, user in enumerate(self.users):
            name = user if self.pass_names else seat.name
            caller = self.numbers[i] if self.numbers else seat.did
            for _ in range(poisson(rng, 3.0)):
                number, cls = rng.choice(self.contacts)
                self.call(
                    self.business_time(day),
                    Direction.OUTBOUND,
                    seat,
                    number,
                    cls,
                    ring=rng.uniform(4.0, 20.0),
                    talk=talk_time(rng),
                    name=name,
                    caller=caller,
                )
            for _ in range(poisson(rng, 2.0)):
                self.call(
                    self.business_time(day),
                    Direction.INBOUND,
                    seat,
                    seat.did,
                    DC.LOCAL,
                    ring=rng.uniform(3.0, 12.0),
                    talk=talk_time(rng),
                    caller=nanp(rng),
                )


class TollFraudOffice(Office):
    """A credential stolen and registered from abroad, then a burst of costly calls at
    night or at a weekend over several channels at once."""

    def __init__(self, account: int, seats: int, rng: random.Random, days: int) -> None:
        super().__init__(account, seats, rng, Pattern.TOLL_FRAUD)
        self.fraud_day = rng.randrange(7, days - 1)
        self.calls_total = rng.randrange(20, 250)
        self.channels = rng.randrange(2, 13)
        self.attacker = f"185.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    def extra_day(self, day: int) -> None:
        if day != self.fraud_day:
            return
        rng = self.rng
        seat = rng.choice(self.seats)
        weekend = not self.is_workday(day)
        hour = rng.uniform(10.0, 16.0) if weekend and rng.random() < 0.5 else rng.uniform(0.5, 3.5)
        t0 = self.local_midnight(day) + hour * 3600
        self.register(t0 - rng.uniform(60.0, 1800.0), seat, self.attacker, country="LT")
        per_channel = math.ceil(self.calls_total / self.channels)
        for _ in range(self.channels):
            t = t0 + rng.uniform(0.0, 120.0)
            for _ in range(per_channel):
                code = rng.choice(HIGH_RISK)
                cls = DC.INTERNATIONAL_HIGH_RISK if rng.random() < 0.7 else DC.INTERNATIONAL
                number = f"+{code}{rng.randrange(10**7, 10**8)}"
                ring, talk = rng.uniform(2.0, 10.0), rng.uniform(30.0, 900.0)
                if rng.random() < 0.3:
                    talk = 0.0
                self.call(
                    t,
                    Direction.OUTBOUND,
                    seat,
                    number,
                    cls,
                    ring=ring,
                    talk=talk,
                    source=self.attacker,
                )
                t += ring + talk + rng.uniform(1.0, 10.0)


class WangiriOffice(Office):
    """One-ring calls from high-risk numbers across the DIDs, then a few call backs."""

    def __init__(self, account: int, seats: int, rng: random.Random, days: int) -> None:
        super().__init__(account, seats, rng, Pattern.WANGIRI)
        self.wave_day = rng.randrange(2, days - 3)

    def extra_day(self, day: int) -> None:
        if day != self.wave_day:
            return
        rng = self.rng
        t0 = self.local_midnight(day) + rng.uniform(8.0, 22.0) * 3600
        span = rng.uniform(10.0, 50.0) * 60
        numbers = [foreign(rng, HIGH_RISK) for _ in range(rng.randrange(3, 30))]
        rang: list[str] = []
        for _ in range(rng.randrange(8, 41)):
            seat = rng.choice(self.seats)
            t = t0 + rng.uniform(0.0, span)
            talk = rng.uniform(1.0, 4.0) if rng.random() < 0.1 else 0.0
            rang.append(rng.choice(numbers))
            self.call(
                t,
                Direction.INBOUND,
                seat,
                seat.did,
                DC.LOCAL,
                ring=rng.uniform(1.0, 6.0),
                talk=talk,
                caller=rang[-1],
            )
        for _ in range(rng.randrange(1, 4)):
            seat = rng.choice(self.seats)
            t = t0 + span + rng.uniform(0.2, 20.0) * 3600
            self.call(
                t,
                Direction.OUTBOUND,
                seat,
                rng.choice(rang),
                DC.INTERNATIONAL_HIGH_RISK,
                ring=rng.uniform(3.0, 8.0),
                talk=rng.uniform(30.0, 120.0),
            )


class BlastOffice(Office):
    """A voice broadcast: a hundred or more calls started within seconds."""

    def __init__(self, account: int, seats: int, rng: random.Random, days: int) -> None:
        super().__init__(account, seats, rng, Pattern.BLAST)
        self.blast_day = _workday(self, 1, days - 1)

    def extra_day(self, day: int) -> None:
        if day != self.blast_day:
            return
        rng = self.rng
        t0 = self.business_time(day)
        spread = rng.uniform(2.0, 25.0)
        for _ in range(rng.randrange(110, 401)):
            seat = rng.choice(self.seats)
            talk = rng.uniform(20.0, 40.0) if rng.random() < 0.4 else 0.0
            self.call(
                t0 + rng.uniform(0.0, spread),
                Direction.OUTBOUND,
                seat,
                nanp(rng),
                DC.DOMESTIC_LONG_DISTANCE,
                ring=rng.uniform(10.0, 30.0),
                talk=talk,
            )


class FairUseOffice(Office):
    """Seats on the phone all day, every day: call-centre use of an unlimited plan."""

    def __init__(self, account: int, seats: int, rng: random.Random) -> None:
        super().__init__(account, seats, rng, Pattern.FAIR_USE)

    def seat_day(self, day: int, seat: Seat) -> None:
        rng = self.rng
        if not self.is_workday(day) and rng.random() < 0.5:
            return
        t = self.local_midnight(day) + rng.uniform(7.5, 8.5) * 3600
        end = self.local_midnight(day) + rng.uniform(19.0, 21.0) * 3600
        while t < end:
            talk = rng.uniform(600.0, 3600.0)
            t = seat.next_free(t, 5.0 + talk)  # the receptionist may have put a call through
            if rng.random() < 0.5:
                number, cls = rng.choice(self.contacts)
                self.call(t, Direction.OUTBOUND, seat, number, cls, ring=5.0, talk=talk)
            else:
                self.call(
                    t,
                    Direction.INBOUND,
                    seat,
                    seat.did,
                    DC.LOCAL,
                    ring=5.0,
                    talk=talk,
                    caller=nanp(rng),
                )
            seat.booked.append((t, t + 5.0 + talk))
            t += 5.0 + talk + rng.uniform(20.0, 120.0)


def brute_force(
    ident: int, rng: random.Random, days: int
) -> tuple[Tenant, Callable[[], Iterator[Event]]]:
    """An attacker: maybe an OPTIONS sweep, then wrong passwords at machine speed."""
    ip = f"45.{ident % 250}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    ua = rng.choice(SCANNER_UAS) if rng.random() < 0.4 else rng.choice(SPOOFED_UAS)
    start = START + rng.uniform(0.0, (days - 1) * DAY)
    rate = rng.uniform(0.5, 15.0)  # attempts per second
    attempts = rng.randrange(200, 1500)
    sweep = rng.random() < 0.3
    names = [str(n) for n in range(100, 1000)] + ["admin", "test", "sip", "user", "1000", "voip"]

    def events() -> Iterator[Event]:
        t = start
        source = f"udp:{ip}:{rng.randrange(1024, 65000)}"
        if sweep:
            for name in names[: rng.randrange(50, 300)]:
                yield RequestSeen(t, source, "OPTIONS", name, ua, None)
                t += rng.expovariate(rate * 2)
        for i in range(attempts):
            name = names[i % len(names)] if rng.random() < 0.5 else rng.choice(names[:20])
            yield RequestSeen(t, source, "REGISTER", name, ua, False)
            yield AuthFailure(t, source, name, ua)
            t += rng.expovariate(rate)

    return Tenant(ident, Pattern.BRUTE_FORCE, frozenset({ip})), events
