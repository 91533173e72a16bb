"""Per-source request rate limiting in the manner of Kamailio's pike module.

A host that sends more than ``requests`` requests within ``interval`` seconds is
limited for ``block_seconds``: the switch drops (or answers 503 to) its requests
until then. Trusted hosts, such as the carrier's trunk, are exempt.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from switch.detect.alerts import Alert, AlertGate, DetectorKind, Level, Subject, SubjectKind
from switch.detect.base import BaseDetector, Handler
from switch.detect.errors import ThresholdError
from switch.detect.events import RequestSeen, source_host
from switch.detect.window import LruStates, TimeWindow


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """Defaults: more than 40 requests in 2 s limits a host for 60 s; limited 3 times
    within an hour is critical (for the detector)."""

    requests: int = 40
    interval: float = 2.0
    block_seconds: float = 60.0
    repeat_window: float = 3600.0
    repeat_critical: int = 3
    exempt: frozenset[str] = frozenset()
    cooldown: float = 3600.0
    max_sources: int = 200_000

    def __post_init__(self) -> None:
        if self.requests < 1 or self.interval <= 0 or self.block_seconds <= 0:
            raise ThresholdError("rate policy needs requests >= 1 and positive durations")


class RateVerdict(StrEnum):
    ALLOW = "allow"
    LIMITED = "limited"  # this request tipped the host over the limit
    STILL_LIMITED = "still_limited"


class _Host:
    __slots__ = ("episodes", "hits", "until")

    def __init__(self, p: RatePolicy) -> None:
        self.hits: deque[float] = deque(maxlen=p.requests + 1)
        self.until = 0.0
        self.episodes = TimeWindow(p.repeat_window, limit=100)


class RateLimiter:
    __slots__ = ("_hosts", "policy")

    def __init__(self, policy: RatePolicy | None = None) -> None:
        p = self.policy = policy or RatePolicy()
        self._hosts: LruStates[str, _Host] = LruStates(
            lambda: _Host(p),
            idle_ttl=max(p.interval, p.block_seconds, p.repeat_window),
            max_keys=p.max_sources,
        )

    def hit(self, source: str, now: float) -> RateVerdict:
        """Count one request from ``source`` and say whether to serve it."""
        host = source_host(source)
        p = self.policy
        if host in p.exempt:
            return RateVerdict.ALLOW
        state = self._hosts.touch(host, now)
        if now < state.until:
            return RateVerdict.STILL_LIMITED
        hits = state.hits
        hits.append(now)
        if len(hits) > p.requests and now - hits[0] < p.interval:
            state.until = now + p.block_seconds
            state.episodes.add(now)
            hits.clear()
            return RateVerdict.LIMITED
        return RateVerdict.ALLOW

    def is_limited(self, source: str, now: float) -> bool:
        state = self._hosts.get(source_host(source))
        return state is not None and now < state.until

    def retry_after(self, source: str, now: float) -> int:
        """Whole seconds until the host is served again (0 when it is not limited)."""
        state = self._hosts.get(source_host(source))
        if state is None or now >= state.until:
            return 0
        return max(1, int(-(-(state.until - now) // 1)))

    def episodes(self, source: str, now: float) -> int:
        state = self._hosts.get(source_host(source))
        return 0 if state is None else state.episodes.count(now)


class RateLimitDetector(BaseDetector):
    """Turns a host going over the rate into an alert (critical when it keeps coming back)."""

    kind = DetectorKind.RATE_LIMIT

    def __init__(self, policy: RatePolicy | None = None) -> None:
        self.limiter = RateLimiter(policy)
        self.gate = AlertGate(self.limiter.policy.cooldown)

    def handlers(self) -> Mapping[type, Handler]:
        return {RequestSeen: self._request}

    def _request(self, event: RequestSeen) -> list[Alert]:
        if self.limiter.hit(event.source_address, event.time) is not RateVerdict.LIMITED:
            return []
        p = self.limiter.policy
        host = source_host(event.source_address)
        episodes = self.limiter.episodes(host, event.time)
        level = Level.CRITICAL if episodes >= p.repeat_critical else Level.WARNING
        text = (
            f"{host} sent more than {p.requests} requests in {p.interval:g} s; limited for "
            f"{p.block_seconds:g} s ({episodes} time(s) in the last hour)"
        )
        figures = {"requests": float(p.requests + 1), "episodes_last_hour": float(episodes)}
        subject = Subject(SubjectKind.SOURCE, host)
        alert = Alert(
            self.kind, level, subject, event.time - p.interval, event.time, figures, (), text
        )
        return self.gate.filter([alert])
