"""Where responses go (RFC 3261 §18.2.1-2, RFC 3581) and what counts as this switch."""

from __future__ import annotations

import functools
import ipaddress

from switch.sip.headers import Via
from switch.sip.message import Request
from switch.sip.uri import SipURI
from switch.transport.peer import Peer

SIP_DEFAULT_PORT = 5060
SIPS_DEFAULT_PORT = 5061


def _bare(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


@functools.lru_cache(maxsize=4096)
def _same_address(a: str, b: str) -> bool:
    a, b = _bare(a), _bare(b)
    if a == b:
        return True
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower() == b.lower()


def stamp_via(request: Request, source: Peer) -> None:
    """Add received= and fill rport= on the top Via as a server must on arrival."""
    vias = request.vias
    if not vias:
        return
    top = vias[0]
    changed = False
    # A received= the sender wrote itself is overwritten: it must never steer our answers.
    if not _same_address(top.host, source.host) or "received" in top.params:
        top.params["received"] = source.host
        changed = True
    if "rport" in top.params:
        top.params["rport"] = str(source.port)
        top.params["received"] = source.host
        changed = True
    if changed:
        _replace_top_via(request, top)


def _replace_top_via(request: Request, top: Via) -> None:
    """Write the Vias back one per line; only the top one changed."""
    vias = [top, *request.vias[1:]]
    request.headers.remove("Via")
    for via in reversed(vias):
        request.headers.prepend("Via", str(via))


def response_destination(via: Via, arrival: Peer) -> Peer:
    """RFC 3261 §18.2.2 with RFC 3581: where the response to this request goes.

    The host is always the packet's source address: that is what ``received=`` holds once
    ``stamp_via`` ran, and a Via that was never stamped (a stateless answer to a message that
    failed to parse) must not send traffic to whatever address the sender wrote in it.
    """
    if arrival.reliable:
        return arrival  # same connection (the transport layer reuses it)
    if "rport" in via.params:
        rport = via.params["rport"]
        port = int(rport) if rport else arrival.port
    else:
        port = via.port or (SIPS_DEFAULT_PORT if via.transport == "TLS" else SIP_DEFAULT_PORT)
    return Peer(arrival.transport, arrival.host, port)


def is_local_uri(uri: SipURI, local_hosts: frozenset[str], local_ports: frozenset[int]) -> bool:
    if _bare(uri.host) not in local_hosts:
        return False
    return uri.port is None or uri.port in local_ports
