"""A single-user seat used as a trunk for a PBX or key system (ABUSE-02, ABUSE-07).

Signals: more calls at once on one seat than its limit (2 by default, so a
consult transfer still works), many caller names or numbers presented through
one seat, several live bindings behind one credential, a PBX registering, and
more answered inbound calls on one DID than there are seats behind it.

Concurrency on a seat counts outbound and internal calls from the seat's
device from the attempt on, and inbound calls to it once answered (a ringing
call-waiting tone says nothing about trunking).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from switch.cdr.record import Direction
from switch.detect.alerts import (
    Alert,
    AlertGate,
    DetectorKind,
    Level,
    Subject,
    SubjectKind,
    bounded,
)
from switch.detect.errors import ThresholdError
from switch.detect.events import CallAnswered, CallAttempt, CallEnded, Event, Registration, SeatKind
from switch.detect.profile import Profiles
from switch.detect.window import CallIndex, Concurrency, DistinctWindow, LruStates, TimeWindow

# User-Agent fragments of PBX and key-system software (the phones of the same
# vendors register as e.g. "Grandstream GXP2170", which does not match).
PBX_USER_AGENTS: tuple[str, ...] = (
    r"asterisk",
    r"freepbx",
    r"3cx\s*phone\s*system",
    r"3cx(?!\s*phone)",  # but not the 3CXPhone softphone
    r"freeswitch",
    r"elastix",
    r"issabel",
    r"yeastar",
    r"grandstream\s*ucm",
    r"\bucm6\d{3}",
    r"panasonic[\s-]*kx-?n[st]",
    r"\bkx-?ns\d",
    r"fusionpbx",
    r"wazo",
    r"kamailio",
    r"opensips",
    r"vitalpbx",
    r"trixbox",
    r"pbx",
)


@dataclass(frozen=True, slots=True)
class TrunkingThresholds:
    """Defaults: seat limit 2 (warning above it); critical at 4 at once, or at 3 separate
    episodes above the limit within a day; 3/5 distinct caller names or numbers
    through one seat in a day; 3/5 live bindings behind one credential; a PBX
    User-Agent is critical; a DID above its seats warns, above twice them
    (and above seats + 1) is critical.
    """

    seat_limit: int = 2
    seat_critical: int = 4
    episodes_critical: int = 3
    episode_window: float = 86_400.0
    identity_window: float = 86_400.0
    identities_warning: int = 3
    identities_critical: int = 5
    bindings_warning: int = 3
    bindings_critical: int = 5
    pbx_user_agent_level: Level = Level.CRITICAL
    did_critical_factor: float = 2.0
    cooldown: float = 3600.0
    idle_ttl: float = 2 * 86_400.0
    max_keys: int = 100_000
    pbx_user_agents: tuple[str, ...] = PBX_USER_AGENTS

    def __post_init__(self) -> None:
        if self.seat_limit < 1 or self.seat_critical <= self.seat_limit:
            raise ThresholdError("trunking seat_critical must exceed seat_limit (at least 1)")
        if self.identities_critical < self.identities_warning:
            raise ThresholdError("trunking identities_critical is below identities_warning")
        if self.bindings_critical < self.bindings_warning:
            raise ThresholdError("trunking bindings_critical is below bindings_warning")


class _Seat:
    __slots__ = ("episodes", "identities", "names", "recent_calls")

    def __init__(self, t: TrunkingThresholds) -> None:
        self.episodes = TimeWindow(t.episode_window, limit=1000)
        self.names = DistinctWindow(t.identity_window, limit=100)
        self.identities = DistinctWindow(t.identity_window, limit=100)
        self.recent_calls = TimeWindow(t.identity_window, limit=50)


class _Credential:
    __slots__ = ("bindings",)

    def __init__(self) -> None:
        self.bindings: dict[str, float] = {}  # instance id or contact -> expiry


class TrunkingDetector:
    kind = DetectorKind.TRUNKING

    def __init__(
        self, thresholds: TrunkingThresholds | None = None, profiles: Profiles | None = None
    ) -> None:
        t = self.t = thresholds or TrunkingThresholds()
        self.profiles = profiles or Profiles()
        self.gate = AlertGate(t.cooldown)
        self._pbx = re.compile("|".join(f"(?:{p})" for p in t.pbx_user_agents), re.IGNORECASE)
        self._seats: LruStates[Subject, _Seat] = LruStates(
            lambda: _Seat(t), idle_ttl=t.idle_ttl, max_keys=t.max_keys
        )
        self._credentials: LruStates[Subject, _Credential] = LruStates(
            _Credential, idle_ttl=t.idle_ttl, max_keys=t.max_keys
        )
        self._live: Concurrency[Subject] = Concurrency()
        self._dids: Concurrency[str] = Concurrency()
        self._pending: CallIndex[tuple[Subject | None, str | None, int | None]] = CallIndex()

    def is_pbx(self, user_agent: str | None) -> bool:
        return bool(user_agent) and self._pbx.search(user_agent or "") is not None

    def feed(self, event: Event) -> list[Alert]:
        if isinstance(event, CallAttempt):
            alerts = self._attempt(event)
        elif isinstance(event, CallAnswered):
            alerts = self._answered(event)
        elif isinstance(event, CallEnded):
            self._live.close(event.call_id)
            self._dids.close(event.call_id)
            self._pending.pop(event.call_id)
            return []
        elif isinstance(event, Registration):
            alerts = self._registration(event)
        else:
            return []
        return self.gate.filter(alerts)

    def _attempt(self, a: CallAttempt) -> list[Alert]:
        seat = _seat_subject(a) if a.seat_kind is SeatKind.SINGLE_USER else None
        if a.direction is Direction.INBOUND:
            # Counted once answered; remember where it would count.
            self._pending.put(a.call_id, (seat, a.destination, a.account_id), a.time)
            return []
        if seat is None:
            return []
        state = self._seats.touch(seat, a.time)
        state.recent_calls.add(a.time, a.call_id)
        alerts = self._identities(seat, state, a)
        alerts += self._occupy(seat, state, a.call_id, a.time, a.account_id)
        return alerts

    def _answered(self, e: CallAnswered) -> list[Alert]:
        pending = self._pending.pop(e.call_id)
        if pending is None:
            return []
        seat, did, account_id = pending
        alerts: list[Alert] = []
        if seat is not None:
            state = self._seats.touch(seat, e.time)
            state.recent_calls.add(e.time, e.call_id)
            alerts += self._occupy(seat, state, e.call_id, e.time, account_id)
        if did:
            alerts += self._did(did, e.call_id, e.time, account_id)
        return alerts

    def _occupy(
        self, seat: Subject, state: _Seat, call_id: str, now: float, account_id: int | None
    ) -> list[Alert]:
        t = self.t
        before = self._live.count(seat)
        count = self._live.open(call_id, seat, now)
        if count <= t.seat_limit:
            return []
        if before <= t.seat_limit:
            state.episodes.add(now, call_id)
        episodes = state.episodes.count(now)
        critical = count >= t.seat_critical or episodes >= t.episodes_critical
        figures = {
            "concurrent_calls": float(count),
            "seat_limit": float(t.seat_limit),
            "episodes_above_limit": float(episodes),
        }
        text = (
            f"{count} calls at once on {seat} (limit {t.seat_limit}); "
            f"{episodes} time(s) above the limit in {t.episode_window / 3600:.0f} h"
        )
        level = Level.CRITICAL if critical else Level.WARNING
        start = state.episodes.first_time(now)
        evidence = bounded([*state.recent_calls.labels(), *self._live.members(seat)])
        return [_alert(level, seat, start, now, figures, evidence, text, account_id)]

    def _identities(self, seat: Subject, state: _Seat, a: CallAttempt) -> list[Alert]:
        t = self.t
        if a.caller_name:
            state.names.add(a.caller_name.strip().lower(), a.time)
        if a.caller_identity:
            state.identities.add(a.caller_identity.strip().lstrip("+"), a.time)
        names = state.names.count(a.time)
        numbers = state.identities.count(a.time)
        worst = max(names, numbers)
        if worst < t.identities_warning:
            return []
        level = Level.CRITICAL if worst >= t.identities_critical else Level.WARNING
        figures = {"distinct_caller_names": float(names), "distinct_caller_numbers": float(numbers)}
        text = (
            f"{seat} presented {names} caller names and {numbers} caller numbers "
            f"in {t.identity_window / 3600:.0f} h: one seat, many people"
        )
        start = a.time - t.identity_window
        evidence = bounded(state.recent_calls.labels())
        return [_alert(level, seat, start, a.time, figures, evidence, text, a.account_id)]

    def _registration(self, r: Registration) -> list[Alert]:
        if r.seat_kind is not SeatKind.SINGLE_USER:
            return []
        t = self.t
        subject = (
            Subject(SubjectKind.DEVICE, str(r.device_id))
            if r.device_id is not None
            else Subject(SubjectKind.USERNAME, r.username)
        )
        alerts: list[Alert] = []
        if self.is_pbx(r.user_agent):
            text = f"{subject} registered with the User-Agent of a PBX ({r.user_agent})"
            figures = {"pbx_user_agent": 1.0}
            alerts.append(
                _alert(
                    t.pbx_user_agent_level, subject, r.time, r.time, figures, (), text, r.account_id
                )
            )
        cred = self._credentials.touch(subject, r.time)
        binding = r.instance_id or r.contact or r.source_address
        if r.expires <= 0:
            cred.bindings.pop(binding, None)
        else:
            cred.bindings[binding] = r.time + r.expires
        for key in [k for k, expiry in cred.bindings.items() if expiry <= r.time]:
            del cred.bindings[key]
        live = len(cred.bindings)
        if live >= t.bindings_warning:
            level = Level.CRITICAL if live >= t.bindings_critical else Level.WARNING
            text = (
                f"{live} devices or contacts registered at once behind the credential of {subject}"
            )
            figures = {"live_bindings": float(live)}
            alerts.append(_alert(level, subject, r.time, r.time, figures, (), text, r.account_id))
        return alerts

    def _did(self, did: str, call_id: str, now: float, account_id: int | None) -> list[Alert]:
        seats = self.profiles.get(account_id).did_seats.get(did)
        if seats is None:
            return []
        count = self._dids.open(call_id, did, now)
        if count <= seats:
            return []
        critical_above = max(seats + 1, self.t.did_critical_factor * seats)
        level = Level.CRITICAL if count > critical_above else Level.WARNING
        subject = Subject(SubjectKind.DID, did)
        figures = {"concurrent_inbound": float(count), "seats_behind": float(seats)}
        text = f"{count} answered inbound calls at once on a DID with {seats} seat(s) behind it"
        evidence = bounded(self._dids.members(did))
        return [_alert(level, subject, now, now, figures, evidence, text, account_id)]


def _alert(
    level: Level,
    subject: Subject,
    start: float,
    end: float,
    figures: dict[str, float],
    evidence: tuple[str, ...],
    text: str,
    account_id: int | None,
) -> Alert:
    return Alert(
        DetectorKind.TRUNKING, level, subject, start, end, figures, evidence, text, account_id
    )


def _seat_subject(a: CallAttempt) -> Subject | None:
    if a.device_id is not None:
        return Subject(SubjectKind.DEVICE, str(a.device_id))
    if a.extension_id is not None:
        return Subject(SubjectKind.EXTENSION, str(a.extension_id))
    return None
