"""Graded responses to alerts, as data, and the pure check of a call against them.

An alert maps to actions through a ``GradedResponse`` (per detector and level,
overridable per account). Actions that change how calls are treated become
``Restriction`` rows in a ``RestrictionState``: each expires or is lifted, and
every change is kept in an audit trail. ``apply_actions`` decides a new call
against that state; emergency calls are always allowed, whatever it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from switch.cdr.record import Direction
from switch.detect.alerts import Alert, DetectorKind, Level, Subject, SubjectKind
from switch.detect.errors import UnknownRestriction
from switch.detect.events import CallAttempt, source_host
from switch.policy.destination import DestinationClass

EMERGENCY_CLASSES = frozenset({DestinationClass.EMERGENCY, DestinationClass.EMERGENCY_TEST})
COSTLY_CLASSES = frozenset(
    {
        DestinationClass.INTERNATIONAL,
        DestinationClass.INTERNATIONAL_HIGH_RISK,
        DestinationClass.PREMIUM,
        DestinationClass.OPERATOR_ASSISTED,
    }
)


class ActionKind(StrEnum):
    RECORD = "record"  # store the alert with its evidence, count it in metrics
    NOTIFY = "notify"  # send it to the operator's webhook
    THROTTLE = "throttle"  # new calls get 503 with Retry-After
    RESTRICT_CLASS = "restrict_class"  # deny some destination classes
    SUSPEND_OUTBOUND = "suspend_outbound"  # deny all outbound but emergency
    END_CALLS = "end_calls"  # hang up live calls of the subject (never emergency)


class Scope(StrEnum):
    SUBJECT = "subject"  # whatever the alert is about
    ACCOUNT = "account"  # the whole account the subject belongs to


_RESTRICTING = frozenset(
    {ActionKind.THROTTLE, ActionKind.RESTRICT_CLASS, ActionKind.SUSPEND_OUTBOUND}
)


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a graded response. ``duration`` None lasts until lifted by hand;
    ``classes`` limits RESTRICT_CLASS and END_CALLS (empty: every non-emergency call)."""

    kind: ActionKind
    scope: Scope = Scope.SUBJECT
    duration: float | None = 3600.0
    retry_after: int = 60
    classes: frozenset[DestinationClass] = frozenset()


RECORD = Action(ActionKind.RECORD)
NOTIFY = Action(ActionKind.NOTIFY)
_TELL = (RECORD, NOTIFY)

ResponseKey = tuple[DetectorKind, Level]

DEFAULT_RULES: Mapping[ResponseKey, tuple[Action, ...]] = {
    (DetectorKind.AUTODIAL, Level.CRITICAL): (
        *_TELL,
        Action(ActionKind.THROTTLE, duration=3600.0, retry_after=300),
    ),
    (DetectorKind.TOLL_FRAUD, Level.CRITICAL): (
        *_TELL,
        Action(ActionKind.RESTRICT_CLASS, duration=None, classes=COSTLY_CLASSES),
        Action(ActionKind.END_CALLS, classes=COSTLY_CLASSES),
    ),
    (DetectorKind.WANGIRI, Level.CRITICAL): (
        *_TELL,
        Action(
            ActionKind.RESTRICT_CLASS,
            scope=Scope.ACCOUNT,
            duration=86_400.0,
            classes=frozenset({DestinationClass.INTERNATIONAL_HIGH_RISK}),
        ),
    ),
    (DetectorKind.BLASTING, Level.CRITICAL): (
        *_TELL,
        Action(ActionKind.THROTTLE, scope=Scope.ACCOUNT, duration=900.0, retry_after=120),
    ),
}


@dataclass(frozen=True, slots=True)
class GradedResponse:
    """(detector, level) -> actions; anything unlisted is recorded and notified only."""

    rules: Mapping[ResponseKey, tuple[Action, ...]] = field(
        default_factory=lambda: dict(DEFAULT_RULES)
    )
    per_account: Mapping[int, Mapping[ResponseKey, tuple[Action, ...]]] = field(
        default_factory=dict
    )
    fallback: tuple[Action, ...] = _TELL

    def actions_for(self, alert: Alert) -> tuple[Action, ...]:
        key = (alert.detector, alert.level)
        if alert.account_id is not None:
            override = self.per_account.get(alert.account_id, {})
            if key in override:
                return override[key]
        return self.rules.get(key, self.fallback)


@dataclass(frozen=True, slots=True)
class Restriction:
    id: int
    kind: ActionKind
    subject: Subject
    account_id: int | None
    created: float
    expires: float | None
    reason: str
    detector: DetectorKind | None = None
    classes: frozenset[DestinationClass] = frozenset()
    retry_after: int = 60

    def active(self, now: float) -> bool:
        return self.expires is None or now < self.expires


class AuditEvent(StrEnum):
    ADDED = "added"
    LIFTED = "lifted"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    time: float
    event: AuditEvent
    restriction: Restriction
    by: str  # "detector", "operator" or who lifted it


class RestrictionState:
    """The restrictions in force. Reversible: everything added can be lifted."""

    __slots__ = ("_by_id", "_next_id", "audit")

    def __init__(self) -> None:
        self._by_id: dict[int, Restriction] = {}
        self._next_id = 1
        self.audit: list[AuditEntry] = []

    def apply(self, alert: Alert, actions: Iterable[Action], now: float) -> list[Restriction]:
        """Turn the restricting actions of an alert into restrictions."""
        made: list[Restriction] = []
        for action in actions:
            if action.kind not in _RESTRICTING:
                continue
            subject = _scoped(alert, action.scope)
            made.append(
                self.add(
                    action.kind,
                    subject,
                    now,
                    duration=action.duration,
                    reason=alert.explanation or alert.detector.value,
                    account_id=alert.account_id,
                    detector=alert.detector,
                    classes=action.classes,
                    retry_after=action.retry_after,
                    by="detector",
                )
            )
        return made

    def add(
        self,
        kind: ActionKind,
        subject: Subject,
        now: float,
        *,
        duration: float | None,
        reason: str,
        account_id: int | None = None,
        detector: DetectorKind | None = None,
        classes: frozenset[DestinationClass] = frozenset(),
        retry_after: int = 60,
        by: str = "operator",
    ) -> Restriction:
        expires = None if duration is None else now + duration
        restriction = Restriction(
            self._next_id,
            kind,
            subject,
            account_id,
            now,
            expires,
            reason,
            detector,
            classes,
            retry_after,
        )
        self._next_id += 1
        self._by_id[restriction.id] = restriction
        self.audit.append(AuditEntry(now, AuditEvent.ADDED, restriction, by))
        return restriction

    def lift(self, restriction_id: int, now: float, *, by: str = "operator") -> Restriction:
        restriction = self._by_id.pop(restriction_id, None)
        if restriction is None:
            raise UnknownRestriction(restriction_id)
        self.audit.append(AuditEntry(now, AuditEvent.LIFTED, restriction, by))
        return restriction

    def expire(self, now: float) -> list[Restriction]:
        ended = [r for r in self._by_id.values() if not r.active(now)]
        for restriction in ended:
            del self._by_id[restriction.id]
            self.audit.append(AuditEntry(now, AuditEvent.EXPIRED, restriction, "clock"))
        return ended

    def active(self, now: float) -> list[Restriction]:
        return [r for r in self._by_id.values() if r.active(now)]

    def matching(self, attempt: CallAttempt, now: float) -> list[Restriction]:
        return [r for r in self.active(now) if _applies_to(r.subject, attempt)]


class CallOutcome(StrEnum):
    ALLOW = "allow"
    THROTTLE = "throttle"  # 503 with Retry-After
    DENY = "deny"  # 403 with the reason


@dataclass(frozen=True, slots=True)
class CallDecision:
    outcome: CallOutcome
    reason: str = ""
    sip_status: int | None = None
    retry_after: int | None = None
    restriction_id: int | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is CallOutcome.ALLOW


ALLOW = CallDecision(CallOutcome.ALLOW)
EMERGENCY_ALLOWED = CallDecision(CallOutcome.ALLOW, "emergency calls are never restricted")


def apply_actions(state: RestrictionState, attempt: CallAttempt, now: float) -> CallDecision:
    """Decide a new call against the restrictions in force.

    Only outbound calls are restricted (inbound calls are the victims' own). A
    suspension beats a class restriction, which beats a throttle.
    """
    if attempt.destination_class in EMERGENCY_CLASSES:
        return EMERGENCY_ALLOWED
    if attempt.direction is not Direction.OUTBOUND:
        return ALLOW
    throttle: Restriction | None = None
    restricted: Restriction | None = None
    for r in state.matching(attempt, now):
        if r.kind is ActionKind.SUSPEND_OUTBOUND:
            return CallDecision(
                CallOutcome.DENY, f"outbound calling suspended: {r.reason}", 403, None, r.id
            )
        if r.kind is ActionKind.RESTRICT_CLASS and _class_hit(r.classes, attempt):
            restricted = restricted or r
        elif r.kind is ActionKind.THROTTLE and (
            throttle is None or r.retry_after > throttle.retry_after
        ):
            throttle = r
    if restricted is not None:
        return CallDecision(
            CallOutcome.DENY,
            f"call class restricted: {restricted.reason}",
            403,
            None,
            restricted.id,
        )
    if throttle is not None:
        return CallDecision(
            CallOutcome.THROTTLE,
            f"throttled: {throttle.reason}",
            503,
            throttle.retry_after,
            throttle.id,
        )
    return ALLOW


def calls_to_end(alert: Alert, action: Action, live: Iterable[CallAttempt]) -> list[str]:
    """Call-IDs of the live calls an END_CALLS action hangs up; never an emergency call."""
    if action.kind is not ActionKind.END_CALLS:
        return []
    subject = _scoped(alert, action.scope)
    return [
        call.call_id
        for call in live
        if call.destination_class not in EMERGENCY_CLASSES
        and (not action.classes or call.destination_class in action.classes)
        and _applies_to(subject, call)
    ]


def _class_hit(classes: frozenset[DestinationClass], attempt: CallAttempt) -> bool:
    return not classes or attempt.destination_class in classes


def _scoped(alert: Alert, scope: Scope) -> Subject:
    if scope is Scope.ACCOUNT and alert.account_id is not None:
        return Subject(SubjectKind.ACCOUNT, str(alert.account_id))
    return alert.subject


def _applies_to(subject: Subject, call: CallAttempt) -> bool:
    kind, ident = subject.kind, subject.id
    if kind is SubjectKind.ACCOUNT:
        return call.account_id is not None and str(call.account_id) == ident
    if kind is SubjectKind.EXTENSION:
        return call.extension_id is not None and str(call.extension_id) == ident
    if kind is SubjectKind.DEVICE:
        return call.device_id is not None and str(call.device_id) == ident
    if kind is SubjectKind.SOURCE:
        return call.source_address is not None and source_host(call.source_address) == ident
    if kind is SubjectKind.DID:
        return call.destination == ident or call.caller_identity == ident
    return False
