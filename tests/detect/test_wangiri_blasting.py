"""Wangiri waves and call-backs; blasting at the 100-call line."""

from __future__ import annotations

import pytest

from switch.cdr.record import Direction
from switch.detect import (
    Alert,
    BlastingDetector,
    BlastingThresholds,
    Event,
    Level,
    Subject,
    SubjectKind,
    ThresholdError,
    WangiriDetector,
    WangiriThresholds,
)
from switch.policy.destination import DestinationClass as DC
from tests.detect.helpers import T0, call, in_order

ACCOUNT = Subject(SubjectKind.ACCOUNT, "1")


def feed(detector: WangiriDetector | BlastingDetector, events: list[Event]) -> list[Alert]:
    alerts: list[Alert] = []
    for event in in_order(events):
        alerts += detector.feed(event)
    return alerts


def one_rings(
    n: int,
    *,
    start: float = T0,
    every: float = 120.0,
    ring: float = 3.0,
    talk: float = 0.0,
    caller: str = "+88216{:06d}",
) -> list[Event]:
    events: list[Event] = []
    for i in range(n):
        events += call(
            start + i * every,
            f"w{start}-{i}",
            ring=ring,
            talk=talk,
            direction=Direction.INBOUND,
            dest="+12125550001",
            cls=DC.LOCAL,
            identity=caller.format(i),
            ext=10 + i % 3,
        )
    return events


def callback(t: float, number: str, call_id: str = "cb") -> list[Event]:
    return call(t, call_id, ring=4.0, talk=60.0, dest=number, cls=DC.INTERNATIONAL_HIGH_RISK)


def test_a_wave_of_one_ring_calls_warns_and_a_callback_is_critical() -> None:
    events = one_rings(8) + callback(T0 + 5 * 3600, "+88216000003")
    alerts = feed(WangiriDetector(), events)
    assert [(a.subject, a.level) for a in alerts] == [
        (ACCOUNT, Level.WARNING),
        (ACCOUNT, Level.CRITICAL),
    ]
    assert alerts[0].figures["short_foreign_calls"] == 5
    assert "cb" in alerts[1].evidence


def test_numbers_that_rang_before_the_wave_formed_are_part_of_it() -> None:
    events = one_rings(6) + callback(T0 + 3600, "+88216000000")  # the very first caller
    assert Level.CRITICAL in [a.level for a in feed(WangiriDetector(), events)]


def test_a_single_missed_foreign_call_returned_is_normal() -> None:
    events = one_rings(2, every=3000.0) + callback(T0 + 7200, "+88216000001")
    assert feed(WangiriDetector(), events) == []


def test_calls_to_numbers_outside_the_wave_are_not_callbacks() -> None:
    events = one_rings(8) + callback(T0 + 3600, "+442071234567")
    assert [a.level for a in feed(WangiriDetector(), events)] == [Level.WARNING]


def test_domestic_and_long_inbound_calls_do_not_make_a_wave() -> None:
    domestic = one_rings(10, caller="+1212555{:04d}")
    talked = one_rings(10, ring=3.0, talk=120.0, start=T0 + 7200)
    assert feed(WangiriDetector(), domestic + talked) == []


def test_slow_trickle_is_not_a_wave() -> None:
    assert feed(WangiriDetector(), one_rings(10, every=1200.0)) == []


def test_callbacks_after_the_window_are_not_linked() -> None:
    events = one_rings(8) + callback(T0 + 80 * 3600, "+88216000003")
    assert [a.level for a in feed(WangiriDetector(), events)] == [Level.WARNING]


def test_home_country_codes_are_configurable() -> None:
    uk = WangiriDetector(WangiriThresholds(home_country_codes=("44",)))
    assert uk.is_foreign("+12125550100")
    assert not uk.is_foreign("+442071234567")
    assert not uk.is_foreign("2125550100")  # not E.164: unknown, not foreign


def burst(
    n: int,
    *,
    spread: float,
    ring: float = 20.0,
    start: float = T0,
    cls: DC = DC.DOMESTIC_LONG_DISTANCE,
) -> list[Event]:
    events: list[Event] = []
    for i in range(n):
        t = start + spread * i / max(1, n - 1)
        events += call(
            t, f"b{start}-{i}", ring=ring, dest=f"+1212555{i:04d}", cls=cls, ext=10 + i % 50
        )
    return events


def test_ninety_nine_calls_at_once_warn_and_the_hundredth_is_critical() -> None:
    d = BlastingDetector()
    alerts: list[Alert] = []
    attempts = 0
    for event in in_order(burst(100, spread=3.0)):
        found = d.feed(event)
        if type(event).__name__ == "CallAttempt":
            attempts += 1
        for alert in found:
            assert (alert.level is Level.CRITICAL) == (attempts == 100)
        alerts += found
    assert [a.level for a in alerts] == [Level.WARNING, Level.CRITICAL]
    assert alerts[0].figures["live_outbound"] == 50


def test_live_calls_count_even_when_started_over_minutes() -> None:
    # 120 calls over four minutes, each ringing five minutes: all live at once.
    alerts = feed(BlastingDetector(), burst(120, spread=240.0, ring=300.0))
    assert Level.CRITICAL in [a.level for a in alerts]


def test_steady_calling_is_not_blasting() -> None:
    alerts = feed(BlastingDetector(), burst(300, spread=3 * 3600.0, ring=20.0))
    assert alerts == []


def test_emergency_calls_never_count_towards_blasting() -> None:
    assert feed(BlastingDetector(), burst(150, spread=2.0, cls=DC.EMERGENCY)) == []


def test_blasting_threshold_is_configurable() -> None:
    alerts = feed(
        BlastingDetector(BlastingThresholds(warning=5, critical=10)), burst(10, spread=1.0)
    )
    assert [a.level for a in alerts] == [Level.WARNING, Level.CRITICAL]
    with pytest.raises(ThresholdError):
        BlastingThresholds(warning=20, critical=10)
