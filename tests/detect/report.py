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
from collections.abc import Callable
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


def build(
    seed: int,
    *,
    honest: int = 200,
    per_pattern: int = 20,
    days: int = 30,
    shard: tuple[int, int] = (0, 1),
) -> Scenario:
    """Honest offices in the size mix above plus ``per_pattern`` of each abuse pattern.

    ``shard=(i, n)`` keeps every n-th tenant from the i-th: the tenants are drawn
    exactly as in the whole scenario, so shards can run in parallel (see ``merge``).
    """
    master = random.Random(seed)
    scenario = Scenario(days)
    account = 0

    def rng() -> random.Random:
        return random.Random(master.getrandbits(64))

    def next_id() -> int:
        nonlocal account
        account += 1
        return account

    def mine() -> bool:
        return (account - 1) % shard[1] == shard[0]

    for size, count in _honest_counts(honest):
        for _ in range(count):
            office = Office(next_id(), size, rng(), Pattern.HONEST)
            if mine():
                scenario.add_office(office)
    for _ in range(per_pattern):
        for make in _ABUSIVE_OFFICES:
            r = rng()
            office = make(next_id(), r, days)
            if mine():
                scenario.add_office(office)
        tenant, stream = brute_force(100_000 + next_id(), rng(), days)
        if mine():
            scenario.tenants.append(tenant)
            scenario.streams.append(stream)
    return scenario


def _honest_counts(honest: int) -> list[tuple[int, int]]:
    """Offices per size in the mix, rounded so that they add up (largest remainders)."""
    exact = [(size, honest * share) for size, share in HONEST_SIZES]
    counts = {size: int(value) for size, value in exact}
    by_remainder = sorted(exact, key=lambda item: item[1] - int(item[1]), reverse=True)
    for size, _ in by_remainder[: honest - sum(counts.values())]:
        counts[size] += 1
    return list(counts.items())


# One of each abusive office: (account id, its random source, days) -> office.
_ABUSIVE_OFFICES: tuple[Callable[[int, random.Random, int], Office], ...] = (
    lambda n, r, days: DialerOffice(n, r.choice((1, 5)), r, days),
    lambda n, r, _days: TrunkedOffice(n, 1, r),
    lambda n, r, days: TollFraudOffice(n, r.choice((1, 5)), r, days),
    lambda n, r, days: WangiriOffice(n, r.choice((1, 5)), r, days),
    lambda n, r, days: BlastOffice(n, r.choice((1, 5)), r, days),
    lambda n, r, _days: FairUseOffice(n, r.choice((1, 2, 3)), r),
)


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


def run(
    seed: int,
    *,
    honest: int = 200,
    per_pattern: int = 20,
    days: int = 30,
    shard: tuple[int, int] = (0, 1),
) -> Result:
    """Feed one engine (and a ban list) the merged month of a scenario or of a shard."""
    began = time.perf_counter()
    scenario = build(seed, honest=honest, per_pattern=per_pattern, days=days, shard=shard)
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


def merge(parts: list[Result]) -> Result:
    """One result from shards of the same scenario.

    Detectors keep state per account, extension, device, DID or source, and no
    two tenants share any of those, so shards see exactly what one engine over
    the whole stream sees (``test_sharding_changes_nothing`` checks it). The one
    shared key is a user name tried by several attackers; such alerts name no
    tenant and are only counted.
    """
    whole = Result(parts[0].seed, [])
    for part in parts:
        whole.tenants += part.tenants
        whole.critical |= part.critical
        whole.warned |= part.warned
        whole.banned |= part.banned
        whole.minutes |= part.minutes
        whole.unattributed += part.unattributed
        whole.alerts += part.alerts
        whole.events += part.events
        whole.seconds += part.seconds
    whole.tenants.sort(key=lambda t: t.id)
    return whole


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
