"""Wangiri ("one ring and cut"): short foreign inbound calls, then costly callbacks.

A wave of short inbound calls from foreign numbers is a warning (it costs
nothing yet); an outbound call back to a number of the wave is critical, since
that is where the money goes.
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
from switch.detect.events import CallAttempt, CallEnded
from switch.detect.window import CallIndex, LruStates, TimeWindow


@dataclass(frozen=True, slots=True)
class WangiriThresholds:
    """Defaults: an inbound call from a number outside the home country codes that
    lasts under 15 s and is not talked over 6 s counts; 5 in an hour make a wave
    (warning); a callback within 72 h to a number of the wave is critical.
    """

    home_country_codes: tuple[str, ...] = ("1",)
    short_ring_seconds: float = 15.0
    short_talk_seconds: int = 6
    wave_window: float = 3600.0
    wave_size: int = 5
    callback_window: float = 72 * 3600.0
    remembered_numbers: int = 500  # per account
    cooldown: float = 3600.0
    idle_ttl: float = 4 * 86_400.0
    max_keys: int = 100_000

    def __post_init__(self) -> None:
        if self.wave_size < 2:
            raise ThresholdError("a Wangiri wave needs at least 2 calls")
        if self.callback_window <= 0 or self.wave_window <= 0:
            raise ThresholdError("Wangiri windows must be positive")


class _Account:
    __slots__ = ("numbers", "wave", "wave_until")

    def __init__(self, t: WangiriThresholds) -> None:
        self.wave = TimeWindow(t.wave_window, limit=10_000)  # short foreign calls
        # number -> (last time, inbound call id, seen during a wave?)
        self.numbers: OrderedDict[str, tuple[float, str, bool]] = OrderedDict()
        self.wave_until = 0.0


class WangiriDetector(BaseDetector):
    kind = DetectorKind.WANGIRI

    def __init__(self, thresholds: WangiriThresholds | None = None) -> None:
        t = self.t = thresholds or WangiriThresholds()
        self.gate = AlertGate(t.cooldown)
        self._accounts: LruStates[int, _Account] = LruStates(
            lambda: _Account(t), idle_ttl=t.idle_ttl, max_keys=t.max_keys
        )
        self._inbound: CallIndex[tuple[int, str]] = CallIndex()

    def is_foreign(self, number: str | None) -> bool:
        """An E.164 number outside the home country codes (country codes are prefix-free)."""
        if not number or not number.startswith("+"):
            return False
        return not number[1:].startswith(self.t.home_country_codes)

    def handlers(self) -> Mapping[type, Handler]:
        return {CallAttempt: self._attempt, CallEnded: self._ended}

    def _attempt(self, a: CallAttempt) -> list[Alert]:
        if a.account_id is None:
            return []
        if a.direction is Direction.INBOUND:
            if self.is_foreign(a.caller_identity):
                self._inbound.put(a.call_id, (a.account_id, _norm(a.caller_identity)), a.time)
            return []
        if a.direction is not Direction.OUTBOUND or not a.destination:
            return []
        state = self._accounts.get(a.account_id)
        if state is None:
            return []
        entry = state.numbers.get(_norm(a.destination))
        if entry is None:
            return []
        seen, inbound_call, in_wave = entry
        if not in_wave or a.time - seen > self.t.callback_window:
            return []
        subject = Subject(SubjectKind.ACCOUNT, str(a.account_id))
        if not self.gate.claim(self.kind, subject, Level.CRITICAL, a.time):
            return []
        figures = {
            "wave_calls": float(len(state.wave)),
            "hours_since_missed_call": round((a.time - seen) / 3600, 2),
        }
        text = (
            "Outbound call back to a foreign number that was part of a wave of "
            f"one-ring inbound calls {figures['hours_since_missed_call']:.1f} h earlier"
        )
        evidence = bounded([*state.wave.labels(), inbound_call, a.call_id])
        return [
            Alert(
                self.kind,
                Level.CRITICAL,
                subject,
                seen,
                a.time,
                figures,
                evidence,
                text,
                a.account_id,
            )
        ]

    def _ended(self, e: CallEnded) -> list[Alert]:
        pending = self._inbound.pop(e.call_id)
        if pending is None:
            return []
        t = self.t
        if e.duration >= t.short_ring_seconds or e.billable_seconds >= t.short_talk_seconds:
            return []
        account_id, number = pending
        state = self._accounts.touch(account_id, e.time)
        state.wave.add(e.time, e.call_id)
        size = state.wave.count(e.time)
        numbers = state.numbers
        if size >= t.wave_size:
            state.wave_until = e.time + t.wave_window
        in_wave = e.time <= state.wave_until
        numbers.pop(number, None)
        numbers[number] = (e.time, e.call_id, in_wave)
        if size == t.wave_size:
            # The calls that made the wave are marked retroactively.
            horizon = e.time - t.wave_window
            for other, (when, call, _) in list(numbers.items()):
                if when > horizon:
                    numbers[other] = (when, call, True)
        while len(numbers) > t.remembered_numbers:
            numbers.popitem(last=False)
        if size < t.wave_size:
            return []
        subject = Subject(SubjectKind.ACCOUNT, str(account_id))
        if not self.gate.claim(self.kind, subject, Level.WARNING, e.time):
            return []
        figures = {"short_foreign_calls": float(size), "window_minutes": t.wave_window / 60}
        text = (
            f"{size} short inbound calls from foreign numbers in "
            f"{t.wave_window / 60:.0f} min: a Wangiri wave; do not call them back"
        )
        start = state.wave.first_time(e.time)
        return [
            Alert(
                self.kind,
                Level.WARNING,
                subject,
                start,
                e.time,
                figures,
                bounded(state.wave.labels()),
                text,
                account_id,
            )
        ]


def _norm(number: str | None) -> str:
    return (number or "").strip().lstrip("+")
