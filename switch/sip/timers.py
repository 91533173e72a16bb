"""Transaction timer names and durations (RFC 3261 §17 and Table 4, RFC 6026 §8).

Timers are plain data: a transaction says which timer to start and when it is
due; whoever owns the event loop fires it later by calling back with ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TimerName(StrEnum):
    """Every timer a transaction may run, named as in RFC 3261 Table 4."""

    A = "A"  # INVITE client: request retransmission (unreliable transports)
    B = "B"  # INVITE client: transaction timeout
    D = "D"  # INVITE client: wait for final response retransmissions
    E = "E"  # non-INVITE client: request retransmission (unreliable transports)
    F = "F"  # non-INVITE client: transaction timeout
    K = "K"  # non-INVITE client: wait for response retransmissions
    G = "G"  # INVITE server: final response retransmission (unreliable transports)
    H = "H"  # INVITE server: wait for ACK
    I = "I"  # INVITE server: wait for ACK retransmissions  # noqa: E741
    J = "J"  # non-INVITE server: wait for request retransmissions
    L = "L"  # INVITE server, RFC 6026 Accepted: wait for INVITE retransmissions
    M = "M"  # INVITE client, RFC 6026 Accepted: wait for 2xx retransmissions
    TRYING = "Trying"  # INVITE server: send 100 Trying if the TU stays silent (§17.2.1)


class TimerConfigError(ValueError):
    """A timer setting is not usable (non-positive, or T2 below T1)."""


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """Base timer values in seconds; every timer duration is derived from them."""

    t1: float = 0.5  # RTT estimate
    t2: float = 4.0  # cap on non-INVITE request and INVITE response retransmit intervals
    t4: float = 5.0  # time a message may linger in the network
    timer_d: float = 32.0  # RFC 3261 asks for at least 32 s on unreliable transports
    trying_delay: float = 0.2  # the "200 ms" of §17.2.1

    def __post_init__(self) -> None:
        for name in ("t1", "t2", "t4", "timer_d", "trying_delay"):
            if getattr(self, name) <= 0:
                raise TimerConfigError(f"timer setting {name} must be positive")
        if self.t2 < self.t1:
            raise TimerConfigError("timer setting t2 must not be below t1")

    @property
    def timeout(self) -> float:
        """64*T1: the overall limit of timers B, F, H, J (unreliable), L and M."""
        return 64 * self.t1

    def duration(self, timer: TimerName, *, reliable: bool) -> float:
        """Initial duration of ``timer``; 0 means "do not start it" (reliable transports).

        Retransmission timers (A, E, G) exist only on unreliable transports, and the
        timers that soak up network retransmissions (D, I, J, K) are zero on reliable
        ones, as RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1 and §17.2.2 say.
        """
        if timer in (TimerName.A, TimerName.E, TimerName.G):
            return 0.0 if reliable else self.t1
        if timer in (TimerName.B, TimerName.F, TimerName.H, TimerName.L, TimerName.M):
            return self.timeout
        if timer is TimerName.D:
            return 0.0 if reliable else self.timer_d
        if timer in (TimerName.I, TimerName.K):
            return 0.0 if reliable else self.t4
        if timer is TimerName.J:
            return 0.0 if reliable else self.timeout
        return self.trying_delay  # TimerName.TRYING

    def backoff(self, timer: TimerName, interval: float) -> float:
        """Next retransmit interval after ``interval``: A doubles without a cap, E and G
        double up to T2 (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1)."""
        if timer is TimerName.A:
            return 2 * interval
        return min(2 * interval, self.t2)
