"""Trunking a seat: concurrency, identities, bindings, PBX User-Agents, DID concurrency."""

from __future__ import annotations

import pytest

from switch.cdr.record import Direction
from switch.detect import (
    AccountProfile,
    Alert,
    CallAnswered,
    Event,
    Level,
    Profiles,
    Registration,
    SeatKind,
    Subject,
    SubjectKind,
    ThresholdError,
    TrunkingDetector,
    TrunkingThresholds,
)
from switch.policy.destination import DestinationClass as DC
from tests.detect.helpers import T0, attempt, call, ended, in_order

SEAT = Subject(SubjectKind.DEVICE, "10")


def feed(detector: TrunkingDetector, events: list[Event]) -> list[Alert]:
    alerts: list[Alert] = []
    for event in in_order(events):
        alerts += detector.feed(event)
    return alerts


def overlapping(n: int, start: float = T0, **fields: object) -> list[Event]:
    """``n`` calls on seat 10 that are all up at start + 60 s."""
    events: list[Event] = []
    for i in range(n):
        events += call(start + i * 10.0, f"o{start}-{i}", ring=3.0, talk=300.0, **fields)
    return events


def test_consult_transfer_two_calls_at_once_is_fine() -> None:
    # An inbound call is answered, put on hold, and a consult call goes to a colleague.
    events = call(T0, "in1", ring=4, talk=120, direction=Direction.INBOUND, dest="+12125550001")
    events += call(
        T0 + 30,
        "consult",
        ring=3,
        talk=20,
        dest="201",
        cls=DC.INTERNAL,
        direction=Direction.INTERNAL,
    )
    assert feed(TrunkingDetector(), events) == []


def test_third_call_at_once_warns_and_fourth_is_critical() -> None:
    three = feed(TrunkingDetector(), overlapping(3))
    assert [(a.subject, a.level) for a in three] == [(SEAT, Level.WARNING)]
    assert three[0].figures["concurrent_calls"] == 3
    four = feed(TrunkingDetector(), overlapping(4))
    assert (SEAT, Level.CRITICAL) in [(a.subject, a.level) for a in four]


def test_repeated_episodes_above_the_limit_become_critical() -> None:
    events: list[Event] = []
    for hour in range(3):  # three separate moments with three calls at once in a day
        events += overlapping(3, start=T0 + hour * 3600.0)
    detector = TrunkingDetector(TrunkingThresholds(cooldown=60.0))
    levels = [a.level for a in feed(detector, events)]
    assert levels == [Level.WARNING, Level.WARNING, Level.CRITICAL]


def test_ringing_inbound_calls_do_not_count_until_answered() -> None:
    events = overlapping(2)
    for i in range(3):  # call waiting rings while two calls are up; nobody answers
        events += call(
            T0 + 40 + i,
            f"ring{i}",
            ring=20.0,
            talk=0.0,
            direction=Direction.INBOUND,
            dest="+12125550001",
        )
    assert feed(TrunkingDetector(), events) == []
    answered = overlapping(2) + call(
        T0 + 40, "pickup", ring=2.0, talk=60.0, direction=Direction.INBOUND, dest="+12125550001"
    )
    assert [a.level for a in feed(TrunkingDetector(), answered)] == [Level.WARNING]


def test_multi_user_seats_are_not_limited() -> None:
    assert feed(TrunkingDetector(), overlapping(6, seat_kind=SeatKind.MULTI_USER)) == []


def test_ended_calls_free_the_seat() -> None:
    events: list[Event] = []
    for i in range(10):  # ten calls one after the other
        events += call(T0 + i * 400.0, f"seq{i}", ring=3.0, talk=300.0)
    assert feed(TrunkingDetector(), events) == []


def test_many_caller_names_through_one_seat() -> None:
    events: list[Event] = []
    for i in range(6):
        events += call(T0 + i * 900.0, f"n{i}", ring=3.0, talk=60.0, name=f"PBX user {i}")
    alerts = feed(TrunkingDetector(), events)
    assert [a.level for a in alerts] == [Level.WARNING, Level.CRITICAL]
    assert alerts[-1].figures["distinct_caller_names"] == 5


def test_the_same_name_all_day_is_fine() -> None:
    events: list[Event] = []
    for i in range(40):
        events += call(T0 + i * 600.0, f"s{i}", ring=3.0, talk=60.0)
    assert feed(TrunkingDetector(), events) == []


def register(
    t: float,
    *,
    ua: str = "Yealink SIP-T46U",
    instance: str | None = "urn:uuid:1",
    contact: str = "sip:u@192.168.1.2:5060",
    expires: float = 3600.0,
) -> Registration:
    return Registration(
        t,
        10,
        "u10",
        "udp:198.51.100.7:5060",
        ua,
        instance,
        contact,
        expires,
        account_id=1,
        extension_id=10,
    )


@pytest.mark.parametrize(
    ("ua", "is_pbx"),
    [
        ("Asterisk PBX 18.9.0", True),
        ("FPBX-16.0.33(18.20.0)", True),
        ("3CX Phone System 18.0.3.461", True),
        ("3CXPhone 6.0.26523.0", False),
        ("FreeSWITCH-mod_sofia/1.10.9", True),
        ("Grandstream UCM6302V1.3 1.0.21.9", True),
        ("Grandstream GXP2170 1.0.11.23", False),
        ("Yeastar P550", True),
        ("Panasonic-KX-NS700/007.00210", True),
        ("Yealink SIP-T46U 108.86.0.20", False),
        ("Poly VVX 450 6.4.3", False),
    ],
)
def test_pbx_user_agents(ua: str, is_pbx: bool) -> None:
    alerts = TrunkingDetector().feed(register(T0, ua=ua))
    assert bool(alerts) is is_pbx
    if is_pbx:
        assert alerts[0].level is Level.CRITICAL and alerts[0].subject == SEAT


def test_several_live_bindings_behind_one_credential() -> None:
    detector = TrunkingDetector()
    found: list[Alert] = []
    for i in range(5):
        found += detector.feed(register(T0 + i, instance=f"urn:uuid:{i}"))
    assert [a.level for a in found] == [Level.WARNING, Level.CRITICAL]
    assert found[-1].figures["live_bindings"] == 5


def test_re_registration_and_expiry_do_not_pile_up_bindings() -> None:
    detector = TrunkingDetector()
    found: list[Alert] = []
    for day in range(10):  # the same phone daily, and an old contact that expired
        found += detector.feed(register(T0 + day * 86_400.0))
        found += detector.feed(
            register(
                T0 + day * 86_400.0 + 5,
                instance=None,
                contact=f"sip:u@10.0.0.{day}:5060",
                expires=600.0,
            )
        )
    assert found == []


def test_nat_rebinding_the_port_is_still_one_device() -> None:
    detector = TrunkingDetector()
    found: list[Alert] = []
    for i in range(6):  # no instance id, a new public port every time
        found += detector.feed(
            register(T0 + i * 600, instance=None, contact=f"<sip:u10@192.168.1.2:{5060 + i};ob>")
        )
    assert found == []
    for i in range(3):  # three phones behind one office address sharing the credential
        found += detector.feed(
            register(T0 + 4000 + i, instance=None, contact=f"sip:u10@192.168.1.{10 + i}:5060")
        )
    assert [a.level for a in found] == [Level.WARNING]


def test_unregister_removes_the_binding() -> None:
    detector = TrunkingDetector()
    found: list[Alert] = []
    for i in range(6):
        found += detector.feed(register(T0 + i, instance=f"urn:uuid:{i}"))
        found += detector.feed(register(T0 + i + 0.5, instance=f"urn:uuid:{i}", expires=0.0))
    assert found == []


def test_inbound_concurrency_on_a_did_above_its_seats() -> None:
    did = "+12125550123"
    profiles = Profiles({1: AccountProfile(did_seats={did: 1})})
    events: list[Event] = []
    for i in range(3):  # three callers answered on a DID that rings one seat
        ext = 20 + i  # each on a different device so only the DID is crowded
        events += call(
            T0 + i, f"in{i}", ring=2.0, talk=300.0, direction=Direction.INBOUND, dest=did, ext=ext
        )
    alerts = feed(TrunkingDetector(profiles=profiles), events)
    assert [(a.subject, a.level) for a in alerts] == [
        (Subject(SubjectKind.DID, did), Level.WARNING),
        (Subject(SubjectKind.DID, did), Level.CRITICAL),
    ]


def test_answered_event_without_attempt_is_ignored() -> None:
    detector = TrunkingDetector()
    assert detector.feed(CallAnswered(T0, "unknown")) == []
    assert detector.feed(ended(T0, "unknown")) == []
    assert detector.feed(attempt(T0, "a", ext=None, device=None)) == []


def test_inconsistent_thresholds_are_refused() -> None:
    with pytest.raises(ThresholdError):
        TrunkingThresholds(seat_limit=3, seat_critical=3)
