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
from collections.abc import Mapping
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
from switch.detect.base import BaseDetector, Handler
from switch.detect.errors import ThresholdError
from switch.detect.events import CallAttempt, CallEnded, Registration, network_of
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


@dataclass(frozen=True, slots=True)
class _Look:
    """What one costly attempt looks like against the account's habit."""

    today: int
    baseline: float
    excess: float
    hour: int
    off: bool
    moved: bool
    concurrent: int


class _Credential:
    __slots__ = ("countries", "moved_at", "networks")

    def __init__(self) -> None:
        self.networks: OrderedDict[str, float] = OrderedDict()
        self.countries: set[str] = set()
        self.moved_at: float | None = None  # last registration from somewhere new


class TollFraudDetector(BaseDetector):
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

    def handlers(self) -> Mapping[type, Handler]:
        return {
            CallAttempt: self._attempt,
            CallEnded: self._ended,
            Registration: self._registration,
        }

    def _ended(self, e: CallEnded) -> list[Alert]:
        self._live.close(e.call_id)
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

    def _registration(self, r: Registration) -> list[Alert]:
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
        return []

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
        cred_key = _credential_key(a.device_id, None) if a.device_id is not None else None
        cred = self._credentials.get(cred_key) if cred_key else None
        baseline = self._effective(state.ewma, profile)
        look = _Look(
            today=state.today,
            baseline=baseline,
            excess=state.today / baseline,
            hour=state.hour.count(a.time),
            off=profile.off_hours(a.time),
            moved=bool(
                cred
                and cred.moved_at is not None
                and a.time - cred.moved_at <= t.new_network_window
            ),
            concurrent=self._live.open(a.call_id, cred_key, a.time) if cred_key else 0,
        )
        alerts: list[Alert] = []
        level, reasons = self._account_verdict(look)
        if level is not None:
            subject = Subject(SubjectKind.ACCOUNT, str(a.account_id))
            alerts += self._emit(level, subject, reasons, look, state, a)
        level, reasons = self._seat_verdict(look)
        if level is not None:
            alerts += self._emit(level, _seat_subject(a), reasons, look, state, a)
        return alerts

    def _account_verdict(self, look: _Look) -> tuple[Level | None, list[str]]:
        t = self.t
        level: Level | None = None
        reasons: list[str] = []
        ratio = f"{look.today} today, {look.excess:.1f}x the usual {look.baseline:.1f}/day"
        if look.today >= t.min_sample and look.excess > t.critical_factor:
            level = Level.CRITICAL
            reasons.append(ratio)
        elif self._above_warning(look):
            level = Level.WARNING
            reasons.append(ratio)
        if look.off and look.hour >= t.min_sample:
            reasons.append(f"{look.hour} in the last hour at night or at a weekend")
            level = Level.CRITICAL if self._above_warning(look) else level or Level.WARNING
        return level, reasons

    def _seat_verdict(self, look: _Look) -> tuple[Level | None, list[str]]:
        t = self.t
        level: Level | None = None
        reasons: list[str] = []
        if look.moved and look.hour >= t.new_network_attempts:
            burst = self._above_warning(look) and look.hour >= t.min_sample
            level = Level.CRITICAL if burst else Level.WARNING
            reasons.append(f"{look.hour} in the last hour from a credential on a new network")
        if look.concurrent >= t.concurrent_warning:
            reasons.append(f"{look.concurrent} at once on one credential")
            if look.concurrent >= t.concurrent_critical:
                level = Level.CRITICAL
            else:
                level = level or Level.WARNING
        return level, reasons

    def _above_warning(self, look: _Look) -> bool:
        return look.today >= self.t.min_sample and look.excess > self.t.warning_factor

    def _emit(
        self,
        level: Level,
        subject: Subject,
        reasons: list[str],
        look: _Look,
        state: _Account,
        a: CallAttempt,
    ) -> list[Alert]:
        if not self.gate.claim(self.kind, subject, level, a.time):
            return []
        figures = {
            "risky_today": float(look.today),
            "baseline_per_day": round(look.baseline, 2),
            "excess_ratio": round(look.excess, 2),
            "risky_last_hour": float(look.hour),
            "off_hours": float(look.off),
            "new_network": float(look.moved),
            "concurrent_on_credential": float(look.concurrent),
        }
        text = "International/premium calls: " + "; ".join(reasons)
        start = state.hour.first_time(a.time)
        evidence = bounded(state.hour.labels())
        return [
            Alert(self.kind, level, subject, start, a.time, figures, evidence, text, a.account_id)
        ]

    def _roll(self, state: _Account, profile: AccountProfile, now: float) -> None:
        """Close finished days into the EWMA. Silent business days count as zero;
        days off are skipped, so a weekday is judged against weekdays (what happens
        on days off is caught by the off-hours rule instead)."""
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
        count = state.today
        for finished in range(state.day, min(day, state.day + 60)):
            if profile.is_business_day(finished):
                ewma = alpha * count + (1 - alpha) * ewma
            count = 0
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
