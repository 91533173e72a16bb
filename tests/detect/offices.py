"""The honest office of the synthetic traffic; abuse patterns subclass it (``abuse.py``).

An office has seats (1, 5, 20 or 100), a main number answered by a receptionist
who consult-transfers, direct DIDs, a toll-free number when it is large, and a
calendar of its own (a fixed UTC offset). Calls arrive as Poisson counts per
working day at business-hour moments; a seat makes one call at a time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from switch.cdr.record import Direction, Disposition
from switch.detect import (
    AccountProfile,
    AuthFailure,
    CallAnswered,
    CallAttempt,
    CallEnded,
    Event,
    Registration,
    RequestSeen,
    SeatKind,
)
from switch.policy.destination import DestinationClass as DC
from tests.detect.synthetic import (
    DAY,
    NPAS,
    PHONE_UAS,
    START,
    Pattern,
    Seat,
    Sink,
    Tenant,
    foreign,
    nanp,
    poisson,
    talk_time,
)


class Office:
    """An honest office; abuse patterns hook ``extra_day`` to add their own traffic."""

    def __init__(self, account: int, seats: int, rng: random.Random, pattern: Pattern) -> None:
        self.account = account
        self.pattern = pattern
        self.rng = rng
        offset = rng.choice((-480, -420, -360, -300, -300, -300, 0, 60))
        self.ip = f"10.{account >> 8 & 255}.{account & 255}.1"
        self.src = f"udp:{self.ip}:5060"
        self.npa = rng.choice(NPAS)
        self.seats = [self._seat(i) for i in range(seats)]
        self.main_did = self.seats[0].did if seats == 1 else nanp(rng, self.npa)
        self.toll_free = [f"+1800{rng.randrange(10**6, 10**7)}"] if seats >= 20 else []
        dids = {s.did: 1 for s in self.seats} | {self.main_did: seats}
        dids |= {n: seats for n in self.toll_free}
        self.profile = AccountProfile(
            utc_offset_minutes=offset,
            active_seats=seats,
            toll_free_numbers=len(self.toll_free),
            did_seats=dids,
        )
        self.contacts = self._contacts(30 + 15 * seats)
        self.intl_share = rng.choice((0.0, 0.0, 0.0, 0.01, 0.01, 0.03, 0.05, 0.12))
        self.intl_contacts = [foreign(rng) for _ in range(5 + seats)]
        self.weekend_worker = rng.random() < 0.1
        self.misconfigured_day = rng.randrange(28) if rng.random() < 0.08 else None
        self.calls = 0
        self.sink = Sink()

    def tenant(self) -> Tenant:
        homes = {s.home_ip for s in self.seats if s.nomad}
        return Tenant(self.account, self.pattern, frozenset({self.ip, *homes}), len(self.seats))

    def _seat(self, i: int) -> Seat:
        rng = self.rng
        ext = self.account * 1000 + i
        return Seat(
            index=i,
            ext=ext,
            username=f"{self.account}x{i}",
            name=f"User {ext}",
            did=nanp(rng, self.npa),
            out_rate=min(12.0, rng.lognormvariate(math.log(2.5), 0.5)),
            in_rate=min(8.0, rng.lognormvariate(math.log(1.2), 0.5)),
            ua=rng.choice(PHONE_UAS),
            instance=f"urn:uuid:{ext:012d}" if rng.random() < 0.7 else None,
            nomad=rng.random() < 0.1,
            home_ip=f"172.{16 + ext % 16}.{ext >> 8 & 255}.{ext & 255}",
        )

    def _contacts(self, n: int) -> list[tuple[str, DC]]:
        rng = self.rng
        out: list[tuple[str, DC]] = []
        for _ in range(n):
            r = rng.random()
            if r < 0.5:
                out.append((nanp(rng, self.npa), DC.LOCAL))
            elif r < 0.96:
                out.append((nanp(rng), DC.DOMESTIC_LONG_DISTANCE))
            else:
                out.append((f"+1888{rng.randrange(10**6, 10**7)}", DC.TOLL_FREE))
        return out

    # -- time ---------------------------------------------------------------

    def local_midnight(self, day: int) -> float:
        return START + day * DAY - self.profile.utc_offset_minutes * 60.0

    def business_time(self, day: int) -> float:
        """A moment of a working day: mornings and afternoons, a quiet lunch, a few late."""
        rng = self.rng
        r = rng.random()
        hour = (
            rng.uniform(8.5, 12.0)
            if r < 0.45
            else rng.uniform(13.0, 17.5)
            if r < 0.92
            else rng.uniform(12.0, 13.0)
            if r < 0.97
            else rng.uniform(17.5, 20.5)
        )
        return self.local_midnight(day) + hour * 3600.0

    def is_workday(self, day: int) -> bool:
        return self.profile.weekday(self.local_midnight(day) + 43_200) < 5

    # -- events -------------------------------------------------------------

    def call(
        self,
        t: float,
        direction: Direction,
        seat: Seat | None,
        number: str,
        dest_class: DC | None,
        *,
        ring: float,
        talk: float,
        caller: str | None = None,
        name: str | None = None,
        parent: str | None = None,
        source: str | None = None,
        disposition: Disposition | None = None,
    ) -> str:
        """Emit attempt, answer (when ``talk`` > 0) and end of one call leg."""
        self.calls += 1
        call_id = f"c{self.account}-{self.calls}"
        self.sink.add(
            CallAttempt(
                time=t,
                call_id=call_id,
                direction=direction,
                account_id=self.account,
                extension_id=seat.ext if seat else None,
                device_id=seat.ext if seat else None,
                seat_kind=seat.seat_kind if seat else SeatKind.SINGLE_USER,
                destination=number,
                destination_class=dest_class,
                caller_name=name if name is not None else (seat.name if seat else None),
                caller_identity=caller if caller is not None else (seat.did if seat else None),
                source_address=self.src if source is None else f"udp:{source}:5060",
                parent_call_id=parent,
            )
        )
        if talk > 0:
            self.sink.add(CallAnswered(t + ring, call_id))
            disposition = Disposition.ANSWERED
        self.sink.add(
            CallEnded(
                time=t + ring + talk,
                call_id=call_id,
                duration=ring + talk,
                billable_seconds=math.ceil(talk),
                disposition=disposition or Disposition.NO_ANSWER,
            )
        )
        return call_id

    def register(self, t: float, seat: Seat, ip: str, *, country: str = "US") -> None:
        port = self.rng.randrange(1024, 65000)
        self.sink.add(
            Registration(
                time=t,
                device_id=seat.ext,
                username=seat.username,
                source_address=f"udp:{ip}:{port}",
                user_agent=seat.ua,
                instance_id=seat.instance,
                contact=f"sip:{seat.username}@192.168.1.{seat.index % 250 + 2}:{port}",
                expires=90_000.0,
                account_id=self.account,
                extension_id=seat.ext,
                seat_kind=seat.seat_kind,
                country=country,
            )
        )

    # -- one day --------------------------------------------------------------

    def day(self, day: int) -> None:
        for seat in self.seats:
            seat.booked.clear()
        self.registrations(day)
        if self.is_workday(day) or self.weekend_worker:
            self.receptionist(day)
            for seat in self.seats:
                self.seat_day(day, seat)
        if day == self.misconfigured_day:
            self.stale_password(day)
        self.extra_day(day)

    def extra_day(self, day: int) -> None:
        """Abuse patterns add their traffic here."""

    def registrations(self, day: int) -> None:
        rng = self.rng
        base = self.local_midnight(day)
        for seat in self.seats:
            self.register(base + rng.uniform(5.5, 8.0) * 3600, seat, self.ip)
            if seat.nomad and rng.random() < 0.3:
                self.register(base + rng.uniform(19.0, 22.0) * 3600, seat, seat.home_ip)
            if seat.nomad and rng.random() < 0.02:
                hotel = f"100.{rng.randrange(64, 128)}.{rng.randrange(256)}.{rng.randrange(256)}"
                self.register(base + rng.uniform(9.0, 21.0) * 3600, seat, hotel)

    def receptionist(self, day: int) -> None:
        """Calls to the main number and toll-free numbers: answer, maybe consult-transfer."""
        rng = self.rng
        desk = self.seats[0]
        scale = 1.0 if self.is_workday(day) else 0.05
        n = poisson(rng, min(0.6 * len(self.seats), 50.0) * scale) if len(self.seats) > 1 else 0
        for t in sorted(self.business_time(day) for _ in range(n)):
            caller = foreign(rng) if rng.random() < 0.01 else nanp(rng)
            did, cls = self.main_did, DC.LOCAL
            if self.toll_free and rng.random() < 0.04:
                did, cls = self.toll_free[0], DC.TOLL_FREE
            ring = rng.uniform(3.0, 12.0)
            handle = rng.uniform(10.0, 40.0)
            start = desk.next_free(t, ring + handle)
            if start - t > 60.0:  # queued too long: the caller gives up
                self.call(t, Direction.INBOUND, desk, did, cls, ring=60.0, talk=0, caller=caller)
                continue
            self.transfer(start, desk, did, cls, caller, ring, handle)

    def transfer(
        self, t: float, desk: Seat, did: str, cls: DC, caller: str, ring: float, handle: float
    ) -> None:
        rng = self.rng
        answered = t + ring
        target = rng.choice(self.seats[1:])
        consult = rng.random() < 0.4
        talk = talk_time(rng)
        hand_over = answered + handle + (20.0 if consult else 0.0)
        if not target.free(hand_over, hand_over + talk):
            # Target busy: the receptionist takes a message.
            self.call(
                t, Direction.INBOUND, desk, did, cls, ring=ring, talk=handle + 20.0, caller=caller
            )
            desk.booked.append((answered, answered + handle + 20.0))
            return
        first = self.call(
            t,
            Direction.INBOUND,
            desk,
            did,
            cls,
            ring=ring,
            talk=hand_over - t - ring,
            caller=caller,
        )
        desk.booked.append((answered, hand_over))
        if consult:  # the first call is on hold while the desk asks the colleague
            c0 = answered + handle
            self.call(
                c0, Direction.INTERNAL, desk, str(target.ext), DC.INTERNAL, ring=4.0, talk=16.0
            )
        self.call(
            hand_over,
            Direction.INBOUND,
            target,
            did,
            cls,
            ring=0.5,
            talk=talk,
            caller=caller,
            parent=first,
        )
        target.booked.append((hand_over, hand_over + 0.5 + talk))

    def seat_day(self, day: int, seat: Seat) -> None:
        rng = self.rng
        scale = 1.0 if self.is_workday(day) else 0.1
        plan: list[tuple[float, str]] = []
        plan += [
            (self.business_time(day), "out") for _ in range(poisson(rng, seat.out_rate * scale))
        ]
        plan += [(self.business_time(day), "in") for _ in range(poisson(rng, seat.in_rate * scale))]
        plan += [(self.business_time(day), "int") for _ in range(poisson(rng, 0.4 * scale))]
        for t, kind in sorted(plan):
            if kind == "in":
                self.inbound(t, seat)
            else:
                self.outbound(t, seat, internal=kind == "int")

    def outbound(self, t: float, seat: Seat, *, internal: bool) -> None:
        rng = self.rng
        r = rng.random()
        ring, talk = (
            (rng.uniform(4.0, 20.0), talk_time(rng))
            if r < 0.7
            else (rng.uniform(15.0, 35.0), 0.0)
            if r < 0.95
            else (rng.uniform(1.0, 4.0), 0.0)
        )
        if internal and len(self.seats) > 1:
            other = rng.choice([s for s in self.seats if s is not seat])
            number, cls, talk = str(other.ext), DC.INTERNAL, min(talk, 300.0)
        elif rng.random() < self.intl_share:
            number, cls = rng.choice(self.intl_contacts), DC.INTERNATIONAL
        else:
            number, cls = rng.choice(self.contacts)
        start = seat.next_free(t, ring + talk)
        disposition = Disposition.BUSY if r >= 0.95 else None
        self.call(
            start,
            Direction.OUTBOUND if cls is not DC.INTERNAL else Direction.INTERNAL,
            seat,
            number,
            cls,
            ring=ring,
            talk=talk,
            disposition=disposition,
        )
        seat.booked.append((start, start + ring + talk))

    def inbound(self, t: float, seat: Seat) -> None:
        rng = self.rng
        caller = foreign(rng) if rng.random() < 0.01 else nanp(rng)
        ring = rng.uniform(3.0, 15.0)
        talk = talk_time(rng)
        if rng.random() < 0.2 or not seat.free(t, t + ring + talk):
            self.call(
                t, Direction.INBOUND, seat, seat.did, DC.LOCAL, ring=20.0, talk=0, caller=caller
            )
            return
        self.call(
            t, Direction.INBOUND, seat, seat.did, DC.LOCAL, ring=ring, talk=talk, caller=caller
        )
        seat.booked.append((t + ring, t + ring + talk))

    def stale_password(self, day: int) -> None:
        """An old second phone keeps retrying a changed password from the office."""
        rng = self.rng
        seat = rng.choice(self.seats)
        t = self.business_time(day)
        end = t + rng.uniform(1.0, 5.0) * 3600
        while t < end:
            self.sink.add(AuthFailure(t, f"udp:{self.ip}:5062", seat.username, "Cisco/SPA303"))
            self.sink.add(
                RequestSeen(
                    t, f"udp:{self.ip}:5062", "REGISTER", seat.username, "Cisco/SPA303", True
                )
            )
            t += rng.uniform(30.0, 90.0)

    def stream(self, days: int) -> Iterator[Event]:
        for day in range(days):
            self.day(day)
            yield from self.sink.flush(self.local_midnight(day + 1))
        yield from self.sink.flush(math.inf)
