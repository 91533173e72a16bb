"""Precision and recall of the detectors on labelled synthetic traffic.

Run ``python -m tests.detect.report [seed ...]`` to print the table for seeds.
An account (or attacking source) counts as flagged by a detector when it got
at least one critical alert from it; a pattern is caught when the detector
expected for it flagged the account.
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

from switch.detect import (
    Alert,
    AuthFailure,
    BanList,
    DetectionEngine,
    DetectorKind,
    Level,
    PlanUsage,
    SubjectKind,
    above_typical,
    billing_period,
)
from switch.detect.fairuse import Pool
from tests.detect.abuse import (
    BlastOffice,
    DialerOffice,
    FairUseOffice,
    TollFraudOffice,
    TrunkedOffice,
    WangiriOffice,
    brute_force,
)
from tests.detect.offices import Office
from tests.detect.synthetic import EXPECTED, START, Pattern, Scenario, Tenant

HONEST_SIZES = ((1, 0.55), (5, 0.33), (20, 0.11), (100, 0.01))


def build(seed: int, *, honest: int = 200, per_pattern: int = 20, days: int = 30) -> Scenario:
    """Honest offices in the size mix above plus ``per_pattern`` of each abuse pattern."""
    master = random.Random(seed)
    scenario = Scenario(days)
    account = 0

    def rng() -> random.Random:
        return random.Random(master.getrandbits(64))

    def next_id() -> int:
        nonlocal account
        account += 1
        return account

    for size, share in HONEST_SIZES:
        for _ in range(round(honest * share)):
            scenario.add_office(Office(next_id(), size, rng(), Pattern.HONEST))
    for _ in range(per_pattern):
        r = rng()
        scenario.add_office(DialerOffice(next_id(), r.choice((1, 5)), r, days))
        r = rng()
        scenario.add_office(TrunkedOffice(next_id(), 1, r))
        r = rng()
        scenario.add_office(TollFraudOffice(next_id(), r.choice((1, 5)), r, days))
        r = rng()
        scenario.add_office(WangiriOffice(next_id(), r.choice((1, 5)), r, days))
        r = rng()
        scenario.add_office(BlastOffice(next_id(), r.choice((1, 5)), r, days))
        r = rng()
        scenario.add_office(FairUseOffice(next_id(), r.choice((1, 2, 3)), r))
        tenant, stream = brute_force(100_000 + next_id(), rng(), days)
        scenario.tenants.append(tenant)
        scenario.streams.append(stream)
    return scenario


@dataclass(slots=True)
class Result:
    seed: int
    tenants: list[Tenant]
    critical: dict[int, set[DetectorKind]] = field(default_factory=dict)
    warned: dict[int, set[DetectorKind]] = field(default_factory=dict)
    banned: set[int] = field(default_factory=set)
    minutes: dict[int, float] = field(default_factory=dict)  # pooled minutes this month
    unattributed: int = 0
    alerts: int = 0
    events: int = 0
    seconds: float = 0.0

    def recall(self, pattern: Pattern) -> float:
        members = [t for t in self.tenants if t.pattern is pattern]
        caught = [t for t in members if EXPECTED[pattern] in self.critical.get(t.id, set())]
        return len(caught) / len(members) if members else 1.0

    def honest_flagged(self) -> float:
        honest = [t for t in self.tenants if t.pattern is Pattern.HONEST]
        flagged = [t for t in honest if self.critical.get(t.id)]
        return len(flagged) / len(honest) if honest else 0.0

    def honest_banned(self) -> int:
        honest = {t.id for t in self.tenants if t.pattern is Pattern.HONEST}
        return len(self.banned & honest)


def run(seed: int, **sizes: int) -> Result:
    began = time.perf_counter()
    scenario = build(seed, **sizes)
    engine = DetectionEngine(profiles=scenario.profiles)
    bans = BanList()
    owner = scenario.owner_of_source()
    accounts = {t.id: t for t in scenario.tenants}
    result = Result(seed, scenario.tenants)

    def valid(host: str, username: str) -> bool:
        return username in scenario.registered.get(host, ())

    def attribute(alert: Alert) -> Tenant | None:
        if alert.account_id is not None:
            return accounts.get(alert.account_id)
        if alert.subject.kind is SubjectKind.SOURCE:
            return owner.get(alert.subject.id)
        return None

    for event in scenario.events():
        result.events += 1
        if isinstance(event, AuthFailure):
            ban = bans.record_failure(
                event.source_address, event.username, event.time, has_valid_registration=valid
            )
            if ban is not None and ban.source in owner:
                result.banned.add(owner[ban.source].id)
        for alert in engine.feed(event):
            result.alerts += 1
            tenant = attribute(alert)
            if tenant is None:
                result.unattributed += 1
                continue
            book = result.critical if alert.level is Level.CRITICAL else result.warned
            book.setdefault(tenant.id, set()).add(alert.detector)
    period_start, _ = billing_period(START)
    for account, usage in engine.fair_use.usage_by_account(period_start).items():
        result.minutes[account] = usage.minutes(Pool.DOMESTIC)
    result.seconds = time.perf_counter() - began
    return result


def typical_flags(
    result: Result, factor: float = 1.5, accounts: set[int] | None = None
) -> dict[Pattern, int]:
    """Accounts above 1.5x the 95th percentile of minutes per seat (FAIR-01), by pattern,
    among ``accounts`` (all accounts when None)."""
    seats = {t.id: t for t in result.tenants if t.seats and (accounts is None or t.id in accounts)}
    usages = [
        PlanUsage(tid, "default", result.minutes.get(tid, 0.0), tenant.seats)
        for tid, tenant in seats.items()
    ]
    flagged: dict[Pattern, int] = defaultdict(int)
    for flag in above_typical(usages, factor=factor):
        flagged[seats[flag.account_id].pattern] += 1
    return dict(flagged)


def table(result: Result) -> str:
    """Recall per pattern, then per detector: accounts flagged and how many were right."""
    tenants = result.tenants
    lines = [
        f"seed {result.seed}: {len(tenants)} tenants, {result.events:,} events, "
        f"{result.alerts:,} alerts ({result.unattributed} about no tenant), "
        f"{result.seconds:.1f} s",
        "above 1.5x the plan's 95th percentile of minutes per seat (all accounts): "
        + (", ".join(f"{p.value} {n}" for p, n in typical_flags(result).items()) or "none"),
        f"{'pattern':<24}{'n':>5}{'caught':>8}{'recall':>8}  expected detector",
    ]
    for pattern in Pattern:
        members = [t for t in tenants if t.pattern is pattern]
        if pattern is Pattern.HONEST:
            flagged = sum(1 for t in members if result.critical.get(t.id))
            lines.append(
                f"{pattern.value:<24}{len(members):>5}{flagged:>8}{'':>8}  "
                f"flagged critical: {result.honest_flagged():.1%}; warned: "
                f"{sum(1 for t in members if result.warned.get(t.id))}; banned: "
                f"{result.honest_banned()}"
            )
            continue
        caught = round(result.recall(pattern) * len(members))
        lines.append(
            f"{pattern.value:<24}{len(members):>5}{caught:>8}{result.recall(pattern):>8.2f}  "
            f"{EXPECTED[pattern].value}"
        )
    lines.append(
        f"{'detector':<14}{'flagged':>8}{'right':>7}{'other':>7}{'honest':>8}"
        f"{'precision':>11}{'vs honest':>11}"
    )
    by_pattern = {t.id: t.pattern for t in tenants}
    for detector in DetectorKind:
        hits = [tid for tid, kinds in result.critical.items() if detector in kinds]
        right = sum(1 for tid in hits if _expected(by_pattern[tid], detector))
        honest = sum(1 for tid in hits if by_pattern[tid] is Pattern.HONEST)
        other = len(hits) - right - honest
        precision = f"{right / len(hits):.2f}" if hits else "-"
        clean = f"{1 - honest / len(hits):.2f}" if hits else "-"
        lines.append(
            f"{detector.value:<14}{len(hits):>8}{right:>7}{other:>7}{honest:>8}"
            f"{precision:>11}{clean:>11}"
        )
    return "\n".join(lines)


def _expected(pattern: Pattern, detector: DetectorKind) -> bool:
    if detector in (DetectorKind.SCANNER, DetectorKind.RATE_LIMIT):
        return pattern is Pattern.BRUTE_FORCE
    return EXPECTED.get(pattern) is detector


def matrix(result: Result) -> str:
    """Accounts of each pattern flagged critical by each detector (cross-detections)."""
    kinds = list(DetectorKind)
    counts: dict[Pattern, dict[DetectorKind, int]] = defaultdict(lambda: defaultdict(int))
    for tenant in result.tenants:
        for kind in result.critical.get(tenant.id, ()):
            counts[tenant.pattern][kind] += 1
    head = f"{'':<24}" + "".join(f"{k.value[:10]:>11}" for k in kinds)
    rows = [f"{p.value:<24}" + "".join(f"{counts[p][k]:>11}" for k in kinds) for p in Pattern]
    return "\n".join([head, *rows])


def main(argv: list[str]) -> None:
    seeds = [int(arg) for arg in argv] or [1]
    for seed in seeds:
        result = run(seed)
        print(table(result))
        print(matrix(result))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
