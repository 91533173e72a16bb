"""Toll fraud: costly calls above the account's own habit (FRAUD-01).

The account's habit is an exponentially weighted moving average of its daily
count of international, high-risk and premium attempts, in its own calendar;
a new account starts from a small per-seat default. Aggravating facts turn a
rise into a critical alert: the night or a weekend, a credential that just
registered from a network or country it never used, many such calls at once
on one credential.
"""

from __future__ import annotations

from collections import OrderedDict
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
from switch.detect.events import CallAttempt, CallEnded, Event, Registration, network_of
from switch.detect.profile import AccountProfile, Profiles
from switch.detect.window import Concurrency, LruStates, TimeWindow
from switch.policy.destination import DestinationClass

RISKY_CLASSES = frozenset(
    {
        DestinationClass.INTERNATIONAL,
        DestinationClass.INTERNATIONAL_HIGH_RISK,
        DestinationClass.PREMIUM,
        DestinationClass.EMBARGOED,
    }
)


@dataclass(frozen=True, slots=True)
class TollFraudThresholds:
    """Defaults: 5 attempts before any rule counts; a baseline of at least 3 a day
    (0.1 per seat) starting at 0.5 per seat; warning above 4x the baseline in a
    day, critical above 10x, or above 4x with 5 attempts in the last hour at
    night, at a weekend or from a credential that registered from a new network
    or country in the last 6 h; 3 / 5 such calls at once on one credential.
    """

    min_sample: int = 5
    initial_baseline_per_seat: float = 0.5
    baseline_floor_per_seat: float = 0.1
    baseline_floor: float = 3.0
    ewma_alpha: float = 0.2
    warning_factor: float = 4.0
    critical_factor: float = 10.0
    burst_window: float = 3600.0
    new_network_window: float = 6 * 3600.0
    new_network_attempts: int = 3  # warning: this many from a credential that just moved
    concurrent_warning: int = 3
    concurrent_critical: int = 5
    known_networks: int = 16  # remembered per credential
    classes: frozenset[DestinationClass] = RISKY_CLASSES
    cooldown: float = 3600.0
    idle_ttl: float = 35 * 86_400.0  # keep a credential's networks over a month's silence
    max_keys: int = 200_000

    def __post_init__(self) -> None:
        if not 0 < self.ewma_alpha <= 1:
            raise ThresholdError("toll-fraud ewma_alpha must lie in (0, 1]")
        if self.critical_factor < self.warning_factor:
            raise ThresholdError("toll-fraud critical_factor is below warning_factor")
        if self.concurrent_critical < self.concurrent_warning:
            raise ThresholdError("toll-fraud concurrent_critical is below concurrent_warning")


class _Account:
    __slots__ = ("day", "ewma", "hour", "today")

    def __init__(self, burst_window: float) -> None:
        self.day: int | None = None
        self.today = 0
        self.ewma: float | None = None
        self.hour = TimeWindow(burst_window, limit=5000)


class _Credential:
    __slots__ = ("countries", "moved_at", "networks")

    def __init__(self) -> None:
        self.networks: OrderedDict[str, float] = OrderedDict()
        self.countries: set[str] = set()
        self.moved_at: float | None = None  # last registration from somewhere new


class TollFraudDetector:
    kind = DetectorKind.TOLL_FRAUD

    def __init__(
        self, thresholds: TollFraudThresholds | None = None, profiles: Profiles | None = None
    ) -> None:
        t = self.t = thresholds or TollFraudThresholds()
        self.profiles = profiles or Profiles()
        self.gate = AlertGate(t.cooldown)
        self._accounts: LruStates[int, _Account] = LruStates(
            lambda: _Account(t.burst_window), idle_ttl=t.idle_ttl, max_keys=t.max_keys
        )
        self._credentials: LruStates[str, _Credential] = LruStates(
            _Credential, idle_ttl=t.idle_ttl, max_keys=t.max_keys
        )
        self._live: Concurrency[str] = Concurrency()

    def feed(self, event: Event) -> list[Alert]:
        if isinstance(event, CallAttempt):
            return self.gate.filter(self._attempt(event))
        if isinstance(event, CallEnded):
            self._live.close(event.call_id)
        elif isinstance(event, Registration):
            self._registration(event)
        return []

    def baseline(self, account_id: int, now: float) -> float:
        """The daily count this account is judged against (floors applied)."""
        profile = self.profiles.get(account_id)
        state = self._accounts.get(account_id)
        ewma = None
        if state is not None:
            self._roll(state, profile, now)
            ewma = state.ewma
        return self._effective(ewma, profile)

    def _registration(self, r: Registration) -> None:
        key = _credential_key(r.device_id, r.username)
        cred = self._credentials.touch(key, r.time)
        network = r.network or network_of(r.source_address)
        new_network = bool(cred.networks) and network not in cred.networks
        new_country = bool(r.country and cred.countries and r.country not in cred.countries)
        if new_network or new_country:
            cred.moved_at = r.time
        cred.networks.pop(network, None)
        cred.networks[network] = r.time
        while len(cred.networks) > self.t.known_networks:
            cred.networks.popitem(last=False)
        if r.country:
            cred.countries.add(r.country)

    def _attempt(self, a: CallAttempt) -> list[Alert]:
        t = self.t
        if a.direction is Direction.INBOUND or a.destination_class not in t.classes:
            return []
        if a.account_id is None:
            return []
        profile = self.profiles.get(a.account_id)
        state = self._accounts.touch(a.account_id, a.time)
        self._roll(state, profile, a.time)
        state.today += 1
        state.hour.add(a.time, a.call_id)
        hour = state.hour.count(a.time)
        baseline = self._effective(state.ewma, profile)
        excess = state.today / baseline
        off = profile.off_hours(a.time)
        cred_key = _credential_key(a.device_id, None) if a.device_id is not None else None
        cred = self._credentials.get(cred_key) if cred_key else None
        moved = bool(
            cred and cred.moved_at is not None and a.time - cred.moved_at <= t.new_network_window
        )
        concurrent = self._live.open(a.call_id, cred_key, a.time) if cred_key else 0
        figures = {
            "risky_today": float(state.today),
            "baseline_per_day": round(baseline, 2),
            "excess_ratio": round(excess, 2),
            "risky_last_hour": float(hour),
            "off_hours": float(off),
            "new_network": float(moved),
            "concurrent_on_credential": float(concurrent),
        }
        evidence = bounded(state.hour.labels())
        start = state.hour.first_time(a.time)
        alerts: list[Alert] = []
        sample = state.today >= t.min_sample
        above_warning = sample and excess > t.warning_factor
        account_level: Level | None = None
        reasons: list[str] = []
        if sample and excess > t.critical_factor:
            account_level = Level.CRITICAL
            reasons.append(f"{state.today} today, {excess:.0f}x the usual {baseline:.1f}/day")
        elif above_warning:
            account_level = Level.WARNING
            reasons.append(f"{state.today} today, {excess:.1f}x the usual {baseline:.1f}/day")
        if off and hour >= t.min_sample:
            reasons.append(f"{hour} in the last hour at night or at a weekend")
            account_level = Level.CRITICAL if above_warning else account_level or Level.WARNING
        if account_level is not None:
            subject = Subject(SubjectKind.ACCOUNT, str(a.account_id))
            text = "International/premium calls: " + "; ".join(reasons)
            alerts.append(self._alert(account_level, subject, start, a, figures, evidence, text))
        seat_level: Level | None = None
        seat_reasons: list[str] = []
        if moved and hour >= t.new_network_attempts:
            seat_level = Level.CRITICAL if above_warning and hour >= t.min_sample else Level.WARNING
            seat_reasons.append(f"{hour} in the last hour from a credential on a new network")
        if concurrent >= t.concurrent_warning:
            seat_reasons.append(f"{concurrent} at once on one credential")
            if concurrent >= t.concurrent_critical:
                seat_level = Level.CRITICAL
            else:
                seat_level = seat_level or Level.WARNING
        if seat_level is not None:
            subject = _seat_subject(a)
            text = "International/premium calls: " + "; ".join(seat_reasons)
            alerts.append(self._alert(seat_level, subject, start, a, figures, evidence, text))
        return alerts

    def _alert(
        self,
        level: Level,
        subject: Subject,
        start: float,
        a: CallAttempt,
        figures: dict[str, float],
        evidence: tuple[str, ...],
        text: str,
    ) -> Alert:
        return Alert(
            self.kind, level, subject, start, a.time, figures, evidence, text, a.account_id
        )

    def _roll(self, state: _Account, profile: AccountProfile, now: float) -> None:
        """Close finished days into the EWMA; silent days count as zero."""
        day = profile.local_day(now)
        if state.day is None:
            state.day = day
            return
        if day <= state.day:
            return
        alpha = self.t.ewma_alpha
        ewma = state.ewma
        if ewma is None:
            ewma = self.t.initial_baseline_per_seat * profile.active_seats
        ewma = alpha * state.today + (1 - alpha) * ewma
        ewma *= (1 - alpha) ** min(day - state.day - 1, 60)
        state.ewma = ewma
        state.today = 0
        state.day = day

    def _effective(self, ewma: float | None, profile: AccountProfile) -> float:
        t = self.t
        if ewma is None:
            ewma = t.initial_baseline_per_seat * profile.active_seats
        return max(ewma, t.baseline_floor, t.baseline_floor_per_seat * profile.active_seats)


def _credential_key(device_id: int | None, username: str | None) -> str:
    return f"d{device_id}" if device_id is not None else f"u{username}"


def _seat_subject(a: CallAttempt) -> Subject:
    if a.extension_id is not None:
        return Subject(SubjectKind.EXTENSION, str(a.extension_id))
    if a.device_id is not None:
        return Subject(SubjectKind.DEVICE, str(a.device_id))
    return Subject(SubjectKind.ACCOUNT, str(a.account_id))
