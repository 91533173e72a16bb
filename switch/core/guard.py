"""Abuse detection in the live switch: feeds the detectors, enforces bans, limits and
graded actions. Emergency calls are never touched by anything here.

All state is in memory and every method is synchronous and cheap; alerts are written
to the database by the row writer, off the packet path. Each stored alert has a uid;
what it restricted (restrictions, a ban) is kept under that uid until it ends, so an
operator lifting the alert (``switchctl alert lift``) reaches exactly those.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from switch import ids
from switch.cdr.record import CallRecord, Direction, Disposition
from switch.detect import (
    Alert,
    AuthFailure,
    Ban,
    BanList,
    CallAnswered,
    CallAttempt,
    CallDecision,
    CallEnded,
    CallOutcome,
    DetectionEngine,
    DetectorKind,
    GradedResponse,
    Level,
    RateLimiter,
    Registration,
    RequestSeen,
    Restriction,
    RestrictionState,
    Subject,
    SubjectKind,
    UnknownRestriction,
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
SEAT_LIMIT_REASON = "Too Many Calls On This Line"

# (alert, what was done, uid) -> a row in the database
StoreAlert = Callable[[Alert, list[str], str], None]


@dataclass(frozen=True, slots=True)
class GuardSettings:
    max_calls_per_seat: int = 2  # concurrent calls on one device (2 lets consult transfer work)
    seat_limit_action: str = "refuse"  # or "flag"


@dataclass(frozen=True, slots=True)
class Held:
    """What one stored alert put in force: restriction ids and a banned host."""

    restrictions: tuple[int, ...] = ()
    banned: str | None = None


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
        store_alert: StoreAlert,
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
        self._per_device: dict[int, int] = {}
        self._held: dict[str, Held] = {}  # alert uid -> what it restricts

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
            self._ban_alert(ban)
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
            and self._per_device.get(device, 0) >= self.settings.max_calls_per_seat
        ):
            refuse = self.settings.seat_limit_action == "refuse"
            self._seat_alert(attempt, device, refuse, now)
            if refuse:
                return CallDecision(CallOutcome.DENY, SEAT_LIMIT_REASON, 403)
        return decision

    def call_started(self, attempt: CallAttempt) -> None:
        self._live[attempt.call_id] = attempt
        if attempt.device_id is not None:
            device = attempt.device_id
            self._per_device[device] = self._per_device.get(device, 0) + 1
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
            left = self._per_device.get(attempt.device_id, 0) - 1
            if left > 0:
                self._per_device[attempt.device_id] = left
            else:  # no entry per device that ever called: the map stays bounded
                del self._per_device[attempt.device_id]
        event = CallEnded(
            record.end_time.timestamp(),
            record.call_id,
            record.duration_seconds,
            record.billable_seconds,
            record.disposition or Disposition.FAILED,
        )
        self._alerts(self.engine.feed(event), event.time)

    # -- lifting ---------------------------------------------------------------------------
    def held_alerts(self, now: float) -> list[str]:
        """Uids of stored alerts whose restrictions or ban are still in force."""
        active = {r.id for r in self.restrictions.active(now)}
        for uid, held in list(self._held.items()):
            banned = held.banned is not None and self.bans.is_banned(held.banned, now)
            if not banned and not active.intersection(held.restrictions):
                del self._held[uid]
        return list(self._held)

    def lift_alerts(self, lifted: Mapping[str, str], now: float) -> int:
        """Lift what the alerts ``uid -> lifted by`` put in force; returns how many were."""
        done = 0
        for uid, by in lifted.items():
            held = self._held.pop(uid, None)
            if held is None:
                continue
            for restriction_id in held.restrictions:
                try:
                    self.restrictions.lift(restriction_id, now, by=by)
                except UnknownRestriction:
                    continue  # expired in the meantime
            if held.banned is not None:
                self.bans.unban(held.banned)
            log.warning("alert %s lifted by %s", uid, by)
            done += 1
        return done

    # -- alerts ----------------------------------------------------------------------------
    def _alerts(self, alerts: list[Alert], now: float, notes: tuple[str, ...] = ()) -> None:
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
            uid = ids.token(16)
            if restrictions:
                self._held[uid] = Held(tuple(r.id for r in restrictions))
            done = [*notes, *(describe_restriction(r) for r in restrictions)]
            done += [f"ended call {call_id}" for call_id in ended]
            self._store_alert(alert, done, uid)

    def _ban_alert(self, ban: Ban) -> None:
        """A ban is an alert of its own, so the operator sees it and can lift it."""
        subject = Subject(SubjectKind.SOURCE, ban.source)
        # Claimed on the brute-force detector's gate: its own critical alert on this
        # source would only repeat this one.
        self.engine.brute_force.gate.claim(
            DetectorKind.BRUTE_FORCE, subject, Level.CRITICAL, ban.since
        )
        policy = self.bans.policy
        alert = Alert(
            DetectorKind.BRUTE_FORCE,
            Level.CRITICAL,
            subject,
            ban.since - policy.window,
            ban.since,
            {"failures": float(ban.failures), "ban_seconds": policy.ban_seconds},
            ban.usernames,
            f"{ban.reason} from {ban.source}: the source is banned (no answer at all)",
        )
        self.metrics.detector_alert(alert.detector.value, alert.level.value)
        uid = ids.token(16)
        self._held[uid] = Held(banned=ban.source)
        until = "until lifted" if ban.until is None else f"for {ban.until - ban.since:g} s"
        self._store_alert(alert, [f"banned source {ban.source} {until}"], uid)

    def _seat_alert(self, attempt: CallAttempt, device: int, refused: bool, now: float) -> None:
        """One call more than the seat limit: flagged (at most once per cool-down)."""
        subject = Subject(SubjectKind.DEVICE, str(device))
        trunking = self.engine.trunking
        # The trunking detector's gate: in flag mode the call goes on and the detector
        # would otherwise report the same episode again.
        if not trunking.gate.claim(DetectorKind.TRUNKING, subject, Level.WARNING, now):
            return
        live = [a for a in self._live.values() if a.device_id == device]
        limit = self.settings.max_calls_per_seat
        outcome = "refused (403)" if refused else "allowed (seat_limit_action = flag)"
        alert = Alert(
            DetectorKind.TRUNKING,
            Level.WARNING,
            subject,
            min((a.time for a in live), default=now),
            now,
            {"concurrent_calls": float(len(live) + 1), "seat_limit": float(limit)},
            (*(a.call_id for a in live), attempt.call_id),
            f"call {len(live) + 1} at once on {subject} (limit {limit}): {outcome}",
            attempt.account_id,
        )
        self._alerts([alert], now, (f"call {attempt.call_id} {outcome}",))


def describe_restriction(r: Restriction) -> str:
    """What an operator reads in the alert's actions."""
    text = f"restriction {r.id}: {r.kind.value} {r.subject}"
    if r.kind is ActionKind.THROTTLE:
        text += f" (503, Retry-After {r.retry_after} s)"
    elif r.classes:
        text += " (" + ", ".join(sorted(c.value for c in r.classes)) + ")"
    if r.expires is None:
        return text + " until lifted"
    return text + f" for {r.expires - r.created:g} s"


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
