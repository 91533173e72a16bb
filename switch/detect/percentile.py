"""Typical usage: the 95th percentile of minutes per seat among accounts on one plan (FAIR-01).

The providers define typical as the calling pattern of at least 95% of
customers on the same plan; an account far above that percentile is flagged
alongside the fixed allowances.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from switch.detect.alerts import Alert, DetectorKind, Level, Subject, SubjectKind
from switch.detect.errors import ThresholdError


@dataclass(frozen=True, slots=True)
class PlanUsage:
    account_id: int
    plan: str
    minutes: float
    seats: int

    @property
    def per_seat(self) -> float:
        return self.minutes / max(1, self.seats)


@dataclass(frozen=True, slots=True)
class PercentileFlag:
    account_id: int
    plan: str
    minutes_per_seat: float
    plan_percentile: float
    ratio: float  # minutes per seat / the plan's percentile


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation between order statistics."""
    if not values:
        raise ThresholdError("percentile of no values")
    if not 0 <= q <= 1:
        raise ThresholdError("quantile must lie in [0, 1]")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def above_typical(
    usages: Iterable[PlanUsage],
    *,
    q: float = 0.95,
    factor: float = 1.5,
    min_accounts: int = 20,
) -> list[PercentileFlag]:
    """Accounts whose minutes per seat exceed ``factor`` times their plan's q-percentile.

    Plans with fewer than ``min_accounts`` accounts are skipped: a percentile of a
    handful of customers says nothing about what is typical.
    """
    if factor < 1:
        raise ThresholdError("a factor below 1 would flag typical accounts")
    by_plan: dict[str, list[PlanUsage]] = defaultdict(list)
    for usage in usages:
        by_plan[usage.plan].append(usage)
    flags: list[PercentileFlag] = []
    for plan, members in sorted(by_plan.items()):
        if len(members) < min_accounts:
            continue
        typical = percentile([m.per_seat for m in members], q)
        if typical <= 0:
            continue
        for m in members:
            if m.per_seat > factor * typical:
                ratio = round(m.per_seat / typical, 2)
                flags.append(PercentileFlag(m.account_id, plan, m.per_seat, typical, ratio))
    return sorted(flags, key=lambda f: (-f.ratio, f.account_id))


def percentile_alerts(
    flags: Iterable[PercentileFlag], period_start: float, period_end: float
) -> list[Alert]:
    """Warnings for the operator: above typical is a reason to look, not to act."""
    return [
        Alert(
            DetectorKind.FAIR_USE,
            Level.WARNING,
            Subject(SubjectKind.ACCOUNT, str(f.account_id)),
            period_start,
            period_end,
            {
                "minutes_per_seat": round(f.minutes_per_seat, 1),
                "plan_percentile": round(f.plan_percentile, 1),
                "ratio": f.ratio,
            },
            (),
            f"{f.minutes_per_seat:.0f} min per seat, {f.ratio:.1f}x the plan's typical "
            f"{f.plan_percentile:.0f}",
            f.account_id,
        )
        for f in flags
    ]
