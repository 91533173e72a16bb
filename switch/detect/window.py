"""Bounded sliding-window building blocks shared by the detectors.

Every structure is keyed on event time passed in by the caller and forgets what
falls out of its window, so memory stays bounded however long the switch runs.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
S = TypeVar("S")


class LruStates(Generic[K, S]):
    """Per-key state, least recently touched first; idle keys and the overflow are dropped.

    Touching a key moves it to the back, so idle eviction only looks at the front.
    Idle keys are swept at most every ``idle_ttl / 8`` seconds of event time (the
    key count is capped at every touch), which keeps a touch O(1) and cheap.
    """

    __slots__ = ("_factory", "_next_sweep", "_seen", "_states", "idle_ttl", "max_keys")

    def __init__(self, factory: Callable[[], S], *, idle_ttl: float, max_keys: int) -> None:
        self._factory = factory
        self.idle_ttl = idle_ttl
        self.max_keys = max_keys
        self._states: OrderedDict[K, S] = OrderedDict()
        self._seen: dict[K, float] = {}
        self._next_sweep = -math.inf

    def touch(self, key: K, now: float) -> S:
        """The state of ``key`` (created when missing), marked as used at ``now``."""
        states = self._states
        state = states.get(key)
        if state is None:
            state = states[key] = self._factory()
            if len(states) > self.max_keys:
                self._drop(next(iter(states)))
        else:
            states.move_to_end(key)
        seen = self._seen
        if seen.get(key, now) <= now:
            seen[key] = now
        if now >= self._next_sweep:
            self._sweep(now)
        return state

    def get(self, key: K) -> S | None:
        return self._states.get(key)

    def items(self) -> Iterator[tuple[K, S]]:
        return iter(list(self._states.items()))

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, key: object) -> bool:
        return key in self._states

    def _drop(self, key: K) -> None:
        del self._states[key]
        del self._seen[key]

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.idle_ttl / 8
        states, seen = self._states, self._seen
        while states:
            key = next(iter(states))
            if now - seen[key] <= self.idle_ttl:
                break
            self._drop(key)


class TimeWindow:
    """Times (with a label each) in the last ``span`` seconds; at most ``limit`` kept."""

    __slots__ = ("_items", "span")

    def __init__(self, span: float, limit: int = 10_000) -> None:
        self.span = span
        self._items: deque[tuple[float, str]] = deque(maxlen=limit)

    def add(self, time: float, label: str = "") -> None:
        self._items.append((time, label))

    def count(self, now: float) -> int:
        self.expire(now)
        return len(self._items)

    def expire(self, now: float) -> None:
        items = self._items
        horizon = now - self.span
        while items and items[0][0] <= horizon:
            items.popleft()

    def labels(self) -> list[str]:
        return [label for _, label in self._items]

    def first_time(self, default: float) -> float:
        return self._items[0][0] if self._items else default

    def __len__(self) -> int:
        return len(self._items)


class DistinctWindow:
    """Distinct values seen in the last ``span`` seconds (each with its last sighting)."""

    __slots__ = ("_last", "limit", "span")

    def __init__(self, span: float, limit: int = 1_000) -> None:
        self.span = span
        self.limit = limit
        self._last: OrderedDict[str, float] = OrderedDict()

    def add(self, value: str, now: float) -> bool:
        """Record a sighting; True when the value was not in the window before."""
        last = self._last
        new = last.pop(value, None) is None
        last[value] = now
        if len(last) > self.limit:
            last.popitem(last=False)
        return new

    def count(self, now: float) -> int:
        self.expire(now)
        return len(self._last)

    def expire(self, now: float) -> None:
        last = self._last
        horizon = now - self.span
        while last:
            value, seen = next(iter(last.items()))
            if seen > horizon:
                break
            del last[value]

    def values(self) -> list[str]:
        return list(self._last)


class Concurrency(Generic[K]):
    """Live calls per key; a call never seen to end is dropped after ``max_age`` seconds.

    ``open`` and ``close`` are idempotent so a detector can feed every event
    without checking what it already counted.
    """

    __slots__ = ("_calls", "_next_sweep", "_per_key", "max_age")

    def __init__(self, max_age: float = 6 * 3600.0) -> None:
        self.max_age = max_age
        self._calls: OrderedDict[str, tuple[K, float]] = OrderedDict()  # in opening order
        self._per_key: dict[K, set[str]] = {}
        self._next_sweep = -math.inf

    def open(self, call_id: str, key: K, now: float) -> int:
        """Count the call under ``key``; returns the key's count afterwards."""
        if now >= self._next_sweep:
            self._expire(now)
        members = self._per_key.get(key)
        if call_id not in self._calls:
            self._calls[call_id] = (key, now)
            if members is None:
                members = self._per_key[key] = set()
            members.add(call_id)
        return len(members) if members is not None else 0

    def close(self, call_id: str) -> K | None:
        entry = self._calls.pop(call_id, None)
        if entry is None:
            return None
        key = entry[0]
        members = self._per_key.get(key)
        if members is not None:
            members.discard(call_id)
            if not members:
                del self._per_key[key]
        return key

    def count(self, key: K) -> int:
        return len(self._per_key.get(key, ()))

    def members(self, key: K) -> list[str]:
        return sorted(self._per_key.get(key, ()))

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._calls

    def __len__(self) -> int:
        return len(self._calls)

    def _expire(self, now: float) -> None:
        self._next_sweep = now + self.max_age / 8
        calls = self._calls
        while calls:
            call_id, (_, opened) = next(iter(calls.items()))
            if now - opened <= self.max_age:
                break
            self.close(call_id)


V = TypeVar("V")


class CallIndex(Generic[V]):
    """What a detector remembered about a live call, found again by Call-ID at its end.

    Calls never seen to end (lost events) are forgotten after ``max_age`` seconds.
    """

    __slots__ = ("_calls", "_next_sweep", "max_age")

    def __init__(self, max_age: float = 6 * 3600.0) -> None:
        self.max_age = max_age
        self._calls: OrderedDict[str, tuple[V, float]] = OrderedDict()
        self._next_sweep = -math.inf

    def put(self, call_id: str, value: V, now: float) -> None:
        calls = self._calls
        if now >= self._next_sweep:
            self._next_sweep = now + self.max_age / 8
            while calls:
                first, (_, opened) = next(iter(calls.items()))
                if now - opened <= self.max_age:
                    break
                del calls[first]
        calls[call_id] = (value, now)

    def get(self, call_id: str) -> V | None:
        entry = self._calls.get(call_id)
        return None if entry is None else entry[0]

    def pop(self, call_id: str) -> V | None:
        entry = self._calls.pop(call_id, None)
        return None if entry is None else entry[0]

    def __len__(self) -> int:
        return len(self._calls)
