"""Fair use on unlimited plans: pooled monthly minutes against per-seat allowances.

Presets follow the providers' wording (FAIR-03, FAIR-04, FAIR-06); the counting
basis is part of the plan so an operator can ship either. A call's minutes
belong to the billing period in which it started, as rating does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from switch.cdr.record import Direction
from switch.detect.alerts import (
    Alert,
    DetectorKind,
    Level,
    Subject,
    SubjectKind,
    bounded,
)
from switch.detect.base import BaseDetector, Handler
from switch.detect.errors import ThresholdError
from switch.detect.events import CallAttempt, CallEnded
from switch.detect.profile import AccountProfile, Profiles
from switch.detect.window import CallIndex, LruStates
from switch.policy.destination import DestinationClass

DOMESTIC = frozenset({DestinationClass.LOCAL, DestinationClass.DOMESTIC_LONG_DISTANCE})
BOTH_WAYS = frozenset({Direction.INBOUND, Direction.OUTBOUND})


class Basis(StrEnum):
    """What an allowance is multiplied by."""

    SEATS = "seats"
    TOLL_FREE_NUMBERS = "toll_free_numbers"


class Pool(StrEnum):
    DOMESTIC = "domestic"
    TOLL_FREE = "toll_free"


@dataclass(frozen=True, slots=True)
class FairUsePlan:
    """How one plan counts. Inbound calls count by the class of the DID they reached;
    an unclassified inbound call is taken as domestic."""

    name: str
    pool_classes: frozenset[DestinationClass] = DOMESTIC
    pool_directions: frozenset[Direction] = BOTH_WAYS
    pool_minutes: float = 3000.0
    pool_basis: Basis = Basis.SEATS
    toll_free_minutes: float = 500.0
    toll_free_basis: Basis = Basis.TOLL_FREE_NUMBERS
    warning_share: float = 0.8

    def __post_init__(self) -> None:
        if not 0 < self.warning_share <= 1:
            raise ThresholdError("fair-use warning_share must lie in (0, 1]")
        if self.pool_minutes <= 0 or self.toll_free_minutes <= 0:
            raise ThresholdError("fair-use allowances must be positive")


# Domestic and long distance both ways against 3,000 x seats; inbound toll-free
# against 500 x toll-free numbers (FAIR-03 with FAIR-06's toll-free basis).
DEFAULT_PLAN = FairUsePlan("default")
# FAIR-03 and FAIR-04 as worded: both allowances per subscriber line (seat).
PER_LINE_PLAN = FairUsePlan("per_line", toll_free_basis=Basis.SEATS)
# FAIR-06 review guide: outbound long distance per seat; toll-free per toll-free number.
REVIEW_GUIDE_PLAN = FairUsePlan(
    "review_guide",
    pool_classes=frozenset({DestinationClass.DOMESTIC_LONG_DISTANCE}),
    pool_directions=frozenset({Direction.OUTBOUND}),
)
PRESETS: Mapping[str, FairUsePlan] = {
    plan.name: plan for plan in (DEFAULT_PLAN, PER_LINE_PLAN, REVIEW_GUIDE_PLAN)
}


@dataclass(frozen=True, slots=True)
class FairUseThresholds:
    """Plans by name (a profile names its plan; unknown names use ``default_plan``)."""

    plans: Mapping[str, FairUsePlan] = field(default_factory=lambda: dict(PRESETS))
    default_plan: FairUsePlan = DEFAULT_PLAN
    max_call_seconds: float = 24 * 3600.0
    idle_ttl: float = 40 * 86_400.0
    max_keys: int = 400_000


def billing_period(time: float, billing_day: int = 1) -> tuple[float, float]:
    """Start and end (UTC epoch seconds) of the billing period holding ``time``.

    Periods start on ``billing_day`` at 00:00 UTC; day 1 gives calendar months.
    """
    at = datetime.fromtimestamp(time, UTC)
    year, month = at.year, at.month
    if at.day < billing_day:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    start = datetime(year, month, billing_day, tzinfo=UTC)
    end_year, end_month = (year + 1, 1) if month == 12 else (year, month + 1)
    end = datetime(end_year, end_month, billing_day, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


@dataclass(slots=True)
class Usage:
    """One account's counted seconds in one period."""

    period_start: float
    period_end: float
    seconds: dict[Pool, int] = field(default_factory=lambda: {p: 0 for p in Pool})
    fired: set[tuple[Pool, Level]] = field(default_factory=set)
    calls: deque[str] = field(default_factory=lambda: deque(maxlen=50))

    def minutes(self, pool: Pool) -> float:
        return self.seconds[pool] / 60.0


class FairUseDetector(BaseDetector):
    kind = DetectorKind.FAIR_USE

    def __init__(
        self, thresholds: FairUseThresholds | None = None, profiles: Profiles | None = None
    ) -> None:
        self.t = thresholds or FairUseThresholds()
        self.profiles = profiles or Profiles()
        self._usage: LruStates[tuple[int, float], Usage] = LruStates(
            lambda: Usage(0.0, 0.0), idle_ttl=self.t.idle_ttl, max_keys=self.t.max_keys
        )
        self._calls: CallIndex[tuple[int, Pool, float]] = CallIndex(self.t.max_call_seconds)
        self._periods: dict[int, tuple[float, float]] = {}  # billing day -> current period

    def _period(self, time: float, billing_day: int) -> tuple[float, float]:
        cached = self._periods.get(billing_day)
        if cached is not None and cached[0] <= time < cached[1]:
            return cached
        period = self._periods[billing_day] = billing_period(time, billing_day)
        return period

    def plan_for(self, profile: AccountProfile) -> FairUsePlan:
        return self.t.plans.get(profile.plan, self.t.default_plan)

    def usage(self, account_id: int, time: float) -> Usage | None:
        """The usage of the period holding ``time`` (None before any counted call)."""
        start, _ = billing_period(time, self.profiles.get(account_id).billing_day)
        return self._usage.get((account_id, start))

    def usage_by_account(self, period_start: float) -> dict[int, Usage]:
        return {key[0]: usage for key, usage in self._usage.items() if key[1] == period_start}

    def handlers(self) -> Mapping[type, Handler]:
        return {CallAttempt: self._attempt, CallEnded: self._ended}

    def _attempt(self, a: CallAttempt) -> list[Alert]:
        if a.account_id is None:
            return []
        profile = self.profiles.get(a.account_id)
        plan = self.plan_for(profile)
        pool = _pool(plan, a)
        if pool is not None:
            start, _ = self._period(a.time, profile.billing_day)
            self._calls.put(a.call_id, (a.account_id, pool, start), a.time)
        return []

    def _ended(self, e: CallEnded) -> list[Alert]:
        entry = self._calls.pop(e.call_id)
        if entry is None or e.billable_seconds <= 0:
            return []
        account_id, pool, period_start = entry
        profile = self.profiles.get(account_id)
        usage = self._usage.touch((account_id, period_start), e.time)
        if usage.period_end == 0.0:
            usage.period_start, usage.period_end = billing_period(period_start, profile.billing_day)
        usage.seconds[pool] += e.billable_seconds
        usage.calls.append(e.call_id)
        plan = self.plan_for(profile)
        cap = _cap(plan, profile, pool)
        if cap is None:
            return []
        minutes = usage.minutes(pool)
        if minutes > cap:
            level = Level.CRITICAL
        elif minutes >= plan.warning_share * cap:
            level = Level.WARNING
        else:
            return []
        if (pool, level) in usage.fired:
            return []
        usage.fired.add((pool, level))  # once per pool, level and period: a stronger cool-down
        subject = Subject(SubjectKind.ACCOUNT, str(account_id))
        share = minutes / cap
        figures = {"minutes": round(minutes, 1), "allowance_minutes": cap, "share": round(share, 3)}
        text = (
            f"{pool.value} minutes this period: {minutes:.0f} of {cap:.0f} allowed "
            f"({share:.0%}) on plan {plan.name}"
        )
        return [
            Alert(
                self.kind,
                level,
                subject,
                usage.period_start,
                e.time,
                figures,
                bounded(usage.calls),
                text,
                account_id,
            )
        ]


def _pool(plan: FairUsePlan, a: CallAttempt) -> Pool | None:
    if a.direction is Direction.INBOUND and a.destination_class is DestinationClass.TOLL_FREE:
        return Pool.TOLL_FREE
    if a.direction not in plan.pool_directions:
        return None
    if a.destination_class in plan.pool_classes:
        return Pool.DOMESTIC
    if a.direction is Direction.INBOUND and a.destination_class is None:
        return Pool.DOMESTIC
    return None


def _cap(plan: FairUsePlan, profile: AccountProfile, pool: Pool) -> float | None:
    if pool is Pool.DOMESTIC:
        per_unit, basis = plan.pool_minutes, plan.pool_basis
    else:
        per_unit, basis = plan.toll_free_minutes, plan.toll_free_basis
    units = profile.active_seats if basis is Basis.SEATS else profile.toll_free_numbers
    return per_unit * units if units > 0 else None
