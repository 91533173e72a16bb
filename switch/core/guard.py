"""Abuse detection in the live switch: feeds the detectors, enforces bans, limits and
graded actions. Emergency calls are never touched by anything here.

All state is in memory and every method is synchronous and cheap; alerts are written
to the database by the row writer, off the packet path.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from switch.cdr.record import CallRecord, Direction, Disposition
from switch.detect import (
    Alert,
    AuthFailure,
    BanList,
    CallAnswered,
    CallAttempt,
    CallDecision,
    CallEnded,
    CallOutcome,
    DetectionEngine,
    GradedResponse,
    RateLimiter,
    Registration,
    RequestSeen,
    RestrictionState,
    apply_actions,
    calls_to_end,
)
from switch.detect.actions import ActionKind
from switch.metrics import Metrics
from switch.policy.destination import DestinationClass
from switch.sip.message import Request
from switch.sip.uri import SipURI

log = logging.getLogger(__name__)

EMERGENCY = frozenset({"emergency", "emergency_test"})


@dataclass(frozen=True, slots=True)
class GuardSettings:
    max_calls_per_seat: int = 2  # concurrent calls on one device (2 lets consult transfer work)
    seat_limit_action: str = "refuse"  # or "flag"


class AbuseGuard:
    def __init__(
        self,
        engine: DetectionEngine,
        response: GradedResponse,
        bans: BanList,
        limiter: RateLimiter,
        metrics: Metrics,
        settings: GuardSettings,
        *,
        store_alert: Callable[[Alert, list[str]], None],
        end_call: Callable[[str], bool],
        has_valid_registration: Callable[[str, str], bool],
        is_known_user: Callable[[str], bool] = lambda user: False,
    ) -> None:
        self.engine = engine
        self.response = response
        self.bans = bans
        self.limiter = limiter
        self.metrics = metrics
        self.settings = settings
        self.restrictions = RestrictionState()
        self._store_alert = store_alert
        self._end_call = end_call
        self._has_valid_registration = has_valid_registration
        self._is_known_user = is_known_user
        self._live: dict[str, CallAttempt] = {}  # call id -> attempt, calls not yet ended
        self._per_device: dict[int, int] = defaultdict(int)

    # -- packets ---------------------------------------------------------------------------
    def admit(self, host: str, now: float) -> bool:
        """False: drop the message unanswered (banned, or over the per-source rate)."""
        if self.bans.is_banned(host, now):
            self.metrics.dropped("banned")
            return False
        if self.limiter.hit(host, now).value != "allow":
            self.metrics.dropped("rate_limited")
            return False
        return True

    def auth_failed(
        self, host: str, username: str | None, user_agent: str | None, now: float
    ) -> None:
        ban = self.bans.record_failure(
            host, username, now, has_valid_registration=self._has_valid_registration
        )
        if ban is not None:
            log.warning("banned source %s: %s", host, ban.reason)
        self._alerts(self.engine.feed(AuthFailure(now, host, username, user_agent)), now)

    def request_seen(self, request: Request, host: str, now: float) -> None:
        uri = request.to.uri
        user = unquote(uri.user) if isinstance(uri, SipURI) and uri.user else None
        known = self._is_known_user(user) if user else None
        event = RequestSeen(
            now, host, request.method, user, request.headers.get("User-Agent"), known
        )
        self._alerts(self.engine.feed(event), now)

    def registered(self, event: Registration) -> None:
        self._alerts(self.engine.feed(event), event.time)

    # -- calls -----------------------------------------------------------------------------
    def check_call(self, attempt: CallAttempt, now: float) -> CallDecision:
        """May this new call go on? Emergency always may."""
        if attempt.destination_class is not None and attempt.destination_class.value in EMERGENCY:
            return CallDecision(CallOutcome.ALLOW)
        decision = apply_actions(self.restrictions, attempt, now)
        if not decision.allowed:
            return decision
        device = attempt.device_id
        if (
            device is not None
            and attempt.direction is not Direction.INBOUND
            and self._per_device[device] >= self.settings.max_calls_per_seat
        ):
            self.metrics.detector_alert("trunking", "warning")
            log.warning("device %s is over its concurrent call limit", device)
            if self.settings.seat_limit_action == "refuse":
                return CallDecision(CallOutcome.DENY, "Too Many Calls On This Line", 403)
        return decision

    def call_started(self, attempt: CallAttempt) -> None:
        self._live[attempt.call_id] = attempt
        if attempt.device_id is not None:
            self._per_device[attempt.device_id] += 1
        self._alerts(self.engine.feed(attempt), attempt.time)

    def call_answered(self, record: CallRecord) -> None:
        if record.answer_time is not None and record.call_id in self._live:
            event = CallAnswered(record.answer_time.timestamp(), record.call_id)
            self._alerts(self.engine.feed(event), event.time)

    def call_finished(self, record: CallRecord) -> None:
        attempt = self._live.pop(record.call_id, None)
        if attempt is None or record.end_time is None:
            return
        if attempt.device_id is not None:
            self._per_device[attempt.device_id] = max(0, self._per_device[attempt.device_id] - 1)
        event = CallEnded(
            record.end_time.timestamp(),
            record.call_id,
            record.duration_seconds,
            record.billable_seconds,
            record.disposition or Disposition.FAILED,
        )
        self._alerts(self.engine.feed(event), event.time)

    # -- alerts ----------------------------------------------------------------------------
    def _alerts(self, alerts: list[Alert], now: float) -> None:
        for alert in alerts:
            self.metrics.detector_alert(alert.detector.value, alert.level.value)
            log.warning(
                "abuse alert %s %s on %s %s: %s",
                alert.detector.value,
                alert.level.value,
                alert.subject.kind.value,
                alert.subject.id,
                alert.explanation,
            )
            actions = self.response.actions_for(alert)
            restrictions = self.restrictions.apply(alert, actions, now)
            ended: list[str] = []
            for action in actions:
                if action.kind is ActionKind.END_CALLS:
                    for call_id in calls_to_end(alert, action, self._live.values()):
                        if self._end_call(call_id):
                            ended.append(call_id)
            notes = [f"restriction {r.id}: {r.kind.value}" for r in restrictions]
            notes += [f"ended call {call_id}" for call_id in ended]
            self._store_alert(alert, notes)


def attempt_from_record(record: CallRecord, now: float) -> CallAttempt:
    """The detectors' view of a call the proxy is about to route."""
    klass = None
    if record.destination_class:
        try:
            klass = DestinationClass(record.destination_class)
        except ValueError:
            klass = None
    return CallAttempt(
        time=now,
        call_id=record.call_id,
        direction=record.direction,
        account_id=record.account_id,
        extension_id=record.extension_id,
        device_id=record.device_id,
        destination=record.destination,
        destination_class=klass,
        caller_identity=record.caller_presented,
        source_address=record.source_address,
        parent_call_id=record.parent_call_id,
    )
