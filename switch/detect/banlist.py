"""Temporary bans of source addresses after repeated authentication failures.

A banned source gets no answer at all. A source is never banned for failures on
a user name it currently holds a valid registration for (a phone behind the same
NAT as an attacker, or a second device with a stale password, must keep working),
which the caller answers through ``has_valid_registration(host, username)``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from switch.detect.errors import ThresholdError
from switch.detect.events import source_host
from switch.detect.window import LruStates

RegistrationCheck = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class BanPolicy:
    """Defaults: 20 failures from one host within 60 s ban it for an hour."""

    failures: int = 20
    window: float = 60.0
    ban_seconds: float = 3600.0
    max_sources: int = 100_000

    def __post_init__(self) -> None:
        if self.failures < 1 or self.window <= 0 or self.ban_seconds <= 0:
            raise ThresholdError("ban policy needs failures >= 1 and positive durations")


@dataclass(frozen=True, slots=True)
class Ban:
    source: str  # host
    since: float
    until: float | None  # None: until lifted by hand
    reason: str
    failures: int = 0
    usernames: tuple[str, ...] = ()

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until


class BanList:
    """Failure counting and bans per source host; all times are passed in."""

    __slots__ = ("_bans", "_failures", "policy")

    def __init__(self, policy: BanPolicy | None = None) -> None:
        self.policy = policy or BanPolicy()
        p = self.policy
        self._failures: LruStates[str, deque[tuple[float, str]]] = LruStates(
            lambda: deque(maxlen=4 * p.failures), idle_ttl=p.window, max_keys=p.max_sources
        )
        self._bans: dict[str, Ban] = {}

    def record_failure(
        self,
        source: str,
        username: str | None,
        now: float,
        *,
        has_valid_registration: RegistrationCheck,
    ) -> Ban | None:
        """Count one failed authentication; returns the ban it caused, if any."""
        host = source_host(source)
        if self.is_banned(host, now):
            return None
        name = username or ""
        if name and has_valid_registration(host, name):
            return None
        window = self._failures.touch(host, now)
        window.append((now, name))
        horizon = now - self.policy.window
        while window and window[0][0] <= horizon:
            window.popleft()
        if len(window) < self.policy.failures:
            return None
        # Registrations may have become valid since the failures were counted.
        protected = {n for n in {n for _, n in window} if n and has_valid_registration(host, n)}
        kept = [(t, n) for t, n in window if n not in protected]
        window.clear()
        window.extend(kept)
        if len(kept) < self.policy.failures:
            return None
        names = tuple(sorted({n for _, n in kept if n}))[:50]
        reason = f"{len(kept)} failed authentications in {self.policy.window:g} s"
        ban = Ban(host, now, now + self.policy.ban_seconds, reason, len(kept), names)
        self._bans[host] = ban
        window.clear()
        return ban

    def ban(self, source: str, now: float, *, seconds: float | None, reason: str) -> Ban:
        """Ban by hand; ``seconds`` None lasts until ``unban``."""
        host = source_host(source)
        ban = Ban(host, now, None if seconds is None else now + seconds, reason)
        self._bans[host] = ban
        return ban

    def unban(self, source: str) -> Ban | None:
        """Lift a ban; returns it, or None when the source was not banned."""
        host = source_host(source)
        window = self._failures.get(host)
        if window is not None:
            window.clear()  # failures from before the ban do not count against it again
        return self._bans.pop(host, None)

    def is_banned(self, source: str, now: float) -> bool:
        host = source_host(source)
        ban = self._bans.get(host)
        if ban is None:
            return False
        if ban.active(now):
            return True
        del self._bans[host]
        return False

    def expire(self, now: float) -> list[Ban]:
        """Drop bans that ran out; returns them (for the audit trail)."""
        ended = [ban for ban in self._bans.values() if not ban.active(now)]
        for ban in ended:
            del self._bans[ban.source]
        return ended

    def active(self, now: float) -> list[Ban]:
        return sorted(
            (ban for ban in self._bans.values() if ban.active(now)), key=lambda b: b.since
        )
