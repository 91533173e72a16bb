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

from collections.abc import Mapping
from dataclasses import dataclass

from switch.cdr.record import Direction
from switch.detect.alerts import (
    Alert,
    AlertGate,
    DetectorKind,
    Level,
    Subject,
    SubjectKey,
    SubjectKind,
    bounded,
    subject_of,
)
from switch.detect.base import BaseDetector, Handler
from switch.detect.errors import ThresholdError
from switch.detect.events import (
    CallAnswered,
    CallAttempt,
    CallEnded,
    Registration,
    SeatKind,
    source_host,
)
from switch.detect.profile import Profiles
from switch.detect.useragents import PBX_USER_AGENTS, UserAgentMatcher
from switch.detect.window import CallIndex, Concurrency, DistinctWindow, LruStates, TimeWindow


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


_MAX_BINDINGS = 100  # per credential; far above any critical threshold

# (seat key, DID, account id) of an inbound call waiting to be answered
_Pending = tuple[SubjectKey | None, str | None, int | None]


class TrunkingDetector(BaseDetector):
    kind = DetectorKind.TRUNKING

    def __init__(
        self, thresholds: TrunkingThresholds | None = None, profiles: Profiles | None = None
    ) -> None:
        t = self.t = thresholds or TrunkingThresholds()
        self.profiles = profiles or Profiles()
        self.gate = AlertGate(t.cooldown)
        self.is_pbx = UserAgentMatcher(t.pbx_user_agents)
        self._seats: LruStates[SubjectKey, _Seat] = LruStates(
            lambda: _Seat(t), idle_ttl=t.idle_ttl, max_keys=t.max_keys
        )
        # credential -> {instance id or contact: expiry}
        self._bindings: LruStates[SubjectKey, dict[str, float]] = LruStates(
            dict, idle_ttl=t.idle_ttl, max_keys=t.max_keys
        )
        self._live: Concurrency[SubjectKey] = Concurrency()
        self._dids: Concurrency[str] = Concurrency()
        self._pending: CallIndex[_Pending] = CallIndex()

    def handlers(self) -> Mapping[type, Handler]:
        return {
            CallAttempt: self._attempt,
            CallAnswered: self._answered,
            CallEnded: self._ended,
            Registration: self._registration,
        }

    def _ended(self, e: CallEnded) -> list[Alert]:
        self._live.close(e.call_id)
        self._dids.close(e.call_id)
        self._pending.pop(e.call_id)
        return []

    def _attempt(self, a: CallAttempt) -> list[Alert]:
        seat = _seat_key(a) if a.seat_kind is SeatKind.SINGLE_USER else None
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
        self, seat: SubjectKey, state: _Seat, call_id: str, now: float, account_id: int | None
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
        level = Level.CRITICAL if critical else Level.WARNING
        subject = subject_of(seat)
        if not self.gate.claim(self.kind, subject, level, now):
            return []
        figures = {
            "concurrent_calls": float(count),
            "seat_limit": float(t.seat_limit),
            "episodes_above_limit": float(episodes),
        }
        text = (
            f"{count} calls at once on {subject} (limit {t.seat_limit}); "
            f"{episodes} time(s) above the limit in {t.episode_window / 3600:.0f} h"
        )
        start = state.episodes.first_time(now)
        evidence = bounded([*state.recent_calls.labels(), *self._live.members(seat)])
        return [self._alert(level, subject, start, now, figures, evidence, text, account_id)]

    def _identities(self, seat: SubjectKey, state: _Seat, a: CallAttempt) -> list[Alert]:
        t = self.t
        new = False
        if a.caller_name:
            new = state.names.add(a.caller_name.strip().lower(), a.time)
        if a.caller_identity:
            new |= state.identities.add(a.caller_identity.strip().lstrip("+"), a.time)
        if not new:  # nothing new: the distinct counts cannot have grown
            return []
        names = state.names.count(a.time)
        numbers = state.identities.count(a.time)
        worst = max(names, numbers)
        if worst < t.identities_warning:
            return []
        level = Level.CRITICAL if worst >= t.identities_critical else Level.WARNING
        subject = subject_of(seat)
        if not self.gate.claim(self.kind, subject, level, a.time):
            return []
        figures = {"distinct_caller_names": float(names), "distinct_caller_numbers": float(numbers)}
        text = (
            f"{subject} presented {names} caller names and {numbers} caller numbers "
            f"in {t.identity_window / 3600:.0f} h: one seat, many people"
        )
        start = a.time - t.identity_window
        evidence = bounded(state.recent_calls.labels())
        return [self._alert(level, subject, start, a.time, figures, evidence, text, a.account_id)]

    def _registration(self, r: Registration) -> list[Alert]:
        if r.seat_kind is not SeatKind.SINGLE_USER:
            return []
        t = self.t
        key: SubjectKey = (
            ("device", r.device_id)
            if r.device_id is not None
            else (
                "username",
                r.username,
            )
        )
        alerts: list[Alert] = []
        if self.is_pbx(r.user_agent):
            subject = subject_of(key)
            if self.gate.claim(self.kind, subject, t.pbx_user_agent_level, r.time):
                text = f"{subject} registered with the User-Agent of a PBX ({r.user_agent})"
                alerts.append(
                    self._alert(
                        t.pbx_user_agent_level,
                        subject,
                        r.time,
                        r.time,
                        {"pbx_user_agent": 1.0},
                        (),
                        text,
                        r.account_id,
                    )
                )
        live = self._bind(key, r)
        if live >= t.bindings_warning:
            level = Level.CRITICAL if live >= t.bindings_critical else Level.WARNING
            subject = subject_of(key)
            if self.gate.claim(self.kind, subject, level, r.time):
                text = f"{live} devices or contacts registered at once behind {subject}"
                figures = {"live_bindings": float(live)}
                alerts.append(
                    self._alert(level, subject, r.time, r.time, figures, (), text, r.account_id)
                )
        return alerts

    def _bind(self, key: SubjectKey, r: Registration) -> int:
        """Update the credential's live bindings; returns how many are live."""
        bindings = self._bindings.touch(key, r.time)
        binding = r.instance_id or _contact_address(r.contact) or source_host(r.source_address)
        if r.expires <= 0:
            bindings.pop(binding, None)
        else:
            bindings[binding] = r.time + r.expires
        for stale in [b for b, expiry in bindings.items() if expiry <= r.time]:
            del bindings[stale]
        if len(bindings) > _MAX_BINDINGS:  # a flood of contacts: keep the freshest
            del bindings[min(bindings, key=bindings.__getitem__)]
        return len(bindings)

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
        if not self.gate.claim(self.kind, subject, level, now):
            return []
        figures = {"concurrent_inbound": float(count), "seats_behind": float(seats)}
        text = f"{count} answered inbound calls at once on a DID with {seats} seat(s) behind it"
        evidence = bounded(self._dids.members(did))
        return [self._alert(level, subject, now, now, figures, evidence, text, account_id)]

    def _alert(
        self,
        level: Level,
        subject: Subject,
        start: float,
        end: float,
        figures: dict[str, float],
        evidence: tuple[str, ...],
        text: str,
        account_id: int | None,
    ) -> Alert:
        return Alert(self.kind, level, subject, start, end, figures, evidence, text, account_id)


def _contact_address(contact: str | None) -> str | None:
    """A Contact without parameters or port: NAT rebinding changes the port, not the device."""
    if not contact:
        return None
    text = contact.strip().lstrip("<").split(">", 1)[0].split(";", 1)[0]
    head, _, port = text.rpartition(":")
    if port.isdigit() and head and not head.endswith(("sip", "sips")):
        return head.lower()
    return text.lower()


def _seat_key(a: CallAttempt) -> SubjectKey | None:
    if a.device_id is not None:
        return ("device", a.device_id)
    if a.extension_id is not None:
        return ("extension", a.extension_id)
    return None
