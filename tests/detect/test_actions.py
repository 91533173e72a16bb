"""Graded responses and the call check: reversible, and emergency calls always pass."""

from __future__ import annotations

import pytest

from switch.cdr.record import Direction
from switch.detect import (
    Action,
    ActionKind,
    Alert,
    CallOutcome,
    DetectorKind,
    GradedResponse,
    Level,
    RestrictionState,
    Scope,
    Subject,
    SubjectKind,
    UnknownRestriction,
    apply_actions,
    calls_to_end,
)
from switch.detect.actions import AuditEvent
from switch.policy.destination import DestinationClass as DC
from tests.detect.helpers import T0, attempt

EXT = Subject(SubjectKind.EXTENSION, "10")


def alert(detector: DetectorKind, level: Level = Level.CRITICAL, subject: Subject = EXT) -> Alert:
    return Alert(detector, level, subject, T0 - 600, T0, {"x": 1.0}, ("c1",), "because", 1)


def restricted(detector: DetectorKind, level: Level = Level.CRITICAL) -> RestrictionState:
    state = RestrictionState()
    a = alert(detector, level)
    state.apply(a, GradedResponse().actions_for(a), T0)
    return state


def test_default_response_is_graded() -> None:
    response = GradedResponse()
    warn = response.actions_for(alert(DetectorKind.AUTODIAL, Level.WARNING))
    assert {a.kind for a in warn} == {ActionKind.RECORD, ActionKind.NOTIFY}
    crit = response.actions_for(alert(DetectorKind.TOLL_FRAUD))
    assert {a.kind for a in crit} >= {ActionKind.RESTRICT_CLASS, ActionKind.END_CALLS}


def test_per_account_override() -> None:
    suspend = (Action(ActionKind.SUSPEND_OUTBOUND, scope=Scope.ACCOUNT),)
    response = GradedResponse(per_account={1: {(DetectorKind.AUTODIAL, Level.WARNING): suspend}})
    assert response.actions_for(alert(DetectorKind.AUTODIAL, Level.WARNING)) == suspend
    other = Alert(DetectorKind.AUTODIAL, Level.WARNING, EXT, T0, T0, {}, (), "", 2)
    assert response.actions_for(other) != suspend


def test_warnings_restrict_nothing() -> None:
    state = restricted(DetectorKind.AUTODIAL, Level.WARNING)
    assert state.active(T0) == []
    assert apply_actions(state, attempt(T0, "c"), T0).allowed


def test_throttle_answers_503_with_retry_after_until_it_expires() -> None:
    state = restricted(DetectorKind.AUTODIAL)
    decision = apply_actions(state, attempt(T0 + 10, "c"), T0 + 10)
    assert decision.outcome is CallOutcome.THROTTLE
    assert (decision.sip_status, decision.retry_after) == (503, 300)
    assert apply_actions(state, attempt(T0 + 3600, "c"), T0 + 3600).allowed
    assert [r.kind for r in state.expire(T0 + 3600)] == [ActionKind.THROTTLE]
    assert state.audit[-1].event is AuditEvent.EXPIRED


def test_emergency_calls_pass_every_restriction() -> None:
    state = restricted(DetectorKind.AUTODIAL)
    state.add(ActionKind.SUSPEND_OUTBOUND, EXT, T0, duration=None, reason="operator")
    state.add(
        ActionKind.RESTRICT_CLASS,
        Subject(SubjectKind.ACCOUNT, "1"),
        T0,
        duration=None,
        reason="lock",
        classes=frozenset(),
    )
    for cls, number in ((DC.EMERGENCY, "911"), (DC.EMERGENCY_TEST, "933")):
        decision = apply_actions(state, attempt(T0 + 1, "e", dest=number, cls=cls), T0 + 1)
        assert decision.allowed, cls
    assert not apply_actions(state, attempt(T0 + 1, "c"), T0 + 1).allowed


def test_restricting_a_class_keeps_other_calls_going() -> None:
    state = restricted(DetectorKind.TOLL_FRAUD)
    intl = apply_actions(
        state, attempt(T0, "i", dest="+88216000000", cls=DC.INTERNATIONAL_HIGH_RISK), T0
    )
    assert (intl.outcome, intl.sip_status) == (CallOutcome.DENY, 403)
    assert apply_actions(state, attempt(T0, "d"), T0).allowed
    other_ext = attempt(T0, "o", ext=11, dest="+442071234567", cls=DC.INTERNATIONAL)
    assert apply_actions(state, other_ext, T0).allowed


def test_suspension_beats_throttle_and_inbound_is_untouched() -> None:
    state = restricted(DetectorKind.AUTODIAL)
    state.add(
        ActionKind.SUSPEND_OUTBOUND,
        Subject(SubjectKind.ACCOUNT, "1"),
        T0,
        duration=60.0,
        reason="blast",
    )
    assert apply_actions(state, attempt(T0, "c"), T0).outcome is CallOutcome.DENY
    inbound = attempt(T0, "in", direction=Direction.INBOUND, dest="+12125550001", cls=DC.LOCAL)
    assert apply_actions(state, inbound, T0).allowed


def test_restrictions_are_reversible_and_audited() -> None:
    state = restricted(DetectorKind.TOLL_FRAUD)
    (restriction,) = state.active(T0)
    assert restriction.expires is None  # until lifted
    lifted = state.lift(restriction.id, T0 + 5, by="ops@example.net")
    assert lifted == restriction
    call = attempt(T0 + 6, "i", dest="+88216000000", cls=DC.INTERNATIONAL_HIGH_RISK)
    assert apply_actions(state, call, T0 + 6).allowed
    assert [(e.event, e.by) for e in state.audit] == [
        (AuditEvent.ADDED, "detector"),
        (AuditEvent.LIFTED, "ops@example.net"),
    ]
    with pytest.raises(UnknownRestriction):
        state.lift(restriction.id, T0 + 7)


def test_account_scope_widens_the_subject() -> None:
    state = restricted(DetectorKind.WANGIRI)
    colleague = attempt(T0, "w", ext=99, dest="+88216000000", cls=DC.INTERNATIONAL_HIGH_RISK)
    assert apply_actions(state, colleague, T0).outcome is CallOutcome.DENY


def test_source_restrictions_match_any_port() -> None:
    state = RestrictionState()
    state.add(
        ActionKind.THROTTLE,
        Subject(SubjectKind.SOURCE, "192.0.2.10"),
        T0,
        duration=60.0,
        reason="flood",
        retry_after=30,
    )
    decision = apply_actions(state, attempt(T0, "c", source="udp:192.0.2.10:5099"), T0)
    assert (decision.outcome, decision.retry_after) == (CallOutcome.THROTTLE, 30)


def test_ending_live_calls_never_ends_an_emergency_call() -> None:
    live = [
        attempt(T0, "intl", dest="+88216000000", cls=DC.INTERNATIONAL_HIGH_RISK),
        attempt(T0, "911", dest="911", cls=DC.EMERGENCY),
        attempt(T0, "local", dest="+12125550100", cls=DC.LOCAL),
        attempt(T0, "other-ext", ext=11, dest="+88216000001", cls=DC.INTERNATIONAL_HIGH_RISK),
    ]
    a = alert(DetectorKind.TOLL_FRAUD)
    (end,) = [x for x in GradedResponse().actions_for(a) if x.kind is ActionKind.END_CALLS]
    assert calls_to_end(a, end, live) == ["intl"]
    everything = Action(ActionKind.END_CALLS, scope=Scope.ACCOUNT)
    assert calls_to_end(a, everything, live) == ["intl", "local", "other-ext"]
    assert calls_to_end(a, Action(ActionKind.NOTIFY), live) == []
