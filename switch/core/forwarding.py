"""Building forwarded requests (RFC 3261 §16.6) and recognising this switch in Via and Route."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from switch import ids
from switch.sip.address import parse_address_list
from switch.sip.errors import SipError
from switch.sip.headers import Via
from switch.sip.message import Request
from switch.sip.uri import AbsoluteURI, SipURI
from switch.transport.peer import Peer

DEFAULT_MAX_FORWARDS = 70
MAGIC_COOKIE = "z9hG4bK"


@dataclass(frozen=True, slots=True)
class LocalAddress:
    """How this switch names itself on one transport."""

    host: str
    ports: dict[str, int]  # transport -> the port put in Via and Record-Route
    all_ports: frozenset[int] = frozenset()  # every listening port: all of them are "us"

    def port(self, transport: str) -> int:
        return self.ports.get(transport) or next(iter(self.ports.values()))

    def uri_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def record_route(self, transport: str) -> str:
        parameter = "" if transport == "udp" else f";transport={transport}"
        return f"<sip:{self.uri_host()}:{self.port(transport)}{parameter};lr>"

    def via(self, transport: str, branch: str) -> Via:
        return Via(transport.upper(), self.uri_host(), self.port(transport), {"branch": branch})

    def is_me(self, host: str, port: int | None, local_hosts: frozenset[str]) -> bool:
        bare = host[1:-1] if host.startswith("[") else host
        return bare.lower() in local_hosts and (port is None or port in self.local_ports)

    @property
    def local_ports(self) -> frozenset[int]:
        return self.all_ports | frozenset(self.ports.values())


def loop_hash(request: Request) -> str:
    """RFC 3261 §16.6 step 8: the part of the branch that stays equal when a request loops."""
    text = "|".join(
        (
            str(request.uri),
            request.from_.tag or "",
            request.to.tag or "",
            request.call_id,
            str(request.cseq.seq),
            ",".join(request.headers.values("Proxy-Require")),
        )
    )
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=6).hexdigest()


def new_branch(request: Request) -> str:
    return f"{MAGIC_COOKIE}{loop_hash(request)}.{ids.token(5)}"


def is_looping(request: Request, me: LocalAddress, local_hosts: frozenset[str]) -> bool:
    """A Via of ours whose branch carries this very request's loop hash (RFC 3261 §16.3.4)."""
    marker = MAGIC_COOKIE + loop_hash(request) + "."
    return any(
        (via.branch or "").startswith(marker) and me.is_me(via.host, via.port, local_hosts)
        for via in request.vias
    )


def pop_own_routes(request: Request, me: LocalAddress, local_hosts: frozenset[str]) -> int:
    """Remove the Route entries that name this switch (RFC 3261 §16.4; two with double RR).

    Returns how many there were: an in-dialog request without one did not come
    through this switch's Record-Route and is not relayed anywhere.
    """
    popped = 0
    while True:
        routes = request.headers.values("Route")
        if not routes:
            return popped
        try:
            top = parse_address_list(routes[0])[0].uri
        except (SipError, IndexError):
            return popped
        if not isinstance(top, SipURI) or not me.is_me(top.host, top.port, local_hosts):
            return popped
        request.headers.remove("Route")
        for value in routes[1:]:
            request.headers.add("Route", value)
        popped += 1


def forward_copy(
    request: Request,
    target: SipURI | AbsoluteURI,
    via: Via,
    record_routes: list[str],
) -> Request:
    """A copy of ``request`` for one branch: new Request-URI, Max-Forwards, Record-Route, Via."""
    headers = request.headers.copy()
    max_forwards = request.max_forwards
    headers.set(
        "Max-Forwards", str(DEFAULT_MAX_FORWARDS if max_forwards is None else max_forwards - 1)
    )
    for value in record_routes:
        headers.prepend("Record-Route", value)
    headers.prepend("Via", str(via))
    return Request(request.method, target, headers, request.body)


def destination_of(uri: SipURI) -> Peer:
    """Where a URI resolves without DNS: its host and port (numeric hosts only here)."""
    transport = (uri.transport or ("tls" if uri.scheme == "sips" else "udp")).lower()
    default_port = 5061 if transport == "tls" else 5060
    return Peer(transport, uri.host_address, uri.port or default_port)
