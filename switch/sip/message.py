"""SIP requests and responses: typed accessors, serialization, parsing entry point.

``parse_message`` validates everything every element relies on (start line, Via, From, To,
Call-ID, CSeq, Max-Forwards, Contact, Content-Length; see ``_parse``) and raises the matching
SipError with the readable part of the header section in ``error.context``.

Typed accessors parse from ``headers`` and cache inside the Headers object, which drops the cache
on every mutation. The returned objects are views: change the message through ``headers``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

from . import _parse
from ._parse import parse_contacts, parse_delta_seconds
from ._syntax import parse_uint
from .address import Address, parse_address
from .errors import BadExtension, ParseError, SipError
from .headers import CSeq, Headers, Via, parse_cseq, parse_via
from .reasons import default_reason
from .uri import AbsoluteURI, SipURI


class _Accessors:
    """Typed views shared by Request and Response (slots come from the dataclasses)."""

    __slots__ = ()
    headers: Headers
    body: bytes

    @property
    def vias(self) -> list[Via]:
        cache = self.headers._cache
        vias = cache.get("vias")
        if vias is None:
            vias = [via for value in self.headers.get_all("Via") for via in parse_via(value)]
            cache["vias"] = vias
        return vias  # type: ignore[return-value]

    @property
    def top_via(self) -> Via:
        vias = self.vias
        if not vias:
            raise ParseError("Bad Request - Missing Via")
        return vias[0]

    @property
    def call_id(self) -> str:
        cache = self.headers._cache
        value = cache.get("call_id")
        if value is None:
            value = self.headers.get("Call-ID")
            if not value:
                raise ParseError("Bad Request - Missing Call-ID")
            cache["call_id"] = value
        return value  # type: ignore[return-value]

    @property
    def cseq(self) -> CSeq:
        cache = self.headers._cache
        cseq = cache.get("cseq")
        if cseq is None:
            cseq = parse_cseq(self._required("CSeq"))
            cache["cseq"] = cseq
        return cseq  # type: ignore[return-value]

    @property
    def from_(self) -> Address:
        cache = self.headers._cache
        address = cache.get("from")
        if address is None:
            address = parse_address(self._required("From"), "From")
            cache["from"] = address
        return address  # type: ignore[return-value]

    @property
    def to(self) -> Address:
        cache = self.headers._cache
        address = cache.get("to")
        if address is None:
            address = parse_address(self._required("To"), "To")
            cache["to"] = address
        return address  # type: ignore[return-value]

    @property
    def contact_is_star(self) -> bool:
        """True for the REGISTER wildcard ``Contact: *`` (RFC 3261 §10.2.2)."""
        return self._contacts() is None

    @property
    def contacts(self) -> list[Address]:
        """All Contact addresses in order; raises ParseError for ``Contact: *``."""
        contacts = self._contacts()
        if contacts is None:
            raise ParseError("Bad Request - Contact is '*'")
        return contacts

    def _contacts(self) -> list[Address] | None:
        cache = self.headers._cache
        if "contacts" not in cache:
            cache["contacts"] = parse_contacts(self.headers.get_all("Contact"))
        return cache["contacts"]  # type: ignore[return-value]

    @property
    def max_forwards(self) -> int | None:
        cache = self.headers._cache
        if "max_forwards" in cache:
            return cache["max_forwards"]  # type: ignore[return-value]
        value = self.headers.get("Max-Forwards")
        number = None if value is None else parse_uint(value, 256)
        if value is not None and number is None:
            raise ParseError("Bad Request - Malformed Max-Forwards")
        cache["max_forwards"] = number
        return number

    @property
    def expires(self) -> int | None:
        """Expires header in seconds; values above 2**32-1 are clamped (RFC 3261 §20.19)."""
        value = self.headers.get("Expires")
        return None if value is None else parse_delta_seconds(value)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise ParseError(f"Bad Request - Missing {name}")
        return value

    def _start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Wire form with CRLF line ends and a Content-Length equal to ``len(body)``."""
        body = self.body
        lines = [self._start_line()]
        length_written = False
        for name, value in self.headers:
            if name == "Content-Length":
                if length_written:
                    continue
                value = str(len(body))
                length_written = True
            lines.append(f"{name}: {value}")
        if not length_written:
            lines.append(f"Content-Length: {len(body)}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape") + body


@dataclass(slots=True, eq=False)
class Request(_Accessors):
    method: str
    uri: SipURI | AbsoluteURI
    headers: Headers
    body: bytes = b""
    version: str = "SIP/2.0"

    is_request: ClassVar[bool] = True

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"


@dataclass(slots=True, eq=False)
class Response(_Accessors):
    status: int
    reason: str
    headers: Headers
    body: bytes = b""
    version: str = "SIP/2.0"

    is_request: ClassVar[bool] = False

    def _start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"


def parse_message(data: bytes) -> Request | Response:
    """Parse ONE complete message (a datagram, or one message framed from a stream).

    Octets beyond Content-Length are ignored (RFC 3261 §18.3); without Content-Length the body is
    the rest of ``data``. Raises only SipError subclasses.
    """
    try:
        return _parse.parse(data, Request, Response)
    except SipError:
        raise
    except Exception as exc:  # a parser bug must still end as a 400, never crash a transport
        raise ParseError(
            "Bad Request - Unparseable message", is_response=data[:4].upper() == b"SIP/"
        ) from exc


_COPIED = ("Via", "From", "To", "Call-ID", "CSeq")


def make_response(
    request: Request, status: int, reason: str | None = None, *, to_tag: str | None = None
) -> Response:
    """Response skeleton per RFC 3261 §8.2.6: Via, From, To, Call-ID and CSeq copied.

    ``to_tag`` is added when the request's To has no tag. A 100 also echoes Timestamp (§8.2.6.1).
    """
    src = request.headers
    headers = Headers()
    for name in _COPIED:
        for value in src.get_all(name):
            if name == "To" and to_tag and request.to.tag is None:
                value = f"{value};tag={to_tag}"
            headers.add(name, value)
    if status == 100:
        for value in src.get_all("Timestamp"):
            headers.add("Timestamp", value)
    return Response(status, reason if reason is not None else default_reason(status), headers)


def make_error_response(error: SipError) -> Response | None:
    """Stateless answer to a request that failed to parse, built from ``error.context``.

    None when the faulty message was a response (never answered) or no Via survived (no
    destination). The To tag is derived from the request so retransmissions get the same one.
    """
    if error.is_response:
        return None
    context = [(name, value) for name, value in error.context if name in _COPIED]
    if not any(name == "Via" for name, _ in context):
        return None
    headers = Headers()
    for name, value in context:
        if name == "To":
            value = _with_tag(value, context)
        headers.add(name, value)
    if isinstance(error, BadExtension):
        headers.add("Unsupported", ", ".join(error.unsupported))
    return Response(error.status, error.reason, headers)


def _with_tag(to_value: str, context: list[tuple[str, str]]) -> str:
    try:
        if parse_address(to_value).tag is not None:
            return to_value
    except ParseError:
        return to_value
    seed = "\n".join(value for _, value in context).encode("utf-8", "surrogateescape")
    return f"{to_value};tag={hashlib.sha1(seed, usedforsecurity=False).hexdigest()[:16]}"
