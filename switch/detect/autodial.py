"""Auto-dialling and predictive dialling, per extension and per account (ABUSE-01, ABUSE-09).

No single signal convicts: a receptionist may place many calls, a salesperson
may reach many voicemails. Each signal adds points to a score over a sliding
window, and only the sum decides the level. Published signatures anchor the
duration signals: conversational traffic averages 3 minutes or more with at
least 20% of calls over 2 minutes; dialler traffic averages under a minute with
90% or more under 60 s.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from switch.cdr.record import Direction, Disposition
from switch.detect.alerts import (
    Alert,
    AlertGate,
    DetectorKind,
    Level,
    SubjectKey,
    bounded,
    subject_of,
)
from switch.detect.base import BaseDetector, Handler
from switch.detect.errors import ThresholdError
from switch.detect.events import CallAttempt, CallEnded, SeatKind
from switch.detect.profile import Profiles
from switch.detect.window import CallIndex, Concurrency, LruStates
from switch.policy.destination import DestinationClass

# Calls that say nothing about dialling habits: emergency, feature codes, internal.
_IGNORED = frozenset(
    {
        DestinationClass.EMERGENCY,
        DestinationClass.EMERGENCY_TEST,
        DestinationClass.INTERNAL,
        DestinationClass.FEATURE_CODE,
    }
)


@dataclass(frozen=True, slots=True)
class AutodialThresholds:
    """Scoring of dialling behaviour. Pairs are (1 point, 2 points) cut-offs.

    Defaults: a 15-minute window that needs 20 attempts before anything is scored;
    3/min and 6/min; 50% and 80% of calls under 6 s; answer ratio at or under 35%
    and 20%; gap coefficient of variation at or under 0.5 and 0.25 (people are
    irregular, near 1); 30% and 50% of destinations next to the previous one;
    3 outbound calls at once on a single-user seat (2 points); half the attempts
    outside business hours (1 point); the dialler duration signature (1 point);
    the conversational signature (minus 2). Warning at 4 points, critical at 6.
    """

    window: float = 900.0
    min_attempts: int = 20
    min_outcomes: int = 10
    min_gaps: int = 10
    rate_per_minute: tuple[float, float] = (3.0, 6.0)
    short_call_seconds: float = 6.0
    short_share: tuple[float, float] = (0.5, 0.8)
    answer_ratio: tuple[float, float] = (0.35, 0.2)
    gap_cv: tuple[float, float] = (0.5, 0.25)
    sequential_share: tuple[float, float] = (0.3, 0.5)
    sequential_distance: int = 10  # numbers this close to the previous one are consecutive
    prefix_walk_digits: int = 4  # same number but for these last digits: a prefix walked
    off_hours_share: float = 0.5
    seat_concurrency: int = 3
    dialler_mean_seconds: float = 60.0
    dialler_under_share: float = 0.9
    conversational_mean_seconds: float = 180.0
    conversational_over_seconds: float = 120.0
    conversational_over_share: float = 0.2
    warning_score: int = 4
    critical_score: int = 6
    cooldown: float = 3600.0
    idle_ttl: float = 3600.0
    max_keys: int = 100_000
    max_window: int = 5000  # attempts (and outcomes) kept per subject

    def __post_init__(self) -> None:
        if self.window <= 0 or self.min_attempts < 2:
            raise ThresholdError("autodial window must be positive and min_attempts at least 2")
        if self.critical_score < self.warning_score:
            raise ThresholdError("autodial critical score is below the warning score")


class _Stream:
    """Running sums over one subject's recent attempts and outcomes."""

    __slots__ = (
        "answered",
        "attempts",
        "billable_sum",
        "extensions",
        "gap_n",
        "gap_sq",
        "gap_sum",
        "last_dest",
        "last_time",
        "off_n",
        "outcomes",
        "over_n",
        "seq_n",
        "short_n",
        "under_n",
    )

    def __init__(self) -> None:
        # (time, call id, gap or -1, consecutive?, off hours?, extension key)
        self.attempts: deque[tuple[float, str, float, bool, bool, int]] = deque()
        self.outcomes: deque[tuple[float, int, bool]] = deque()  # (end, billable, answered)
        self.gap_n = 0
        self.gap_sum = 0.0
        self.gap_sq = 0.0
        self.seq_n = 0
        self.off_n = 0
        self.short_n = 0
        self.answered = 0
        self.under_n = 0
        self.over_n = 0
        self.billable_sum = 0
        self.extensions: dict[int, int] = {}
        self.last_time: float | None = None
        self.last_dest: int | None = None


class AutodialDetector(BaseDetector):
    """Scores outbound dialling per extension (or device) and per account."""

    kind = DetectorKind.AUTODIAL

    def __init__(
        self, thresholds: AutodialThresholds | None = None, profiles: Profiles | None = None
    ) -> None:
        self.t = thresholds or AutodialThresholds()
        self.profiles = profiles or Profiles()
        self.gate = AlertGate(self.t.cooldown)
        t = self.t
        self._streams: LruStates[SubjectKey, _Stream] = LruStates(
            _Stream, idle_ttl=max(t.idle_ttl, t.window), max_keys=t.max_keys
        )
        self._calls: CallIndex[tuple[SubjectKey | None, SubjectKey | None]] = CallIndex()
        self._seats: Concurrency[SubjectKey] = Concurrency()

    def handlers(self) -> Mapping[type, Handler]:
        return {CallAttempt: self._attempt, CallEnded: self._ended}

    def _attempt(self, a: CallAttempt) -> list[Alert]:
        if a.direction is not Direction.OUTBOUND or a.destination_class in _IGNORED:
            return []
        seat = _seat_key(a)
        account: SubjectKey | None = ("account", a.account_id) if a.account_id is not None else None
        self._calls.put(a.call_id, (seat, account), a.time)
        off = not self.profiles.get(a.account_id).in_business_hours(a.time)
        dest = _digits(a.destination)
        ext_key = a.extension_id or a.device_id or 0
        alerts: list[Alert] = []
        concurrent = 0
        if seat is not None:
            if a.seat_kind is SeatKind.SINGLE_USER:
                concurrent = self._seats.open(a.call_id, seat, a.time)
            stream = self._streams.touch(seat, a.time)
            self._push(stream, a, dest, off, ext_key)
            alerts += self._evaluate(seat, stream, a, concurrent, per_extension=False)
        if account is not None:
            stream = self._streams.touch(account, a.time)
            self._push(stream, a, dest, off, ext_key)
            alerts += self._evaluate(account, stream, a, 0, per_extension=True)
        return alerts

    def _ended(self, e: CallEnded) -> list[Alert]:
        subjects = self._calls.pop(e.call_id)
        if subjects is None:
            return []
        self._seats.close(e.call_id)
        answered = e.billable_seconds > 0 or e.disposition is Disposition.ANSWERED
        for subject in subjects:
            if subject is None:
                continue
            stream = self._streams.get(subject)
            if stream is None:
                continue
            stream.outcomes.append((e.time, e.billable_seconds, answered))
            self._count_outcome(stream, e.billable_seconds, answered, +1)
        return []

    def _push(self, s: _Stream, a: CallAttempt, dest: int | None, off: bool, ext: int) -> None:
        t = self.t
        self._expire(s, a.time)
        gap = -1.0
        if s.last_time is not None and a.time - s.last_time < t.window:
            gap = max(0.0, a.time - s.last_time)
            s.gap_n += 1
            s.gap_sum += gap
            s.gap_sq += gap * gap
        seq = _consecutive(s.last_dest, dest, t.sequential_distance, t.prefix_walk_digits)
        s.seq_n += seq
        s.off_n += off
        s.extensions[ext] = s.extensions.get(ext, 0) + 1
        s.attempts.append((a.time, a.call_id, gap, seq, off, ext))
        s.last_time = a.time
        s.last_dest = dest

    def _count_outcome(self, s: _Stream, billable: int, answered: bool, sign: int) -> None:
        t = self.t
        s.short_n += sign * (billable < t.short_call_seconds)
        s.answered += sign * answered
        s.under_n += sign * (billable < t.dialler_mean_seconds)
        s.over_n += sign * (billable > t.conversational_over_seconds)
        s.billable_sum += sign * billable

    def _expire(self, s: _Stream, now: float) -> None:
        """Drop what left the window, and the oldest beyond ``max_window`` (bounded memory
        even for a blast: the shares stay right, the rate saturates at the cap)."""
        horizon = now - self.t.window
        cap = self.t.max_window
        attempts = s.attempts
        while attempts and (attempts[0][0] <= horizon or len(attempts) >= cap):
            _, _, gap, seq, off, ext = attempts.popleft()
            if gap >= 0:
                s.gap_n -= 1
                s.gap_sum -= gap
                s.gap_sq -= gap * gap
            s.seq_n -= seq
            s.off_n -= off
            left = s.extensions[ext] - 1
            if left:
                s.extensions[ext] = left
            else:
                del s.extensions[ext]
        if not s.gap_n:  # an empty window: drop float drift from adding and subtracting
            s.gap_sum = s.gap_sq = 0.0
        outcomes = s.outcomes
        while outcomes and (outcomes[0][0] <= horizon or len(outcomes) >= cap):
            _, billable, answered = outcomes.popleft()
            self._count_outcome(s, billable, answered, -1)

    def _evaluate(
        self, key: SubjectKey, s: _Stream, a: CallAttempt, concurrent: int, *, per_extension: bool
    ) -> list[Alert]:
        t = self.t
        n = len(s.attempts)
        if n < t.min_attempts:
            return []
        figures = self._figures(s, concurrent, per_extension)
        score, reasons = self._score(figures)
        if score < t.warning_score:
            return []
        level = Level.CRITICAL if score >= t.critical_score else Level.WARNING
        subject = subject_of(key)
        if not self.gate.claim(self.kind, subject, level, a.time):
            return []
        figures["score"] = float(score)
        start = s.attempts[0][0]
        who = "account" if per_extension else str(subject)
        explanation = (
            f"{who} placed {n} outbound calls in {(a.time - start) / 60:.0f} min "
            f"({figures['attempts_per_minute']:.1f}/min"
            + (" per active extension" if per_extension else "")
            + "): "
            + "; ".join(reasons)
        )
        return [
            Alert(
                detector=self.kind,
                level=level,
                subject=subject,
                window_start=start,
                window_end=a.time,
                figures=figures,
                evidence=bounded(item[1] for item in s.attempts),
                explanation=explanation,
                account_id=a.account_id,
            )
        ]

    def _figures(self, s: _Stream, concurrent: int, per_extension: bool) -> dict[str, float]:
        n = len(s.attempts)
        minutes = self.t.window / 60.0
        rate = n / minutes
        if per_extension:
            rate /= max(1, len(s.extensions))
        figures: dict[str, float] = {
            "attempts": float(n),
            "attempts_per_minute": round(rate, 2),
            "sequential_share": round(s.seq_n / max(1, n - 1), 3),
            "off_hours_share": round(s.off_n / n, 3),
            "concurrent_outbound": float(concurrent),
        }
        ended = len(s.outcomes)
        if ended >= self.t.min_outcomes:
            figures["ended"] = float(ended)
            figures["short_call_share"] = round(s.short_n / ended, 3)
            figures["answer_ratio"] = round(s.answered / ended, 3)
            figures["mean_billable_seconds"] = round(s.billable_sum / ended, 1)
            figures["under_60s_share"] = round(s.under_n / ended, 3)
            figures["over_120s_share"] = round(s.over_n / ended, 3)
        if s.gap_n >= self.t.min_gaps and s.gap_sum > 0:
            mean = s.gap_sum / s.gap_n
            var = max(0.0, s.gap_sq / s.gap_n - mean * mean)
            figures["gap_cv"] = round(math.sqrt(var) / mean, 3)
        return figures

    def _score(self, f: dict[str, float]) -> tuple[int, list[str]]:
        t = self.t
        score = 0
        reasons: list[str] = []

        def points(value: float, cuts: tuple[float, float], low: bool, text: str) -> None:
            nonlocal score
            hit = 2 if _beyond(value, cuts[1], low) else 1 if _beyond(value, cuts[0], low) else 0
            if hit:
                score += hit
                reasons.append(text.format(value))

        points(f["attempts_per_minute"], t.rate_per_minute, False, "{:.1f} attempts/min")
        points(f["sequential_share"], t.sequential_share, False, "{:.0%} consecutive numbers")
        if "short_call_share" in f:
            points(f["short_call_share"], t.short_share, False, "{:.0%} under 6 s")
            points(f["answer_ratio"], t.answer_ratio, True, "{:.0%} answered")
            mean = f["mean_billable_seconds"]
            if mean < t.dialler_mean_seconds and f["under_60s_share"] >= t.dialler_under_share:
                score += 1
                reasons.append(f"dialler durations (mean {mean:.0f} s)")
            elif (
                mean >= t.conversational_mean_seconds
                and f["over_120s_share"] >= t.conversational_over_share
            ):
                score -= 2
                reasons.append(f"conversational durations (mean {mean:.0f} s)")
        if "gap_cv" in f:
            points(f["gap_cv"], t.gap_cv, True, "regular gaps (CV {:.2f})")
        if f["concurrent_outbound"] >= t.seat_concurrency:
            score += 2
            reasons.append(f"{f['concurrent_outbound']:.0f} calls at once on a single-user seat")
        if f["off_hours_share"] >= t.off_hours_share:
            score += 1
            reasons.append(f"{f['off_hours_share']:.0%} outside business hours")
        return score, reasons


def _beyond(value: float, cut: float, low: bool) -> bool:
    return value <= cut if low else value >= cut


def _seat_key(a: CallAttempt) -> SubjectKey | None:
    if a.extension_id is not None:
        return ("extension", a.extension_id)
    if a.device_id is not None:
        return ("device", a.device_id)
    return None


def _digits(destination: str | None) -> int | None:
    if not destination:
        return None
    text = destination.lstrip("+")
    return int(text) if text.isdigit() and len(text) <= 18 else None


def _consecutive(prev: int | None, cur: int | None, distance: int, walk_digits: int) -> bool:
    """Next to the previous number, or the same number but for its last digits."""
    if prev is None or cur is None or prev == cur:
        return False
    if abs(cur - prev) <= distance:
        return True
    scale = 10**walk_digits
    return cur >= 10_000_000 and cur // scale == prev // scale
