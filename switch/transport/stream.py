"""TCP and TLS: framing by Content-Length, keep-alive pongs, idle timeout, connection reuse."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterator
from typing import cast

from switch.sip.errors import FramingError, MessageTooLarge, SipError
from switch.sip.framing import StreamFramer

from .peer import Inbound, Peer

log = logging.getLogger(__name__)

KEEPALIVE_PING = b"\r\n\r\n"
KEEPALIVE_PONG = b"\r\n"


class Connections:
    """Open stream connections by remote address, so responses and requests reuse them."""

    def __init__(self) -> None:
        self._by_peer: dict[Peer, StreamConnection] = {}

    def add(self, connection: StreamConnection) -> None:
        self._by_peer[connection.peer] = connection

    def discard(self, connection: StreamConnection) -> None:
        if self._by_peer.get(connection.peer) is connection:
            del self._by_peer[connection.peer]

    def get(self, peer: Peer) -> StreamConnection | None:
        return self._by_peer.get(peer)

    def __len__(self) -> int:
        return len(self._by_peer)

    def __iter__(self) -> Iterator[StreamConnection]:
        return iter(list(self._by_peer.values()))

    def close_all(self) -> None:
        for connection in list(self._by_peer.values()):
            connection.close()


class StreamConnection(asyncio.Protocol):
    def __init__(
        self,
        transport_name: str,
        local: str,
        connections: Connections,
        deliver: Callable[[Inbound], bool],
        on_error: Callable[[SipError, Inbound | None], None],
        max_message_size: int,
        idle_timeout: float,
    ) -> None:
        self.transport_name = transport_name
        self.local = local
        self._connections = connections
        self._deliver = deliver
        self._on_error = on_error
        self._framer = StreamFramer(max_message_size)
        self._idle_timeout = idle_timeout
        self._idle_handle: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None
        self.peer = Peer(transport_name, "", 0)
        self.connected = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Peer(self.transport_name, str(host), int(port))
        self._connections.add(self)
        self._touch()
        if not self.connected.done():
            self.connected.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._touch()
        try:
            messages = self._framer.feed(data)
        except (FramingError, MessageTooLarge) as exc:
            # Message boundaries are lost: answer if we can, then close (RFC 3261 §18.3).
            self._on_error(exc, Inbound(b"", self.peer, self.local))
            self.close()
            return
        for message in messages:
            if message == KEEPALIVE_PING:
                self.send(KEEPALIVE_PONG)
            else:
                self._deliver(Inbound(message, self.peer, self.local))

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        if self._idle_handle is not None:
            self._idle_handle.cancel()
        if not self.connected.done():
            self.connected.set_exception(ConnectionError("connection lost"))

    def _touch(self) -> None:
        if self._idle_handle is not None:
            self._idle_handle.cancel()
        loop = asyncio.get_running_loop()
        self._idle_handle = loop.call_later(self._idle_timeout, self._idle_expired)

    def _idle_expired(self) -> None:
        log.debug("closing idle %s connection from %s", self.transport_name, self.peer)
        self.close()

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def make_server_ssl_context(certificate: str, private_key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, private_key)
    return context
