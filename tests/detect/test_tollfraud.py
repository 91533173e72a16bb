"""Toll fraud: against the account's own habit, in the account's own calendar."""

from __future__ import annotations

import pytest

from switch.cdr.record import Direction
from switch.detect import (
    AccountProfile,
    Alert,
    Event,
    Level,
    Profiles,
    Registration,
    Subject,
    SubjectKind,
    ThresholdError,
    TollFraudDetector,
    TollFraudThresholds,
)
from switch.policy.destination import DestinationClass as DC
from tests.detect.helpers import at, call, in_order

NEW_YORK = AccountProfile(utc_offset_minutes=-300, active_seats=5)
ACCOUNT = Subject(SubjectKind.ACCOUNT, "1")
EXT = Subject(SubjectKind.EXTENSION, "10")


def detector(profile: AccountProfile = NEW_YORK, **thresholds: float) -> TollFraudDetector:
    return TollFraudDetector(TollFraudThresholds(**thresholds), Profiles({1: profile}))  # type: ignore[arg-type]


def feed(d: TollFraudDetector, events: list[Event]) -> list[Alert]:
    alerts: list[Alert] = []
    for event in in_order(events):
        alerts += d.feed(event)
    return alerts


def risky(
    start: float,
    n: int,
    *,
    every: float = 300.0,
    talk: float = 60.0,
    prefix: str = "r",
    cls: DC = DC.INTERNATIONAL_HIGH_RISK,
) -> list[Event]:
    events: list[Event] = []
    for i in range(n):
        events += call(
            start + i * every,
            f"{prefix}{start}-{i}",
            ring=5.0,
            talk=talk,
            dest=f"+88216{i:06d}",
            cls=cls,
        )
    return events


def learn(d: TollFraudDetector, per_day: int, days: int) -> list[Alert]:
    """``per_day`` costly calls each weekday morning (10:00 New York) from 2025-09-01."""
    alerts: list[Alert] = []
    for day in range(days):
        start = at(2025, 9, 1, 15) + day * 86_400.0
        if (day % 7) < 5:
            alerts += feed(d, risky(start, per_day, every=600.0, prefix=f"l{day}-"))
    return alerts


def test_a_new_account_starts_from_a_small_per_seat_baseline() -> None:
    assert detector().baseline(1, at(2025, 9, 1, 15)) == 3.0
    big = AccountProfile(active_seats=100)
    assert detector(big).baseline(1, at(2025, 9, 1, 15)) == 50.0


def test_the_baseline_learns_the_account_habit() -> None:
    d = detector()
    assert learn(d, per_day=10, days=28) == []
    assert 6.0 < d.baseline(1, at(2025, 9, 29, 15)) < 10.5


def test_a_rise_in_business_hours_warns_and_a_big_one_is_critical() -> None:
    d = detector()
    learn(d, per_day=2, days=14)
    day = at(2025, 9, 16, 14)  # a Tuesday, 10:00 in New York
    moderate = feed(d, risky(day, 20, every=900.0))
    assert {a.level for a in moderate} == {Level.WARNING}
    d = detector()
    learn(d, per_day=2, days=14)
    large = feed(d, risky(day, 40, every=450.0))
    assert Level.CRITICAL in {a.level for a in large if a.subject == ACCOUNT}


def test_the_same_burst_is_critical_at_night_but_a_warning_by_day() -> None:
    by_day = feed(detector(), risky(at(2025, 9, 2, 15), 15, every=200.0))  # 11:00 local
    at_night = feed(detector(), risky(at(2025, 9, 3, 7), 15, every=200.0))  # 03:00 local
    assert {a.level for a in by_day} == {Level.WARNING}
    assert Level.CRITICAL in {a.level for a in at_night}
    assert next(a for a in at_night if a.level is Level.CRITICAL).figures["off_hours"] == 1.0


def test_weekend_and_night_follow_the_account_offset() -> None:
    friday_evening = at(2025, 9, 6, 1)  # Saturday 01:00 UTC is Friday 20:00 in New York
    saturday_noon = at(2025, 9, 6, 17)  # 13:00 in New York on a Saturday
    assert not NEW_YORK.off_hours(friday_evening)
    assert NEW_YORK.off_hours(saturday_noon)
    assert AccountProfile().off_hours(at(2025, 9, 6, 13))  # a UTC account: Saturday
    evening = feed(detector(), risky(friday_evening, 8, every=300.0))
    weekend = feed(detector(), risky(saturday_noon, 8, every=300.0))
    assert [a.level for a in evening] == []
    assert [a.level for a in weekend] == [Level.WARNING]


def test_the_daily_count_resets_at_local_midnight() -> None:
    # Monday 10:00 and 22:30 in New York are one local day, but two days in UTC.
    events = risky(at(2025, 9, 1, 15), 8, every=60.0, prefix="a")
    events += risky(at(2025, 9, 2, 3, 30), 8, every=60.0, prefix="b", talk=10.0)
    local = feed(detector(cooldown=0.0), events)
    utc = feed(detector(AccountProfile(active_seats=5), cooldown=0.0), events)
    assert max(a.figures["risky_today"] for a in local) == 16
    assert max(a.figures["risky_today"] for a in utc) == 8


def _registration(t: float, source: str, country: str) -> Registration:
    return Registration(
        t,
        10,
        "u10",
        f"udp:{source}:5060",
        "Yealink",
        "urn:uuid:10",
        account_id=1,
        extension_id=10,
        country=country,
    )


def test_a_credential_that_just_moved_networks_is_suspicious() -> None:
    events: list[Event] = [
        _registration(at(2025, 9, 1, 12) + d * 86_400.0, "198.51.100.7", "US") for d in range(7)
    ]
    events.append(_registration(at(2025, 9, 8, 6), "203.0.113.5", "LT"))  # 02:00 local
    events += risky(at(2025, 9, 8, 6, 10), 15, every=120.0)
    alerts = feed(detector(), events)
    seat = [a for a in alerts if a.subject == EXT]
    assert [a.level for a in seat] == [Level.WARNING, Level.CRITICAL]
    assert seat[-1].figures["new_network"] == 1.0


def test_the_first_registration_of_a_credential_is_not_a_move() -> None:
    events: list[Event] = [_registration(at(2025, 9, 1, 14), "203.0.113.5", "LT")]
    events += risky(at(2025, 9, 1, 15), 4, every=60.0)
    assert feed(detector(), events) == []


def test_many_costly_calls_at_once_on_one_credential() -> None:
    three = feed(detector(), risky(at(2025, 9, 2, 15), 3, every=10.0, talk=600.0))
    five = feed(detector(), risky(at(2025, 9, 2, 15), 5, every=10.0, talk=600.0))
    assert [(a.subject, a.level) for a in three] == [(EXT, Level.WARNING)]
    assert (EXT, Level.CRITICAL) in [(a.subject, a.level) for a in five]


def test_domestic_and_inbound_calls_are_not_counted() -> None:
    events = risky(at(2025, 9, 2, 7), 30, every=60.0, cls=DC.DOMESTIC_LONG_DISTANCE)
    for i in range(30):
        events += call(
            at(2025, 9, 2, 7) + i * 60.0,
            f"in{i}",
            ring=2.0,
            talk=30.0,
            direction=Direction.INBOUND,
            identity="+88216000000",
            dest="+12125550001",
            cls=DC.LOCAL,
        )
    assert feed(detector(), events) == []


def test_premium_calls_count() -> None:
    alerts = feed(detector(), risky(at(2025, 9, 3, 7), 15, every=200.0, cls=DC.PREMIUM))
    assert Level.CRITICAL in {a.level for a in alerts}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ewma_alpha": 0.0},
        {"warning_factor": 5, "critical_factor": 4},
        {"concurrent_warning": 4, "concurrent_critical": 3},
    ],
)
def test_inconsistent_thresholds_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ThresholdError):
        TollFraudThresholds(**kwargs)  # type: ignore[arg-type]
