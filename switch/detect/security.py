"""Registration brute force and SIP scanners (ABUSE-12).

Brute force counts wrong credentials per source host and per username. Scanners
give themselves away by their User-Agent or by sweeping many user names that do
not exist (an office NAT full of rebooting phones registers many names too, but
they exist and authenticate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
from switch.detect.events import AuthFailure, Registration, RequestSeen, source_host
from switch.detect.useragents import SCANNER_USER_AGENTS, UserAgentMatcher
from switch.detect.window import DistinctWindow, LruStates, TimeWindow


@dataclass(frozen=True, slots=True)
class BruteForceThresholds:
    """Defaults: per source 10 / 20 failures in 60 s; per username (any sources)
    20 / 60 failures in 5 min (a phone with a stale password retries far slower)."""

    source_window: float = 60.0
    source_warning: int = 10
    source_critical: int = 20
    username_window: float = 300.0
    username_warning: int = 20
    username_critical: int = 60
    cooldown: float = 3600.0
    idle_ttl: float = 900.0
    max_keys: int = 200_000

    def __post_init__(self) -> None:
        if self.source_critical < self.source_warning:
            raise ThresholdError("brute-force source_critical is below source_warning")
        if self.username_critical < self.username_warning:
            raise ThresholdError("brute-force username_critical is below username_warning")


class BruteForceDetector(BaseDetector):
    kind = DetectorKind.BRUTE_FORCE

    def __init__(self, thresholds: BruteForceThresholds | None = None) -> None:
        t = self.t = thresholds or BruteForceThresholds()
        self.gate = AlertGate(t.cooldown)
        limit = 4 * max(t.source_critical, t.username_critical)
        self._sources: LruStates[str, TimeWindow] = LruStates(
            lambda: TimeWindow(t.source_window, limit), idle_ttl=t.idle_ttl, max_keys=t.max_keys
        )
        self._users: LruStates[str, TimeWindow] = LruStates(
            lambda: TimeWindow(t.username_window, limit), idle_ttl=t.idle_ttl, max_keys=t.max_keys
        )

    def handlers(self) -> Mapping[type, Handler]:
        return {AuthFailure: self._failure}

    def _failure(self, event: AuthFailure) -> list[Alert]:
        t, now = self.t, event.time
        host = source_host(event.source_address)
        window = self._sources.touch(host, now)
        window.add(now, event.username or "")
        alerts = self._check(
            window, Subject(SubjectKind.SOURCE, host), t.source_warning, t.source_critical, now
        )
        if event.username:
            users = self._users.touch(event.username, now)
            users.add(now, host)
            subject = Subject(SubjectKind.USERNAME, event.username)
            alerts += self._check(users, subject, t.username_warning, t.username_critical, now)
        return alerts

    def _check(
        self, window: TimeWindow, subject: Subject, warning: int, critical: int, now: float
    ) -> list[Alert]:
        count = window.count(now)
        if count < warning:
            return []
        level = Level.CRITICAL if count >= critical else Level.WARNING
        if not self.gate.claim(self.kind, subject, level, now):
            return []
        others = len(set(window.labels()))
        if subject.kind is SubjectKind.SOURCE:
            span = f"{self.t.source_window:g} s"
            figures = {"failures": float(count), "usernames": float(others)}
            text = f"{count} failed authentications from {subject.id} in {span} over {others} "
            text += "user name(s)"
        else:
            span = f"{self.t.username_window / 60:g} min"
            figures = {"failures": float(count), "sources": float(others)}
            text = f"{count} failed authentications for one user name in {span} from {others} "
            text += "source(s)"
        start = window.first_time(now)
        evidence = bounded(window.labels())
        return [Alert(self.kind, level, subject, start, now, figures, evidence, text)]


@dataclass(frozen=True, slots=True)
class ScannerThresholds:
    """Defaults: a scanner User-Agent is critical at once; 10 / 25 distinct unknown or
    failing user names from one source in 5 min is a sweep."""

    sweep_window: float = 300.0
    sweep_warning: int = 10
    sweep_critical: int = 25
    sweep_methods: frozenset[str] = frozenset({"REGISTER", "OPTIONS", "INVITE", "SUBSCRIBE"})
    user_agents: tuple[str, ...] = SCANNER_USER_AGENTS
    cooldown: float = 3600.0
    idle_ttl: float = 900.0
    max_keys: int = 200_000

    def __post_init__(self) -> None:
        if self.sweep_critical < self.sweep_warning:
            raise ThresholdError("scanner sweep_critical is below sweep_warning")


class ScannerDetector(BaseDetector):
    kind = DetectorKind.SCANNER

    def __init__(self, thresholds: ScannerThresholds | None = None) -> None:
        t = self.t = thresholds or ScannerThresholds()
        self.gate = AlertGate(t.cooldown)
        self.is_scanner = UserAgentMatcher(t.user_agents)
        self._sweeps: LruStates[str, DistinctWindow] = LruStates(
            lambda: DistinctWindow(t.sweep_window, limit=4 * t.sweep_critical),
            idle_ttl=t.idle_ttl,
            max_keys=t.max_keys,
        )

    def handlers(self) -> Mapping[type, Handler]:
        return {
            AuthFailure: self._failure,
            RequestSeen: self._request,
            Registration: self._registration,
        }

    def _failure(self, event: AuthFailure) -> list[Alert]:
        alerts = self._user_agent(event.source_address, event.user_agent, event.time)
        return alerts + self._sweep(event.source_address, event.username, event.time)

    def _request(self, event: RequestSeen) -> list[Alert]:
        alerts = self._user_agent(event.source_address, event.user_agent, event.time)
        if event.method.upper() in self.t.sweep_methods and event.username_known is not True:
            alerts += self._sweep(event.source_address, event.username, event.time)
        return alerts

    def _registration(self, event: Registration) -> list[Alert]:
        return self._user_agent(event.source_address, event.user_agent, event.time)

    def _user_agent(self, source: str, user_agent: str | None, now: float) -> list[Alert]:
        if not self.is_scanner(user_agent):
            return []
        host = source_host(source)
        subject = Subject(SubjectKind.SOURCE, host)
        if not self.gate.claim(self.kind, subject, Level.CRITICAL, now):
            return []
        text = f"{host} sent requests with the User-Agent of a SIP scanner ({user_agent})"
        figures = {"scanner_user_agent": 1.0}
        return [Alert(self.kind, Level.CRITICAL, subject, now, now, figures, (), text)]

    def _sweep(self, source: str, username: str | None, now: float) -> list[Alert]:
        if not username:
            return []
        t = self.t
        host = source_host(source)
        names = self._sweeps.touch(host, now)
        names.add(username, now)
        count = names.count(now)
        if count < t.sweep_warning:
            return []
        level = Level.CRITICAL if count >= t.sweep_critical else Level.WARNING
        subject = Subject(SubjectKind.SOURCE, host)
        if not self.gate.claim(self.kind, subject, level, now):
            return []
        text = (
            f"{host} tried {count} unknown or failing user names in "
            f"{t.sweep_window / 60:g} min: a sweep"
        )
        figures = {"distinct_usernames": float(count)}
        evidence = bounded(names.values())
        return [
            Alert(self.kind, level, subject, now - t.sweep_window, now, figures, evidence, text)
        ]
