"""UDP listener: each datagram is one message; it goes to a bounded queue or is dropped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

from .peer import Inbound, Peer

log = logging.getLogger(__name__)


class UdpEndpoint(asyncio.DatagramProtocol):
    def __init__(
        self,
        local: str,
        deliver: Callable[[Inbound], bool],
        max_message_size: int,
        on_oversize: Callable[[Inbound], None],
    ) -> None:
        self.local = local
        self._deliver = deliver
        self._max = max_message_size
        self._on_oversize = on_oversize
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio's, so no isinstance check here.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        peer = Peer("udp", str(addr[0]), int(addr[1]))
        if data.strip(b"\r\n") == b"":
            return  # CRLF keep-alive over UDP: nothing to answer (RFC 5626 §4.4.1 uses STUN)
        inbound = Inbound(data, peer, self.local)
        if len(data) > self._max:
            self._on_oversize(inbound)
            return
        self._deliver(inbound)

    def error_received(self, exc: Exception) -> None:
        # ICMP unreachable for an earlier send: nothing to do but note it.
        log.debug("udp error on %s: %s", self.local, exc)

    def send(self, data: bytes, peer: Peer) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        try:
            self.transport.sendto(data, (peer.host, peer.port))
        except (OSError, ValueError) as exc:
            # One unreachable or unusable address must not break the caller's work.
            log.info("cannot send to %s: %s", peer, exc)
