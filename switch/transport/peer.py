"""Where a message came from or goes to: transport name plus socket address."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Peer:
    transport: str  # "udp", "tcp" or "tls" (lower case)
    host: str  # bare address, IPv6 without brackets
    port: int

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}:{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Inbound:
    """One framed message as it arrived, before parsing."""

    data: bytes
    peer: Peer
    # The local listener it arrived on, e.g. "udp:127.0.0.1:5060".
    local: str
