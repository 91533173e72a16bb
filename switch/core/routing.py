"""Where responses go (RFC 3261 §18.2.1-2, RFC 3581) and what counts as this switch."""

from __future__ import annotations

import ipaddress

from switch.sip.headers import Via
from switch.sip.message import Request
from switch.sip.uri import SipURI
from switch.transport.peer import Peer

SIP_DEFAULT_PORT = 5060
SIPS_DEFAULT_PORT = 5061


def _bare(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(_bare(a)) == ipaddress.ip_address(_bare(b))
    except ValueError:
        return _bare(a).lower() == _bare(b).lower()


def stamp_via(request: Request, source: Peer) -> None:
    """Add received= and fill rport= on the top Via as a server must on arrival."""
    vias = request.vias
    if not vias:
        return
    top = vias[0]
    changed = False
    if not _same_address(top.host, source.host):
        top.params["received"] = source.host
        changed = True
    if "rport" in top.params:
        top.params["rport"] = str(source.port)
        top.params.setdefault("received", source.host)
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
    """RFC 3261 §18.2.2 with RFC 3581: where the response to this request goes."""
    if arrival.reliable:
        return arrival  # same connection (the transport layer reuses it)
    host = via.params.get("received") or _bare(via.host)
    rport = via.params.get("rport")
    if rport:
        port = int(rport)
    else:
        port = via.port or (SIPS_DEFAULT_PORT if via.transport == "TLS" else SIP_DEFAULT_PORT)
    return Peer(arrival.transport, _bare(host), port)


def is_local_uri(uri: SipURI, local_hosts: frozenset[str], local_ports: frozenset[int]) -> bool:
    if _bare(uri.host) not in local_hosts:
        return False
    return uri.port is None or uri.port in local_ports
