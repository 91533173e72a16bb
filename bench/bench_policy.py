"""Print microseconds per call of classify + evaluate over a realistic mix of dialled strings.

"warm" repeats a pool of 2,000 destinations (people call the same numbers again),
so phonenumbers answers come from the cache; "cold" dials a new number every
call after clearing the caches, the worst case. Target: under 50 µs per call.

Run: python bench/bench_policy.py [calls]
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

from switch.policy import (
    AccountPermissions,
    AccountStatus,
    CallContext,
    DialPlan,
    ExtensionStatus,
    check_caller_id,
    classify,
    default_lists,
    evaluate,
)
from switch.policy.classify import clear_cache
from switch.policy.numbering import clear_caches

PLAN = DialPlan.build(
    country="US",
    home_area_code="212",
    local_area_codes={"646", "917"},
    outside_line_prefix="9",
    extensions={str(n) for n in range(100, 400)},
)
PERMISSIONS = AccountPermissions(international=True)
CALLER_ID = check_caller_id("+12125550100", owned={"+12125550100"})


def _four(rng: random.Random) -> str:
    return f"{rng.randrange(10_000):04d}"


# (weight, generator) - shares of a business line's outgoing calls, roughly.
MIX: list[tuple[int, Callable[[random.Random], str]]] = [
    (25, lambda r: f"555-{_four(r)}"),
    (10, lambda r: f"9-{r.choice(['646', '917', '212'])}-555-{_four(r)}"),
    (15, lambda r: f"1-{r.choice(['415', '312', '617', '416', '604'])}-555-{_four(r)}"),
    (8, lambda r: f"1-{r.choice(['800', '888', '877', '866'])}-555-{_four(r)}"),
    (20, lambda r: str(r.randrange(100, 400))),
    (6, lambda r: f"011 44 20 7946 {_four(r)}"),
    (3, lambda r: f"+33 1 23 45 {_four(r)[:2]} {_four(r)[2:]}"),
    (2, lambda r: f"+1 876 555 {_four(r)}"),
    (1, lambda r: r.choice(["911", "9-911", "933"])),
    (2, lambda r: r.choice(["411", "711", "311"])),
    (4, lambda r: r.choice(["*72", "*73", "*67", "*69"])),
    (1, lambda r: f"+53 7 123 {_four(r)}"),
    (3, lambda r: r.choice(["12345", "hello", "555-12", "+44 20"])),
]


def _mix(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    weights = [weight for weight, _ in MIX]
    makers = rng.choices([maker for _, maker in MIX], weights=weights, k=count)
    return [make(rng) for make in makers]


def _run(dialled: list[str]) -> float:
    """Mean microseconds of CPU time per classify + evaluate.

    CPU time rather than wall time, so that other processes on a shared machine
    do not inflate the figure.
    """
    start = time.process_time_ns()
    for text in dialled:
        dest = classify(text, PLAN)
        evaluate(
            CallContext(
                dest, AccountStatus.ACTIVE, PERMISSIONS, ExtensionStatus.ACTIVE, None, CALLER_ID
            )
        )
    return (time.process_time_ns() - start) / len(dialled) / 1000


def _cold(calls: int, seed: int) -> float:
    cold = _mix(calls, seed)
    clear_caches()
    clear_cache()
    return _run(cold)


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rounds = 5
    default_lists()  # loaded once at start-up, as the switch does
    pool = _mix(2_000, seed=1)
    warm = [pool[i % len(pool)] for i in range(calls)]
    _run(pool)  # fill the caches
    warm_times = sorted(_run(warm) for _ in range(rounds))
    cold_calls = min(calls, 20_000)
    cold_times = sorted(_cold(cold_calls, seed) for seed in range(2, 2 + rounds))
    for name, times, count in (
        ("warm (pool of 2,000 destinations)", warm_times, calls),
        ("cold (a new number every call)", cold_times, cold_calls),
    ):
        print(
            f"{name:34} {count:>8,} calls x {rounds}: median {times[rounds // 2]:6.2f} µs,"
            f" best {times[0]:6.2f} µs per call"
        )


if __name__ == "__main__":
    main()
