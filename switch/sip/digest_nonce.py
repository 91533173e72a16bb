"""Stateless Digest nonces and the nonce-count replay table.

A nonce is base64url(issued_ms[8] | salt[8] | mac[16]) where mac is a truncated
HMAC-SHA256 over the realm and the first 16 bytes. Any worker holding the same
secret can check one without shared state; the random salt keeps nonces issued
in the same millisecond apart, so their nonce-counts never collide.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

_MAC_LABEL = b"sip-digest-nonce\x00"
_TS_BYTES = 8
_SALT_BYTES = 8
_MAC_BYTES = 16
_PAYLOAD_BYTES = _TS_BYTES + _SALT_BYTES
_NONCE_CHARS = 43  # base64url of 32 bytes without padding
_NONCE_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
_MIN_SECRET_BYTES = 16


class WeakSecretError(ValueError):
    """The nonce secret is shorter than 16 bytes."""


class NonceState(Enum):
    FRESH = "fresh"
    STALE = "stale"  # authentic but past its lifetime
    INVALID = "invalid"  # garbled, forged, other realm or far in the future


@dataclass(frozen=True, slots=True)
class NonceCheck:
    state: NonceState
    issued_at: float = 0.0


class NonceIssuer:
    """Issues and checks nonces bound to one realm.

    ``previous_secrets`` keeps nonces made before a key rotation valid until
    they expire. ``max_skew`` tolerates workers whose clocks run slightly ahead.
    """

    __slots__ = ("_lifetime", "_macs", "_max_skew", "_token_bytes", "realm")

    def __init__(
        self,
        secret: bytes,
        realm: str,
        *,
        lifetime: float = 300.0,
        max_skew: float = 30.0,
        previous_secrets: Sequence[bytes] = (),
        token_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        keys = (secret, *previous_secrets)
        if any(len(key) < _MIN_SECRET_BYTES for key in keys):
            raise WeakSecretError(f"nonce secrets need at least {_MIN_SECRET_BYTES} bytes")
        if lifetime <= 0 or max_skew < 0:
            raise ValueError("lifetime must be positive and max_skew non-negative")
        self.realm = realm
        # HMAC states primed with the label and realm; each nonce copies one.
        prefix = _MAC_LABEL + realm.encode("utf-8", "surrogatepass") + b"\x00"
        self._macs = tuple(hmac.new(key, prefix, hashlib.sha256) for key in keys)
        self._lifetime = lifetime
        self._max_skew = max_skew
        self._token_bytes = token_bytes

    def __repr__(self) -> str:
        return f"NonceIssuer(realm={self.realm!r}, lifetime={self._lifetime})"

    @property
    def lifetime(self) -> float:
        return self._lifetime

    def issue(self, now: float) -> str:
        """A fresh nonce stamped with ``now`` (seconds, any epoch shared by workers)."""
        issued_ms = int(now * 1000)
        if not 0 <= issued_ms < 1 << (8 * _TS_BYTES):
            raise ValueError("now is outside the nonce timestamp range")
        payload = issued_ms.to_bytes(_TS_BYTES, "big") + self._token_bytes(_SALT_BYTES)
        raw = payload + _mac(self._macs[0], payload)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def check(self, nonce: str, now: float) -> NonceCheck:
        """Authenticate ``nonce`` and classify its age at ``now``."""
        if len(nonce) != _NONCE_CHARS or not _NONCE_SHAPE.fullmatch(nonce):
            return NonceCheck(NonceState.INVALID)
        raw = base64.urlsafe_b64decode(nonce + "=")
        # Two spellings differing in the unused low bits decode alike; only the
        # canonical one is ours, so the replay table cannot be sidestepped.
        if base64.urlsafe_b64encode(raw)[:_NONCE_CHARS] != nonce.encode("ascii"):
            return NonceCheck(NonceState.INVALID)
        payload, mac = raw[:_PAYLOAD_BYTES], raw[_PAYLOAD_BYTES:]
        if not any(hmac.compare_digest(mac, _mac(primed, payload)) for primed in self._macs):
            return NonceCheck(NonceState.INVALID)
        issued_at = int.from_bytes(payload[:_TS_BYTES], "big") / 1000
        age = now - issued_at
        if age < -self._max_skew:
            return NonceCheck(NonceState.INVALID, issued_at)
        if age > self._lifetime:
            return NonceCheck(NonceState.STALE, issued_at)
        return NonceCheck(NonceState.FRESH, issued_at)


def _mac(primed: hmac.HMAC, payload: bytes) -> bytes:
    state = primed.copy()
    state.update(payload)
    return state.digest()[:_MAC_BYTES]


class CountVerdict(Enum):
    ACCEPTED = "accepted"
    REPLAY = "replay"
    FORGOTTEN = "forgotten"  # possibly evicted: refuse, the client re-challenges


class NonceCounter:
    """Highest nonce-count accepted per nonce, in a bounded LRU table.

    Evicting a nonce would let its old requests be replayed, so the table
    remembers the newest issue time it ever evicted and refuses unknown nonces
    issued no later than that. Under normal load entries expire long before
    eviction and this floor never touches a live nonce.
    """

    __slots__ = ("_capacity", "_evicted_up_to", "_seen")

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._seen: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._evicted_up_to = float("-inf")

    def __len__(self) -> int:
        return len(self._seen)

    def advance(self, nonce: str, issued_at: float, nc: int) -> CountVerdict:
        """Record ``nc`` for ``nonce`` if it is above every count seen before."""
        entry = self._seen.get(nonce)
        if entry is None:
            if issued_at <= self._evicted_up_to:
                return CountVerdict.FORGOTTEN
            last = 0
        else:
            last = entry[0]
            self._seen.move_to_end(nonce)
        if nc <= last:
            return CountVerdict.REPLAY
        self._seen[nonce] = (nc, issued_at)
        if len(self._seen) > self._capacity:
            _, (_, evicted_at) = self._seen.popitem(last=False)
            self._evicted_up_to = max(self._evicted_up_to, evicted_at)
        return CountVerdict.ACCEPTED
