"""All detectors behind one ``feed``: the switch's live hook and the CDR replay path."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from switch.cdr.record import CallRecord
from switch.detect.alerts import Alert
from switch.detect.autodial import AutodialDetector, AutodialThresholds
from switch.detect.base import BaseDetector, Handler
from switch.detect.blasting import BlastingDetector, BlastingThresholds
from switch.detect.events import (
    CallAnswered,
    CallAttempt,
    CallEnded,
    Event,
    SeatKind,
    events_from_record,
)
from switch.detect.fairuse import FairUseDetector, FairUseThresholds
from switch.detect.profile import Profiles
from switch.detect.ratelimit import RateLimitDetector, RatePolicy
from switch.detect.security import (
    BruteForceDetector,
    BruteForceThresholds,
    ScannerDetector,
    ScannerThresholds,
)
from switch.detect.tollfraud import TollFraudDetector, TollFraudThresholds
from switch.detect.trunking import TrunkingDetector, TrunkingThresholds
from switch.detect.wangiri import WangiriDetector, WangiriThresholds


@dataclass(frozen=True, slots=True)
class DetectConfig:
    """Thresholds of every detector; the defaults are documented on each class."""

    autodial: AutodialThresholds = field(default_factory=AutodialThresholds)
    trunking: TrunkingThresholds = field(default_factory=TrunkingThresholds)
    toll_fraud: TollFraudThresholds = field(default_factory=TollFraudThresholds)
    wangiri: WangiriThresholds = field(default_factory=WangiriThresholds)
    blasting: BlastingThresholds = field(default_factory=BlastingThresholds)
    brute_force: BruteForceThresholds = field(default_factory=BruteForceThresholds)
    scanner: ScannerThresholds = field(default_factory=ScannerThresholds)
    rate_limit: RatePolicy = field(default_factory=RatePolicy)
    fair_use: FairUseThresholds = field(default_factory=FairUseThresholds)


class DetectionEngine:
    """Routes each event to the detectors that read its type, in a fixed order."""

    def __init__(self, config: DetectConfig | None = None, profiles: Profiles | None = None):
        c = self.config = config or DetectConfig()
        self.profiles = profiles or Profiles()
        p = self.profiles
        self.autodial = AutodialDetector(c.autodial, p)
        self.trunking = TrunkingDetector(c.trunking, p)
        self.toll_fraud = TollFraudDetector(c.toll_fraud, p)
        self.wangiri = WangiriDetector(c.wangiri)
        self.blasting = BlastingDetector(c.blasting)
        self.brute_force = BruteForceDetector(c.brute_force)
        self.scanner = ScannerDetector(c.scanner)
        self.rate_limit = RateLimitDetector(c.rate_limit)
        self.fair_use = FairUseDetector(c.fair_use, p)
        self.detectors: tuple[BaseDetector, ...] = (
            self.autodial,
            self.trunking,
            self.toll_fraud,
            self.wangiri,
            self.blasting,
            self.fair_use,
            self.brute_force,
            self.scanner,
            self.rate_limit,
        )
        routes: dict[type, list[Handler]] = {}
        for detector in self.detectors:
            for kind, handler in detector.handlers().items():
                routes.setdefault(kind, []).append(handler)
        self._routes = {kind: tuple(handlers) for kind, handlers in routes.items()}

    def feed(self, event: Event) -> list[Alert]:
        alerts: list[Alert] = []
        for handler in self._routes.get(type(event), ()):
            found = handler(event)
            if found:
                alerts += found
        return alerts

    def feed_all(self, events: Iterable[Event]) -> list[Alert]:
        alerts: list[Alert] = []
        for event in events:
            found = self.feed(event)
            if found:
                alerts += found
        return alerts

    def replay(
        self,
        records: Iterable[CallRecord],
        *,
        start: float | None = None,
        end: float | None = None,
        seat_kind: SeatKind = SeatKind.SINGLE_USER,
    ) -> list[Alert]:
        """Run exported call records through the detectors in time order.

        Records starting outside [start, end) are skipped.
        """
        kept = (
            r
            for r in records
            if (start is None or r.start_time.timestamp() >= start)
            and (end is None or r.start_time.timestamp() < end)
        )
        return self.feed_all(record_events(kept, seat_kind=seat_kind))


# Attempt before answer before end when times tie.
_ORDER = {CallAttempt: 0, CallAnswered: 1, CallEnded: 2}


def record_events(
    records: Iterable[CallRecord], *, seat_kind: SeatKind = SeatKind.SINGLE_USER
) -> Iterator[Event]:
    """The events of many records merged into one time-ordered stream."""
    heap: list[tuple[float, int, int, Event]] = []
    serial = 0
    for record in records:
        for event in events_from_record(record, seat_kind=seat_kind):
            heap.append((event.time, _ORDER[type(event)], serial, event))
            serial += 1
    heapq.heapify(heap)
    while heap:
        yield heapq.heappop(heap)[3]
