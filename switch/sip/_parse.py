"""The message parser behind ``message.parse_message`` (RFC 3261 §7, §18.3; RFC 4475 cases).

Work is done once per message: one search for the end of the header section, one decode, one
split into lines, one pass over them. Via, From, To, Contact, CSeq and Call-ID are parsed (every
element needs them, and a malformed one must be answered with 400); other headers stay raw.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from ._syntax import COMMON_METHODS, TOKEN_RE, parse_uint
from .address import (
    Address,
    check_address,
    check_address_list,
    parse_address,
    parse_address_list,
)
from .errors import ParseError, SipError, VersionNotSupported
from .headers import Headers, _name_key, parse_cseq, parse_via
from .uri import AbsoluteURI, SipURI, parse_uri

R = TypeVar("R")
S = TypeVar("S")

# Headers RFC 3261 §7.3.1 allows only once (no list syntax): a second copy is a 400 (multi01).
_SINGLE = (
    "call-id",
    "from",
    "to",
    "cseq",
    "max-forwards",
    "content-length",
    "content-type",
    "expires",
)
_REQUIRED = (
    ("via", "Via"),
    ("from", "From"),
    ("to", "To"),
    ("call-id", "Call-ID"),
    ("cseq", "CSeq"),
)
_REQUIRED_KEYS = frozenset(key for key, _ in _REQUIRED)
_EXPIRES_MAX = 2**32 - 1
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.I)
# Header name exactly as written before ":" -> (canonical, key). Only validated names get in,
# and the size is bounded so random names cannot grow it.
_LINE_NAMES: dict[str, tuple[str, str]] = {}
_LINE_NAMES_LIMIT = 4096


def parse(data: bytes, request: Callable[..., R], response: Callable[..., S]) -> R | S:
    """Parse one message; ``request``/``response`` build the result objects."""
    if data[:1] in (b"\r", b"\n"):
        data = data.lstrip(b"\r\n")  # RFC 3261 §7.5: CRLFs before the start line are ignored
    lines, body_start = _split_head(data)
    start = lines[0]
    is_response = start[:4].upper() == "SIP/"
    items: list[tuple[str, str]] = []
    keys: list[str] = []
    try:
        error = _read_fields(lines, items, keys)
    except _Folded:
        # Unfold the whole section in one pass (joining piece by piece would be quadratic).
        lines = _FOLD_RE.sub(" ", "\n".join(lines)).split("\n")
        start = lines[0]
        items.clear()
        keys.clear()
        error = _read_fields(lines, items, keys)
    headers = Headers._from_parsed(items, keys)
    try:
        if body_start < 0:
            raise ParseError("Bad Request - Header section not terminated by an empty line")
        if is_response:
            status, reason, version = _status_line(start)
        else:
            method, uri, version = _request_line(start)
        if error is not None:
            raise error
        length = _validate(headers, None if is_response else method)
        if length is None:
            body = data[body_start:]
        elif length > len(data) - body_start:
            raise ParseError("Bad Request - Content-Length larger than the message")
        else:
            body = data[body_start : body_start + length]
    except SipError as exc:
        exc.context = _context(items, keys)
        exc.is_response = is_response
        raise
    if is_response:
        return response(status, reason, headers, body, version)
    return request(method, uri, headers, body, version)


class _Folded(Exception):
    """Internal: the header section has continuation lines and must be unfolded first."""


# RFC 3261 §7.3.1: a line break followed by SP/HTAB is folding; it stands for a single SP.
_FOLD_RE = re.compile(r"[ \t]*\n[ \t]+")


def _split_head(data: bytes) -> tuple[list[str], int]:
    """Lines of the header section (start line first) and the body offset (-1: no empty line)."""
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        text = data[:end].decode("utf-8", "surrogateescape")
        lines = text.split("\r\n")
        if len(lines) - 1 == text.count("\n"):
            return lines, end + 4
    # Some bare LF: an earlier empty line may end the section.
    return _split_loose(data)


def _split_loose(data: bytes) -> tuple[list[str], int]:
    """_split_head for bare-LF or mixed line ends: the first empty line ends the section."""
    ends = [(pos, pos + 2) for pos in (data.find(b"\n\n"),) if pos >= 0]
    ends += [(pos, pos + 3) for pos in (data.find(b"\n\r\n"),) if pos >= 0]
    if ends:
        end, body_start = min(ends)
        head = data[:end].rstrip(b"\r")
    else:
        head, body_start = data.rstrip(b"\r\n"), -1
    text = head.decode("utf-8", "surrogateescape")
    return text.replace("\r\n", "\n").split("\n"), body_start


def _read_fields(
    lines: list[str], items: list[tuple[str, str]], keys: list[str]
) -> SipError | None:
    """Fill ``items``/``keys`` from the header lines (after the start line).

    A malformed line is skipped and its error returned, so the rest still gives context.
    """
    error: SipError | None = None
    known_name = _LINE_NAMES.get
    add_item = items.append
    add_key = keys.append
    for line in lines[1:]:
        name, _, value = line.partition(":")
        known = known_name(name)
        if known is None:
            fault = _unusual_line(line, items, keys)
            if error is None:
                error = fault
            continue
        add_item((known[0], value.strip(" \t")))
        add_key(known[1])
    return error


def _unusual_line(line: str, items: list[tuple[str, str]], keys: list[str]) -> SipError | None:
    """Continuation lines, names seen for the first time, and malformed lines."""
    if not line:
        return None
    if line[0] == " " or line[0] == "\t":
        if not items:
            return ParseError("Bad Request - Continuation line without a header")
        raise _Folded
    raw, colon, value = line.partition(":")
    if not colon:
        return ParseError("Bad Request - Malformed header line")
    name = raw.rstrip(" \t")
    if TOKEN_RE.fullmatch(name) is None:
        return ParseError("Bad Request - Malformed header name")
    known = _name_key(name)
    if len(_LINE_NAMES) < _LINE_NAMES_LIMIT:
        _LINE_NAMES[raw] = known
    items.append((known[0], value.strip(" \t")))
    keys.append(known[1])
    return None


def _request_line(line: str) -> tuple[str, SipURI | AbsoluteURI, str]:
    parts = line.split(" ")
    if len(parts) != 3:
        # lwsstart, trws, lwsruri (RFC 4475 §3.1.2.8-10): rejected rather than guessed at.
        raise ParseError("Bad Request - Malformed Request-Line")
    method, uri_text, version = parts
    if method not in COMMON_METHODS and TOKEN_RE.fullmatch(method) is None:
        raise ParseError("Bad Request - Malformed method")
    if version != "SIP/2.0":
        version = _version(version)
    try:
        uri = parse_uri(uri_text)
    except ParseError as exc:
        raise ParseError("Bad Request - Malformed Request-URI") from exc
    if type(uri) is SipURI and uri.headers:
        raise ParseError("Bad Request - Escaped headers in Request-URI")
    return method, uri, version


def _status_line(line: str) -> tuple[int, str, str]:
    parts = line.split(" ", 2)
    if len(parts) < 2:
        raise ParseError("Bad Request - Malformed Status-Line")
    code = parts[1]
    if len(code) != 3 or not code.isdigit() or not code.isascii() or not "100" <= code <= "699":
        raise ParseError("Bad Request - Malformed status code")
    version = parts[0] if parts[0] == "SIP/2.0" else _version(parts[0])
    # "SIP/2.0 100" without the SP before an empty reason is tolerated.
    return int(code), parts[2] if len(parts) == 3 else "", version


def _version(text: str) -> str:
    if text.upper() == "SIP/2.0":
        return "SIP/2.0"
    if _VERSION_RE.fullmatch(text):
        raise VersionNotSupported("SIP Version Not Supported", status=505)
    raise ParseError("Bad Request - Malformed SIP-Version")


def _validate(headers: Headers, method: str | None) -> int | None:
    """Check the fields every element relies on; returns Content-Length (None when absent).

    Parsed values are left in the headers' cache for the message accessors.
    """
    keys = headers._keys
    items = headers._items
    _check_counts(keys)
    cache = headers._cache
    cache["vias"] = [via for value in headers.get_all("Via") for via in parse_via(value)]
    cache["call_id"] = _check_call_id(items[keys.index("call-id")][1])
    cseq = parse_cseq(items[keys.index("cseq")][1])
    if method is not None and cseq.method != method:
        raise ParseError("Bad Request - CSeq method does not match")
    cache["cseq"] = cseq
    cache["from"] = parse_address(items[keys.index("from")][1], "From")
    cache["to"] = parse_address(items[keys.index("to")][1], "To")
    if "contact" in keys:
        # Checked now, built when asked for: proxies never look at Contact.
        check_contacts(headers.get_all("Contact"))
    return _scalars(headers)


def _check_counts(keys: list[str]) -> None:
    present = set(keys)
    if len(present) != len(keys):
        for key in _SINGLE:
            if keys.count(key) > 1:
                raise ParseError(f"Bad Request - Multiple {_name_key(key)[0]} values")
    if not present.issuperset(_REQUIRED_KEYS):
        missing = [name for key, name in _REQUIRED if key not in present]
        raise ParseError(f"Bad Request - Missing {', '.join(missing)}")


def _scalars(headers: Headers) -> int | None:
    """Check Max-Forwards and Expires; return Content-Length (None when absent)."""
    keys = headers._keys
    items = headers._items
    max_forwards = None
    if "max-forwards" in keys:
        max_forwards = parse_uint(items[keys.index("max-forwards")][1], 256)
        if max_forwards is None:
            # RFC 4475 §3.1.2.4 allows treating 300 as absent; rejecting keeps proxies loop-safe.
            raise ParseError("Bad Request - Malformed Max-Forwards")
    headers._cache["max_forwards"] = max_forwards
    if "expires" in keys:
        parse_delta_seconds(items[keys.index("expires")][1])
    if "content-length" not in keys:
        return None
    length = parse_uint(items[keys.index("content-length")][1], 2**31)
    if length is None:
        raise ParseError("Bad Request - Malformed Content-Length")
    return length


def _check_call_id(value: str) -> str:
    """Call-ID = word [ "@" word ]: printable ASCII without SP (RFC 3261 §25.1)."""
    if not value or not value.isascii() or not value.isprintable() or " " in value:
        raise ParseError("Bad Request - Malformed Call-ID")
    return value


def parse_delta_seconds(value: str) -> int:
    """delta-seconds; huge values clamp to 2**32-1 instead of building big integers."""
    if not value.isdigit() or not value.isascii():
        raise ParseError("Bad Request - Malformed Expires")
    number = parse_uint(value, _EXPIRES_MAX + 1)
    return _EXPIRES_MAX if number is None else number


def parse_contacts(values: list[str]) -> list[Address] | None:
    """Contact values as addresses; None for the wildcard "*", which must stand alone."""
    if len(values) == 1:
        value = values[0]
        if value == "*":
            return None
        if "," not in value:
            return [parse_address(value, "Contact")]
    contacts: list[Address] = []
    for value in values:
        contacts += parse_address_list(value, "Contact")
    return contacts


def check_contacts(values: list[str]) -> None:
    """Raise where parse_contacts would."""
    if len(values) == 1:
        value = values[0]
        if value == "*":
            return
        if "," not in value:
            check_address(value, "Contact")
            return
    for value in values:
        check_address_list(value, "Contact")


def _context(items: list[tuple[str, str]], keys: list[str]) -> list[tuple[str, str]]:
    """The Via, From, To, Call-ID and CSeq fields that parse, for a stateless error response."""
    context: list[tuple[str, str]] = []
    vias = [value for (_, value), key in zip(items, keys, strict=True) if key == "via"]
    try:
        for value in vias:
            parse_via(value)
        context += [("Via", value) for value in vias]
    except ParseError:
        salvaged = _salvage_via(vias[0]) if vias else None
        if salvaged is not None:
            context.append(("Via", salvaged))
    checks: tuple[tuple[str, str, Callable[[str], object]], ...] = (
        ("From", "from", parse_address),
        ("To", "to", parse_address),
        ("Call-ID", "call-id", _check_call_id),
        ("CSeq", "cseq", parse_cseq),
    )
    for name, key, check in checks:
        if key in keys:
            value = items[keys.index(key)][1]
            try:
                check(value)
            except ParseError:
                continue
            context.append((name, value))
    return context


def _salvage_via(value: str) -> str | None:
    """Top via-parm reduced to what parses, so a 400 can still find its way back (badinv01)."""
    first = value.split(",", 1)[0]
    head = first.split(";", 1)[0].strip(" \t")
    try:
        via = parse_via(head)[0]
    except ParseError:
        return None
    for part in first.split(";")[1:]:
        try:
            via.params.update(parse_via(head + ";" + part.strip(" \t"))[0].params)
        except ParseError:
            continue
    return str(via)
