"""Registration brute force and SIP scanners (ABUSE-12).

Brute force counts wrong credentials per source host and per username. Scanners
give themselves away by their User-Agent or by sweeping many user names that do
not exist (an office NAT full of rebooting phones registers many names too, but
they exist and authenticate).
"""

from __future__ import annotations

import re
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
from switch.detect.errors import ThresholdError
from switch.detect.events import AuthFailure, Event, Registration, RequestSeen, source_host
from switch.detect.window import DistinctWindow, LruStates, TimeWindow

# User-Agent fragments of SIP scanning and cracking tools.
SCANNER_USER_AGENTS: tuple[str, ...] = (
    r"friendly-scanner",
    r"sipvicious",
    r"sipcli",
    r"vaxsipuseragent",
    r"pplsip",
    r"sundayddr",
    r"\biwar\b",
    r"sivus",
    r"\bgulp\b",
    r"sip-scan",
    r"\bsmap\b",
    r"sipsak",
    r"svcrack|svwar|svmap",
    r"sipscan",
    r"nmap",
    r"sippts",
    r"voipbuster",
)


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


class BruteForceDetector:
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

    def feed(self, event: Event) -> list[Alert]:
        if not isinstance(event, AuthFailure):
            return []
        t = self.t
        host = source_host(event.source_address)
        alerts: list[Alert] = []
        window = self._sources.touch(host, event.time)
        window.add(event.time, event.username or "")
        count = window.count(event.time)
        if count >= t.source_warning:
            level = Level.CRITICAL if count >= t.source_critical else Level.WARNING
            users = len(set(window.labels()))
            text = (
                f"{count} failed authentications from {host} in {t.source_window:g} s "
                f"over {users} user name(s)"
            )
            figures = {"failures": float(count), "usernames": float(users)}
            subject = Subject(SubjectKind.SOURCE, host)
            start = window.first_time(event.time)
            alerts.append(
                Alert(
                    self.kind,
                    level,
                    subject,
                    start,
                    event.time,
                    figures,
                    bounded(window.labels()),
                    text,
                )
            )
        if event.username:
            users_window = self._users.touch(event.username, event.time)
            users_window.add(event.time, host)
            count = users_window.count(event.time)
            if count >= t.username_warning:
                level = Level.CRITICAL if count >= t.username_critical else Level.WARNING
                sources = len(set(users_window.labels()))
                text = (
                    f"{count} failed authentications for one user name in "
                    f"{t.username_window / 60:g} min from {sources} source(s)"
                )
                figures = {"failures": float(count), "sources": float(sources)}
                subject = Subject(SubjectKind.USERNAME, event.username)
                start = users_window.first_time(event.time)
                alerts.append(
                    Alert(
                        self.kind,
                        level,
                        subject,
                        start,
                        event.time,
                        figures,
                        bounded(users_window.labels()),
                        text,
                    )
                )
        return self.gate.filter(alerts)


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


class ScannerDetector:
    kind = DetectorKind.SCANNER

    def __init__(self, thresholds: ScannerThresholds | None = None) -> None:
        t = self.t = thresholds or ScannerThresholds()
        self.gate = AlertGate(t.cooldown)
        self._ua = re.compile("|".join(f"(?:{p})" for p in t.user_agents), re.IGNORECASE)
        self._sweeps: LruStates[str, DistinctWindow] = LruStates(
            lambda: DistinctWindow(t.sweep_window, limit=4 * t.sweep_critical),
            idle_ttl=t.idle_ttl,
            max_keys=t.max_keys,
        )

    def is_scanner(self, user_agent: str | None) -> bool:
        return bool(user_agent) and self._ua.search(user_agent or "") is not None

    def feed(self, event: Event) -> list[Alert]:
        if isinstance(event, AuthFailure):
            alerts = self._user_agent(event.source_address, event.user_agent, event.time)
            alerts += self._sweep(event.source_address, event.username, event.time)
        elif isinstance(event, RequestSeen):
            alerts = self._user_agent(event.source_address, event.user_agent, event.time)
            if event.method.upper() in self.t.sweep_methods and event.username_known is not True:
                alerts += self._sweep(event.source_address, event.username, event.time)
        elif isinstance(event, Registration):
            alerts = self._user_agent(event.source_address, event.user_agent, event.time)
        else:
            return []
        return self.gate.filter(alerts)

    def _user_agent(self, source: str, user_agent: str | None, now: float) -> list[Alert]:
        if not self.is_scanner(user_agent):
            return []
        host = source_host(source)
        text = f"{host} sent requests with the User-Agent of a SIP scanner ({user_agent})"
        subject = Subject(SubjectKind.SOURCE, host)
        return [
            Alert(
                self.kind, Level.CRITICAL, subject, now, now, {"scanner_user_agent": 1.0}, (), text
            )
        ]

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
        text = (
            f"{host} tried {count} unknown or failing user names in "
            f"{t.sweep_window / 60:g} min: a sweep"
        )
        subject = Subject(SubjectKind.SOURCE, host)
        return [
            Alert(
                self.kind,
                level,
                subject,
                now - t.sweep_window,
                now,
                {"distinct_usernames": float(count)},
                bounded(names.values()),
                text,
            )
        ]
