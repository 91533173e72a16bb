"""Print the detectors' cost per event over a month of labelled synthetic traffic.

The traffic comes from the test suite's generator (honest offices plus every
abuse pattern); generation is timed apart from detection. Target: well under
50 µs per event, so one core keeps up with thousands of calls a second.

Run: python bench/bench_detect.py [honest_accounts] [per_pattern]
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from switch.detect import DetectionEngine
from tests.detect.report import build


def main(argv: list[str]) -> None:
    honest = int(argv[0]) if argv else 100
    per_pattern = int(argv[1]) if len(argv) > 1 else 10
    scenario = build(1, honest=honest, per_pattern=per_pattern)
    began = time.process_time()
    events = list(scenario.events())
    generated = time.process_time() - began
    kinds = Counter(type(e).__name__ for e in events)
    engine = DetectionEngine(profiles=scenario.profiles)
    feed = engine.feed
    began = time.process_time()
    alerts = 0
    for event in events:
        alerts += len(feed(event))
    spent = time.process_time() - began
    print(f"{len(events):,} events ({', '.join(f'{k} {n:,}' for k, n in kinds.most_common())})")
    print(f"generation: {generated / len(events) * 1e6:.1f} µs/event")
    print(
        f"detection:  {spent / len(events) * 1e6:.1f} µs/event, "
        f"{len(events) / spent:,.0f} events/s, {alerts:,} alerts"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
