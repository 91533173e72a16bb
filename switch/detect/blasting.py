"""Blasting: many outbound calls from one account at once or within seconds (ABUSE-06).

Providers' policies draw the line at 100 simultaneous calls; both live calls
and attempts started within a few seconds of each other count, whichever is more.
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
    SubjectKind,
    bounded,
)
from switch.detect.base import BaseDetector, Handler
from switch.detect.errors import ThresholdError
from switch.detect.events import CallAttempt, CallEnded
from switch.detect.window import Concurrency, LruStates, TimeWindow
from switch.policy.destination import DestinationClass

_EXEMPT = frozenset({DestinationClass.EMERGENCY, DestinationClass.EMERGENCY_TEST})


@dataclass(frozen=True, slots=True)
class BlastingThresholds:
    """Defaults: critical at 100 outbound calls live at once or started within 5 s,
    warning at 50."""

    near_window: float = 5.0
    warning: int = 50
    critical: int = 100
    cooldown: float = 3600.0
    idle_ttl: float = 3600.0
    max_keys: int = 100_000

    def __post_init__(self) -> None:
        if self.critical < self.warning or self.warning < 1:
            raise ThresholdError("blasting needs 1 <= warning <= critical")


class BlastingDetector(BaseDetector):
    kind = DetectorKind.BLASTING

    def __init__(self, thresholds: BlastingThresholds | None = None) -> None:
        t = self.t = thresholds or BlastingThresholds()
        self.gate = AlertGate(t.cooldown)
        self._recent: LruStates[int, TimeWindow] = LruStates(
            lambda: TimeWindow(t.near_window, limit=4 * t.critical),
            idle_ttl=t.idle_ttl,
            max_keys=t.max_keys,
        )
        self._live: Concurrency[int] = Concurrency()

    def handlers(self) -> Mapping[type, Handler]:
        return {CallAttempt: self._attempt, CallEnded: self._ended}

    def _ended(self, e: CallEnded) -> list[Alert]:
        self._live.close(e.call_id)
        return []

    def _attempt(self, a: CallAttempt) -> list[Alert]:
        t = self.t
        if a.direction is not Direction.OUTBOUND or a.account_id is None:
            return []
        if a.destination_class in _EXEMPT:
            return []
        live = self._live.open(a.call_id, a.account_id, a.time)
        recent = self._recent.touch(a.account_id, a.time)
        recent.add(a.time, a.call_id)
        near = recent.count(a.time)
        worst = max(live, near)
        if worst < t.warning:
            return []
        level = Level.CRITICAL if worst >= t.critical else Level.WARNING
        subject = Subject(SubjectKind.ACCOUNT, str(a.account_id))
        if not self.gate.claim(self.kind, subject, level, a.time):
            return []
        figures = {"live_outbound": float(live), f"started_within_{t.near_window:g}s": float(near)}
        text = (
            f"{live} outbound calls live at once, {near} started within {t.near_window:g} s "
            f"(limit {t.critical})"
        )
        evidence = bounded(recent.labels() if near >= live else self._live.members(a.account_id))
        start = recent.first_time(a.time)
        return [
            Alert(self.kind, level, subject, start, a.time, figures, evidence, text, a.account_id)
        ]
