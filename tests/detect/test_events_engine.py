"""Events from call records, the engine and CDR replay, alert de-duplication, windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from switch.cdr.record import CallRecord, Direction, Disposition
from switch.detect import (
    Alert,
    AlertGate,
    CallAnswered,
    CallAttempt,
    CallEnded,
    DetectionEngine,
    DetectorKind,
    Level,
    Subject,
    SubjectKind,
    events_from_record,
    record_events,
)
from switch.detect.events import network_of, source_host
from switch.detect.window import Concurrency, DistinctWindow, LruStates, TimeWindow
from switch.policy.destination import DestinationClass as DC
from tests.detect.helpers import T0

START = datetime(2025, 9, 1, 14, 0, tzinfo=UTC)


def record(n: int, *, talk: float | None = 30.0, start: datetime = START) -> CallRecord:
    rec = CallRecord(
        call_id=f"rec-{n}",
        start_time=start + timedelta(seconds=6 * n),
        direction=Direction.OUTBOUND,
        account_id=7,
        extension_id=70,
        device_id=700,
        caller_presented="Bob",
        caller_asserted="+12125550100",
        dialled=f"1212555{n:04d}",
        destination=f"+1212555{n:04d}",
        destination_class="domestic_long_distance",
        source_address="udp:192.0.2.10:5060",
    )
    if talk is not None:
        if talk > 0:
            rec.answer_time = rec.start_time + timedelta(seconds=2)
        rec.end_time = rec.start_time + timedelta(seconds=2 + talk)
        rec.disposition = Disposition.ANSWERED if talk > 0 else Disposition.NO_ANSWER
    return rec


@pytest.mark.parametrize(
    ("address", "host", "network"),
    [
        ("udp:192.0.2.10:5060", "192.0.2.10", "192.0.2.0/24"),
        ("192.0.2.10:5062", "192.0.2.10", "192.0.2.0/24"),
        ("192.0.2.10", "192.0.2.10", "192.0.2.0/24"),
        ("tls:[2001:db8::1]:5061", "2001:db8::1", "2001:db8::/48"),
        ("2001:db8::1", "2001:db8::1", "2001:db8::/48"),
        ("tcp:pbx.example.net:5060", "pbx.example.net", "pbx.example.net"),
    ],
)
def test_source_host_and_network(address: str, host: str, network: str) -> None:
    assert source_host(address) == host
    assert network_of(address) == network


def test_an_answered_record_becomes_attempt_answer_and_end() -> None:
    attempt, answered, end = events_from_record(record(0, talk=61.25))
    assert isinstance(attempt, CallAttempt) and isinstance(answered, CallAnswered)
    assert isinstance(end, CallEnded)
    assert attempt.time == START.timestamp()
    assert attempt.destination_class is DC.DOMESTIC_LONG_DISTANCE
    assert (attempt.account_id, attempt.extension_id, attempt.device_id) == (7, 70, 700)
    assert (attempt.caller_name, attempt.caller_identity) == ("Bob", "+12125550100")
    assert answered.time == START.timestamp() + 2
    assert (end.billable_seconds, end.disposition) == (62, Disposition.ANSWERED)


def test_unanswered_open_and_oddly_classified_records() -> None:
    _, end = events_from_record(record(1, talk=0.0))
    assert isinstance(end, CallEnded) and end.billable_seconds == 0
    assert len(events_from_record(record(2, talk=None))) == 1  # still open
    odd = record(3)
    odd.destination_class = "domestic"  # not one of the classes: kept as unclassified
    first = events_from_record(odd)[0]
    assert isinstance(first, CallAttempt) and first.destination_class is None


def test_record_events_are_in_time_order() -> None:
    records = [record(5, talk=300.0), record(0, talk=1.0), record(2, talk=0.0)]
    times = [e.time for e in record_events(records)]
    assert times == sorted(times)


def test_replaying_exported_records_finds_a_dialler() -> None:
    records = [record(n, talk=0.0) for n in range(200)]  # 200 sequential calls, 6 s apart
    alerts = DetectionEngine().replay(records)
    assert any(
        a.detector is DetectorKind.AUTODIAL
        and a.level is Level.CRITICAL
        and a.subject == Subject(SubjectKind.EXTENSION, "70")
        for a in alerts
    )
    cut = START.timestamp() + 6 * 15  # only the first 15 records: below the minimum sample
    assert DetectionEngine().replay(records, end=cut) == []


def test_engine_feeds_every_detector_that_reads_the_event() -> None:
    engine = DetectionEngine()
    alerts: list[Alert] = []
    for n in range(120):
        alerts += engine.feed(
            CallAttempt(
                T0 + n * 0.01,
                f"b{n}",
                Direction.OUTBOUND,
                account_id=1,
                extension_id=10,
                device_id=10,
                destination=f"+1212555{n:04d}",
            )
        )
    kinds = {a.detector for a in alerts}
    assert {DetectorKind.BLASTING, DetectorKind.TRUNKING, DetectorKind.AUTODIAL} <= kinds


def _alert(level: Level, t: float, subject: str = "1") -> Alert:
    return Alert(DetectorKind.AUTODIAL, level, Subject(SubjectKind.ACCOUNT, subject), t, t, {})


def test_gate_holds_repeats_within_the_cool_down() -> None:
    gate = AlertGate(cooldown=600.0)
    assert gate.admit(_alert(Level.WARNING, T0))
    assert not gate.admit(_alert(Level.WARNING, T0 + 599))
    assert gate.admit(_alert(Level.WARNING, T0 + 600))
    assert gate.admit(_alert(Level.WARNING, T0 + 600, subject="2"))


def test_gate_lets_escalation_through_and_holds_warnings_after_critical() -> None:
    gate = AlertGate(cooldown=600.0)
    assert gate.admit(_alert(Level.WARNING, T0))
    assert gate.admit(_alert(Level.CRITICAL, T0 + 1))
    gate2 = AlertGate(cooldown=600.0)
    assert gate2.admit(_alert(Level.CRITICAL, T0))
    assert not gate2.admit(_alert(Level.WARNING, T0 + 10))
    assert gate2.admit(_alert(Level.WARNING, T0 + 700))
    assert len(gate2) == 1  # the expired critical entry was dropped


def test_lru_states_drop_idle_keys_and_cap_their_number() -> None:
    states: LruStates[str, list[int]] = LruStates(list, idle_ttl=80.0, max_keys=3)
    for i, key in enumerate("abcd"):
        states.touch(key, T0 + i)
    assert "a" not in states and len(states) == 3  # capped: the least recent went
    states.touch("b", T0 + 50)
    states.touch("e", T0 + 200)  # c and d idle for 196 s, b for 150 s: all gone
    assert list(k for k, _ in states.items()) == ["e"]


def test_windows_forget_what_falls_out() -> None:
    window = TimeWindow(60.0)
    for i in range(5):
        window.add(T0 + i * 20, f"c{i}")
    assert window.count(T0 + 80) == 3
    assert window.labels() == ["c2", "c3", "c4"]
    distinct = DistinctWindow(60.0)
    assert distinct.add("x", T0) and distinct.add("y", T0 + 10)
    assert not distinct.add("x", T0 + 30)
    assert distinct.count(T0 + 75) == 1  # y went, x was seen again at +30


def test_concurrency_forgets_calls_never_seen_to_end() -> None:
    live: Concurrency[str] = Concurrency(max_age=3600.0)
    assert live.open("a", "seat", T0) == 1
    assert live.open("a", "seat", T0 + 1) == 1  # idempotent
    assert live.open("b", "seat", T0 + 2) == 2
    assert live.close("a") == "seat" and live.close("a") is None
    assert live.open("c", "seat", T0 + 4000) == 1  # b was lost long ago
    assert live.members("seat") == ["c"]
