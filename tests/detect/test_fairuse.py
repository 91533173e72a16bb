"""Fair use: billing periods, pooled allowances, presets and the plan percentile."""

from __future__ import annotations

from typing import Any

import pytest

from switch.cdr.record import Direction
from switch.detect import (
    PER_LINE_PLAN,
    REVIEW_GUIDE_PLAN,
    AccountProfile,
    Alert,
    Event,
    FairUseDetector,
    Level,
    PlanUsage,
    Profiles,
    ThresholdError,
    above_typical,
    billing_period,
    percentile,
    percentile_alerts,
)
from switch.detect.fairuse import Pool
from switch.policy.destination import DestinationClass as DC
from tests.detect.helpers import at, call, in_order

TOLL_FREE_IN: dict[str, Any] = {
    "direction": Direction.INBOUND,
    "cls": DC.TOLL_FREE,
    "dest": "+18005550100",
}


def detector(**profile: object) -> FairUseDetector:
    return FairUseDetector(profiles=Profiles({1: AccountProfile(**profile)}))  # type: ignore[arg-type]


def feed(d: FairUseDetector, events: list[Event]) -> list[Alert]:
    alerts: list[Alert] = []
    for event in in_order(events):
        alerts += d.feed(event)
    return alerts


def minutes(
    total: float, *, start: float, per_call: float = 600.0, prefix: str = "m", **fields: object
) -> list[Event]:
    """Calls adding up to ``total`` billable minutes, one after another."""
    events: list[Event] = []
    left, i, t = total * 60.0, 0, start
    while left > 0:
        talk = min(per_call, left)
        events += call(t, f"{prefix}{i}", ring=2.0, talk=talk, **fields)
        left -= talk
        t += talk + 10.0
        i += 1
    return events


def test_calendar_and_billing_day_periods() -> None:
    assert billing_period(at(2025, 1, 31, 23, 59)) == (at(2025, 1, 1), at(2025, 2, 1))
    assert billing_period(at(2025, 12, 31, 12)) == (at(2025, 12, 1), at(2026, 1, 1))
    assert billing_period(at(2025, 3, 14, 23), 15) == (at(2025, 2, 15), at(2025, 3, 15))
    assert billing_period(at(2025, 3, 15), 15) == (at(2025, 3, 15), at(2025, 4, 15))
    assert billing_period(at(2025, 1, 10), 15) == (at(2024, 12, 15), at(2025, 1, 15))


def test_two_seats_may_use_6000_minutes_but_not_6001() -> None:
    start = at(2025, 3, 1, 9)
    exactly = feed(detector(active_seats=2), minutes(6000, start=start))
    assert [a.level for a in exactly] == [Level.WARNING]  # 80% crossed, 100% not exceeded
    over = feed(detector(active_seats=2), minutes(6001, start=start))
    assert [a.level for a in over] == [Level.WARNING, Level.CRITICAL]
    assert over[-1].figures["allowance_minutes"] == 6000
    assert over[-1].window_start == at(2025, 3, 1)


def test_both_directions_are_pooled() -> None:
    events = minutes(1600, start=at(2025, 3, 2), prefix="o")
    events += minutes(
        1600,
        start=at(2025, 3, 20),
        prefix="i",
        direction=Direction.INBOUND,
        cls=DC.LOCAL,
        dest="+12125550001",
    )
    assert Level.CRITICAL in [a.level for a in feed(detector(active_seats=1), events)]


def test_international_and_internal_minutes_are_not_in_the_pool() -> None:
    events = minutes(4000, start=at(2025, 3, 2), cls=DC.INTERNATIONAL, prefix="x")
    events += minutes(
        4000, start=at(2025, 3, 12), cls=DC.INTERNAL, prefix="y", direction=Direction.INTERNAL
    )
    assert feed(detector(active_seats=1), events) == []


def test_a_new_month_starts_from_zero() -> None:
    d = detector(active_seats=1)
    march = feed(d, minutes(2900, start=at(2025, 3, 1, 9), prefix="a"))
    april = feed(d, minutes(2900, start=at(2025, 4, 1, 9), prefix="b"))
    assert [a.level for a in march] == [Level.WARNING]
    assert [a.level for a in april] == [Level.WARNING]  # not critical: April is fresh
    usage = d.usage(1, at(2025, 4, 15))
    assert usage is not None and round(usage.minutes(Pool.DOMESTIC)) == 2900


def test_a_call_spanning_the_month_boundary_belongs_to_its_start() -> None:
    d = detector(active_seats=1)
    feed(d, minutes(2990, start=at(2025, 3, 29), prefix="a"))
    # Starts 23:00 on the 31st, lasts two hours: the 120 minutes push March over.
    spanning = feed(d, call(at(2025, 3, 31, 23), "late", ring=2.0, talk=7200.0))
    assert [a.level for a in spanning] == [Level.CRITICAL]
    assert spanning[0].window_start == at(2025, 3, 1)
    assert d.usage(1, at(2025, 4, 1, 12)) is None


def test_toll_free_minutes_against_toll_free_numbers() -> None:
    alerts = feed(
        detector(active_seats=10, toll_free_numbers=2),
        minutes(1001, start=at(2025, 3, 3), **TOLL_FREE_IN),
    )
    assert [a.level for a in alerts] == [Level.WARNING, Level.CRITICAL]
    assert alerts[-1].figures["allowance_minutes"] == 1000
    tf_calls = minutes(1001, start=at(2025, 3, 3), **TOLL_FREE_IN)
    assert feed(detector(active_seats=10), tf_calls) == []  # no toll-free numbers: no cap


def test_presets_count_differently() -> None:
    # Per-line preset: toll-free allowance is 500 per seat, so 1001 minutes on 10 seats is fine.
    per_line = FairUseDetector(
        profiles=Profiles(
            {1: AccountProfile(active_seats=10, toll_free_numbers=2, plan=PER_LINE_PLAN.name)}
        )
    )
    assert feed(per_line, minutes(1001, start=at(2025, 3, 3), **TOLL_FREE_IN)) == []
    # Review guide: only outbound long distance counts.
    review = FairUseDetector(profiles=Profiles({1: AccountProfile(plan=REVIEW_GUIDE_PLAN.name)}))
    local = minutes(3500, start=at(2025, 3, 3), cls=DC.LOCAL, prefix="l")
    assert feed(review, local) == []
    ld = minutes(3001, start=at(2025, 3, 3), prefix="d")
    assert Level.CRITICAL in [a.level for a in feed(review, ld)]


def test_percentile_interpolates() -> None:
    assert percentile([1, 2, 3, 4, 5], 0.5) == 3
    assert percentile([10, 20], 0.95) == pytest.approx(19.5)
    with pytest.raises(ThresholdError):
        percentile([], 0.5)


def test_accounts_far_above_their_plans_95th_percentile_are_flagged() -> None:
    usages = [PlanUsage(i, "basic", 400.0 + i, 2) for i in range(40)]
    usages.append(PlanUsage(99, "basic", 4000.0, 2))  # 2000 per seat
    usages.append(PlanUsage(100, "tiny", 9999.0, 1))  # its plan has too few accounts
    flags = above_typical(usages, factor=1.5)
    assert [f.account_id for f in flags] == [99]
    assert flags[0].ratio > 5
    alerts = percentile_alerts(flags, at(2025, 3, 1), at(2025, 4, 1))
    assert alerts[0].level is Level.WARNING and alerts[0].account_id == 99
