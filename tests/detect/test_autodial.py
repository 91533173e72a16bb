"""Auto-dialling: diallers are caught, busy people are not."""

from __future__ import annotations

import random

import pytest

from switch.cdr.record import Direction
from switch.detect import (
    AccountProfile,
    Alert,
    AutodialDetector,
    AutodialThresholds,
    CallAttempt,
    Event,
    Level,
    Profiles,
    SeatKind,
    Subject,
    SubjectKind,
    ThresholdError,
)
from switch.policy.destination import DestinationClass as DC
from tests.detect.helpers import T0, call, in_order

EXT = Subject(SubjectKind.EXTENSION, "10")
ACCOUNT = Subject(SubjectKind.ACCOUNT, "1")


def feed(detector: AutodialDetector, events: list[Event]) -> list[Alert]:
    alerts: list[Alert] = []
    for event in in_order(events):
        alerts += detector.feed(event)
    return alerts


def levels(alerts: list[Alert], subject: Subject) -> list[Level]:
    return [a.level for a in alerts if a.subject == subject]


def sequential_dialler(n: int, *, every: float = 6.0, start: float = T0) -> list[Event]:
    events: list[Event] = []
    for i in range(n):
        events += call(start + i * every, f"d{i}", ring=4.0, dest=f"+1212555{i:04d}")
    return events


def test_sequential_dialler_is_critical_for_extension_and_account() -> None:
    alerts = feed(AutodialDetector(), sequential_dialler(150))
    assert Level.CRITICAL in levels(alerts, EXT)
    assert Level.CRITICAL in levels(alerts, ACCOUNT)
    first = next(a for a in alerts if a.subject == EXT)
    assert first.figures["sequential_share"] > 0.9
    assert first.figures["short_call_share"] == 1.0
    assert 0 < len(first.evidence) <= 50
    assert first.account_id == 1


def test_nothing_is_scored_below_the_minimum_sample() -> None:
    detector = AutodialDetector()
    events = in_order(sequential_dialler(20))
    alerts: list[Alert] = []
    attempts = 0
    for event in events:
        found = detector.feed(event)
        if type(event).__name__ == "CallAttempt":
            attempts += 1
        if found:
            assert attempts == 20  # the first alert comes with the 20th attempt
        alerts += found
    assert alerts


def _busiest_window(events: list[Event], span: float = 900.0) -> int:
    times = sorted(
        e.time for e in events if isinstance(e, CallAttempt) and e.direction is Direction.OUTBOUND
    )
    return max(sum(1 for u in times if t <= u < t + span) for t in times)


def test_busy_honest_receptionist_is_not_flagged() -> None:
    """Many short outbound calls at human pace, mostly answered, consults and transfers."""
    rng = random.Random(7)
    events: list[Event] = []
    t = T0
    for i in range(200):  # four hours of a busy desk
        t += rng.expovariate(1 / 12.0) + 3.0
        answered = rng.random() < 0.8
        talk = rng.uniform(10.0, 45.0) if answered else 0.0
        dest = f"+1{rng.choice(['212', '646', '718'])}{rng.randrange(2000000, 9999999)}"
        ring = rng.uniform(3.0, 12.0)
        events += call(t, f"r{i}", ring=ring, talk=talk, dest=dest)
        if i % 4 == 0:  # a consult call to a colleague, then the transfer
            events += call(
                t + ring + 5,
                f"x{i}",
                ring=3,
                talk=10,
                dest="201",
                cls=DC.INTERNAL,
                direction=Direction.INTERNAL,
            )
        t += ring + talk
    assert _busiest_window(events) >= 20  # enough for the detector to score this desk
    assert feed(AutodialDetector(), events) == []


def _paced(talk: float) -> list[Event]:
    """60 calls in 15 min, one every 15 s, 40% of them to the next number."""
    events: list[Event] = []
    for i in range(60):
        dest = f"+1212555{i:04d}" if i % 5 < 2 else f"+1{300 + 7 * i}{2000000 + 7919 * i}"
        events += call(
            T0 + i * 15.0, f"c{i}", ring=5.0, talk=talk, dest=dest, seat_kind=SeatKind.MULTI_USER
        )
    return events


def test_conversational_durations_count_against_a_fast_regular_caller() -> None:
    short = feed(AutodialDetector(), _paced(talk=30.0))
    long = feed(AutodialDetector(), _paced(talk=400.0))
    assert levels(short, EXT) == [Level.WARNING]
    assert levels(long, EXT) == []


def _borderline(start: float) -> list[Event]:
    """30 attempts in 15 min, unclear on its own: short, seldom answered, fairly regular."""
    events: list[Event] = []
    t = start
    for i in range(30):
        talk = 3.0 if i % 10 < 3 else 0.0
        events += call(t, f"b{i}", ring=3.0, talk=talk, dest=f"+1{200 + 7 * i}555{i:04d}")
        t += 20.0 if i % 2 else 40.0
    return events


def test_dialling_outside_business_hours_tips_a_borderline_case() -> None:
    office = Profiles({1: AccountProfile(business_start=8, business_end=18)})
    day = feed(AutodialDetector(profiles=office), _borderline(T0))
    night = feed(AutodialDetector(profiles=office), _borderline(T0 + 14 * 3600))  # 00:00 UTC
    assert levels(day, EXT) == [Level.WARNING]
    assert Level.CRITICAL in levels(night, EXT)
    assert next(a for a in night if a.subject == EXT).figures["off_hours_share"] == 1.0


def test_business_hours_follow_the_account_offset() -> None:
    # 00:00 UTC is 19:00 the day before in UTC-5: still outside 8..18.
    # 14:00 UTC is 09:00 in UTC-5: inside.
    profiles = Profiles({1: AccountProfile(utc_offset_minutes=-300)})
    inside = feed(AutodialDetector(profiles=profiles), _borderline(T0 + 4 * 3600))
    assert levels(inside, EXT) == [Level.WARNING]


def test_a_dialler_spread_over_extensions_is_caught_at_account_level() -> None:
    events: list[Event] = []
    for i in range(90):  # five extensions, 1.2 attempts a minute each: too few per extension
        ext = 10 + i % 5
        events += call(T0 + i * 10.0, f"s{i}", ring=4.0, dest=f"+1212555{i:04d}", ext=ext)
    alerts = feed(AutodialDetector(), events)
    assert all(a.subject.kind is SubjectKind.ACCOUNT for a in alerts)
    assert Level.CRITICAL in levels(alerts, ACCOUNT)
    critical = next(a for a in alerts if a.level is Level.CRITICAL)
    assert critical.figures["attempts_per_minute"] < 3  # per active extension


def test_internal_and_emergency_calls_are_ignored() -> None:
    events: list[Event] = []
    for i in range(60):
        events += call(
            T0 + i * 5.0,
            f"i{i}",
            ring=2.0,
            dest=str(200 + i),
            cls=DC.INTERNAL,
            direction=Direction.INTERNAL,
        )
    for i in range(25):
        events += call(T0 + 400 + i * 5.0, f"e{i}", ring=2.0, dest="911", cls=DC.EMERGENCY)
    assert feed(AutodialDetector(), events) == []


def test_cool_down_holds_repeats_and_warnings_after_critical() -> None:
    alerts = feed(AutodialDetector(), sequential_dialler(900, every=6.0))  # 90 minutes
    ext = [a for a in alerts if a.subject == EXT]
    assert [a.level for a in ext] == [Level.CRITICAL, Level.CRITICAL]
    assert ext[1].window_end - ext[0].window_end >= 3600


def test_concurrent_outbound_calls_on_a_single_user_seat_count() -> None:
    events: list[Event] = []
    for i in range(40):  # each call rings 60 s, a new one every 12 s: five at once
        events += call(
            T0 + i * 12.0 + (i % 3),
            f"p{i}",
            ring=60.0,
            talk=0.0,
            dest=f"+1{300 + i * 11}{2000000 + i * 7919}",
        )
    alerts = feed(AutodialDetector(), events)
    worst = max((a for a in alerts if a.subject == EXT), key=lambda a: a.figures["score"])
    assert worst.figures["concurrent_outbound"] >= 3


@pytest.mark.parametrize(
    "kwargs",
    [{"warning_score": 6, "critical_score": 4}, {"window": 0}, {"min_attempts": 1}],
)
def test_inconsistent_thresholds_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ThresholdError):
        AutodialThresholds(**kwargs)  # type: ignore[arg-type]


def test_window_memory_is_capped_under_a_flood() -> None:
    detector = AutodialDetector(AutodialThresholds(max_window=300, cooldown=0.0))
    alerts = feed(detector, sequential_dialler(1000, every=0.5))  # 1000 in 8 minutes
    assert max(a.figures["attempts"] for a in alerts) == 300
