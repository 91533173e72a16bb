"""Opens the configured listeners, queues what arrives, and sends bytes to peers."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from switch.config import Listen, Settings, TransportName
from switch.sip.errors import MessageTooLarge, SipError
from switch.sip.message import parse_message

from .peer import Inbound, Peer
from .stream import Connections, StreamConnection, make_server_ssl_context
from .udp import UdpEndpoint

log = logging.getLogger(__name__)
_ANSWER_FIELDS = frozenset({"Via", "From", "To", "Call-ID", "CSeq"})


@dataclass
class TransportStats:
    dropped_queue_full: int = 0
    dropped_oversize: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _family(host: str) -> int:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return socket.AF_INET


def _too_large(datagram: bytes) -> MessageTooLarge:
    """The 513 error for an oversize datagram, carrying the Via, From, To, Call-ID and CSeq
    read from it so that the sender can be answered (a datagram is bounded by 64 KiB)."""
    try:
        message = parse_message(datagram)
    except SipError as exc:
        context, is_response = exc.context, exc.is_response
    else:
        context = [(name, value) for name, value in message.headers if name in _ANSWER_FIELDS]
        is_response = not message.is_request
    return MessageTooLarge("Message Too Large", context=context, is_response=is_response)


class TransportManager:
    def __init__(
        self,
        settings: Settings,
        on_error: Callable[[SipError, Inbound | None], None],
    ) -> None:
        self._settings = settings
        self._on_error = on_error
        self.queue: asyncio.Queue[Inbound] = asyncio.Queue(settings.sip.udp_queue_size)
        self.stats = TransportStats()
        # Told of every message dropped unanswered, by reason (a metric label).
        self.on_drop: Callable[[str], None] = lambda reason: None
        self.connections = Connections()
        self._udp: dict[int, UdpEndpoint] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self._client_ssl: ssl.SSLContext | None = None
        self.bound: list[str] = []
        # Local listen port per transport, for Via and Record-Route.
        self.ports: dict[str, int] = {}

    # -- inbound ---------------------------------------------------------------------------
    def deliver(self, inbound: Inbound) -> bool:
        try:
            self.queue.put_nowait(inbound)
        except asyncio.QueueFull:
            self.stats.dropped_queue_full += 1
            self.on_drop("queue_full")
            return False
        return True

    def _oversize(self, inbound: Inbound) -> None:
        self.stats.dropped_oversize += 1
        self.on_drop("oversize")
        self._on_error(_too_large(inbound.data), inbound)

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        for listen in self._settings.sip.listen:
            await self._open(listen)

    async def _open(self, listen: Listen) -> None:
        loop = asyncio.get_running_loop()
        sip = self._settings.sip
        local = str(listen)
        if listen.transport is TransportName.UDP:
            _, protocol = await loop.create_datagram_endpoint(
                lambda: UdpEndpoint(local, self.deliver, sip.max_message_size, self._oversize),
                local_addr=(listen.host, listen.port),
            )
            self._udp.setdefault(_family(listen.host), protocol)
        else:
            context = None
            if listen.transport is TransportName.TLS:
                if not (sip.tls_certificate and sip.tls_private_key):
                    raise ValueError(
                        "setting sip.tls_certificate and sip.tls_private_key needed for tls"
                    )
                context = make_server_ssl_context(
                    str(sip.tls_certificate), str(sip.tls_private_key)
                )
            name = listen.transport.value
            server = await loop.create_server(
                lambda: self._stream_protocol(name, local),
                host=listen.host,
                port=listen.port,
                ssl=context,
                reuse_address=True,
            )
            self._servers.append(server)
        self.ports.setdefault(listen.transport.value, listen.port)
        self.bound.append(local)
        log.info("listening on %s", local)

    def _stream_protocol(self, name: str, local: str) -> StreamConnection:
        sip = self._settings.sip
        return StreamConnection(
            name,
            local,
            self.connections,
            self.deliver,
            self._on_error,
            sip.max_message_size,
            sip.stream_idle_timeout,
        )

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        self.connections.close_all()
        for endpoint in self._udp.values():
            if endpoint.transport is not None:
                endpoint.transport.close()
        for server in self._servers:
            await server.wait_closed()

    # -- outbound --------------------------------------------------------------------------
    def send(self, data: bytes, peer: Peer) -> None:
        """Send without blocking; a new stream connection is opened in the background."""
        if peer.transport == "udp":
            if not _is_address(peer.host):
                # sendto would resolve the name (blocking the loop) or refuse it (uvloop).
                log.warning("not sending to %s: UDP peers must be IP addresses", peer)
                return
            endpoint = self._udp.get(_family(peer.host)) or next(iter(self._udp.values()), None)
            if endpoint is None:
                log.warning("no UDP listener to send to %s", peer)
                return
            endpoint.send(data, peer)
            return
        connection = self.connections.get(peer)
        if connection is not None:
            connection.send(data)
            return
        asyncio.get_running_loop().create_task(self._connect_and_send(data, peer))

    async def _connect_and_send(self, data: bytes, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        context = None
        if peer.transport == "tls":
            if self._client_ssl is None:
                self._client_ssl = ssl.create_default_context()
            context = self._client_ssl
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(
                    lambda: self._stream_protocol(peer.transport, f"{peer.transport}:out"),
                    peer.host,
                    peer.port,
                    ssl=context,
                ),
                timeout=5.0,
            )
        except (OSError, TimeoutError) as exc:
            log.info("cannot connect to %s: %s", peer, exc)
            return
        protocol.send(data)
