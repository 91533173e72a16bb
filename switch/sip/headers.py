"""Header names, the ordered header multi-map, and the Via and CSeq values (RFC 3261 §7.3, §20)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ._syntax import (
    COMMON_METHODS,
    PARAMS,
    TOKEN,
    TOKEN_RE,
    WS,
    format_params,
    parse_uint,
    split_commas,
    split_params,
)
from .errors import ParseError
from .uri import HOST

# RFC 3261 §7.3.3 and later RFCs (3265, 3515, 3841, 3892, 4028, 4474).
COMPACT_FORMS: dict[str, str] = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_KNOWN_NAMES = (
    "Accept",
    "Accept-Contact",
    "Accept-Encoding",
    "Accept-Language",
    "Accept-Resource-Priority",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Transfer-Encoding",
    "Content-Type",
    "CSeq",
    "Date",
    "Diversion",
    "Error-Info",
    "Event",
    "Expires",
    "Feature-Caps",
    "From",
    "Geolocation",
    "Geolocation-Error",
    "Geolocation-Routing",
    "History-Info",
    "Identity",
    "Identity-Info",
    "In-Reply-To",
    "Join",
    "Max-Breadth",
    "Max-Forwards",
    "MIME-Version",
    "Min-Expires",
    "Min-SE",
    "Organization",
    "P-Access-Network-Info",
    "P-Asserted-Identity",
    "P-Asserted-Service",
    "P-Called-Party-ID",
    "P-Charging-Vector",
    "P-Early-Media",
    "P-Preferred-Identity",
    "P-Preferred-Service",
    "Path",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Reason",
    "Record-Route",
    "Refer-Sub",
    "Refer-To",
    "Referred-By",
    "Reject-Contact",
    "Remote-Party-ID",
    "Replaces",
    "Reply-To",
    "Request-Disposition",
    "Require",
    "Resource-Priority",
    "Retry-After",
    "Route",
    "RSeq",
    "Security-Client",
    "Security-Server",
    "Security-Verify",
    "Server",
    "Service-Route",
    "Session-Expires",
    "SIP-ETag",
    "SIP-If-Match",
    "Subject",
    "Subscription-State",
    "Supported",
    "Target-Dialog",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
)

_CANONICAL: dict[str, str] = {name.lower(): name for name in _KNOWN_NAMES}
_CANONICAL.update(COMPACT_FORMS)

# Raw spelling -> (canonical name, match key). Bounded so that random names cannot grow it forever.
_NAME_CACHE: dict[str, tuple[str, str]] = {}
_NAME_CACHE_LIMIT = 2048


def canonical_name(name: str) -> str:
    """Canonical spelling of a header name; compact forms are expanded.

    Unknown names keep their spelling except that each dash-separated part gets a capital
    first letter ("x-foo" -> "X-Foo"), so they still compare case-insensitively.
    """
    return _name_key(name)[0]


def _name_key(name: str) -> tuple[str, str]:
    cached = _NAME_CACHE.get(name)
    if cached is not None:
        return cached
    canonical = _CANONICAL.get(name.lower())
    if canonical is None:
        canonical = "-".join(part[:1].upper() + part[1:] for part in name.split("-"))
    result = (canonical, canonical.lower())
    if len(_NAME_CACHE) < _NAME_CACHE_LIMIT:
        _NAME_CACHE[name] = result
    return result


class InvalidHeaderError(ValueError):
    """A name or value given to Headers would break the message framing (CR, LF, bad name)."""


class Headers:
    """Ordered multi-map of header fields. Each entry is (canonical name, raw value string)
    exactly as one header line carried it (after unfolding); names are matched
    case-insensitively and compact forms are expanded on input.

    Typed views that messages derive from the fields (Via, CSeq, From ...) are cached here and
    dropped by every mutation, so they never go stale.
    """

    __slots__ = ("_cache", "_items", "_keys")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        self._keys: list[str] = []
        self._cache: dict[str, object] = {}
        for name, value in items:
            self.add(name, value)

    @classmethod
    def _from_parsed(cls, items: list[tuple[str, str]], keys: list[str]) -> Headers:
        """Adopt lists built by the parser (names already canonical, values already clean)."""
        headers = cls.__new__(cls)
        headers._items = items
        headers._keys = keys
        headers._cache = {}
        return headers

    def get(self, name: str) -> str | None:
        key = _name_key(name)[1]
        try:
            return self._items[self._keys.index(key)][1]
        except ValueError:
            return None

    def get_all(self, name: str) -> list[str]:
        key = _name_key(name)[1]
        keys = self._keys
        count = keys.count(key)
        if count == 1:  # the common case, without a Python-level loop
            return [self._items[keys.index(key)][1]]
        if count == 0:
            return []
        return [item[1] for item, k in zip(self._items, keys, strict=True) if k == key]

    def values(self, name: str) -> list[str]:
        """All values of ``name`` split on top-level commas; empty items are dropped."""
        return [part for raw in self.get_all(name) for part in split_commas(raw) if part]

    def _changed(self, key: str) -> None:
        """Forget the typed views built from header ``key`` (the others stay valid)."""
        view = _VIEW_OF_KEY.get(key)
        if view is not None:
            self._cache.pop(view, None)

    def add(self, name: str, value: str) -> None:
        canonical, key = self._checked(name, value)
        self._items.append((canonical, value))
        self._keys.append(key)
        self._changed(key)

    def prepend(self, name: str, value: str) -> None:
        """Insert before the first entry of ``name``, or at the top when there is none."""
        canonical, key = self._checked(name, value)
        try:
            index = self._keys.index(key)
        except ValueError:
            index = 0
        self._items.insert(index, (canonical, value))
        self._keys.insert(index, key)
        self._changed(key)

    def set(self, name: str, value: str) -> None:
        """Replace every entry of ``name`` by one, at the place of the first (or at the end)."""
        canonical, key = self._checked(name, value)
        keys = self._keys
        try:
            index = keys.index(key)
        except ValueError:
            self.add(name, value)
            return
        self._items[index] = (canonical, value)
        self._remove_from(key, index + 1)
        self._changed(key)

    def remove(self, name: str) -> None:
        key = _name_key(name)[1]
        self._remove_from(key, 0)
        self._changed(key)

    def _remove_from(self, key: str, start: int) -> None:
        keys = self._keys
        if key not in keys[start:]:
            return
        kept = [i for i in range(len(keys)) if i < start or keys[i] != key]
        self._items = [self._items[i] for i in kept]
        self._keys = [keys[i] for i in kept]

    @staticmethod
    def _checked(name: str, value: str) -> tuple[str, str]:
        if TOKEN_RE.fullmatch(name) is None:
            raise InvalidHeaderError(f"invalid header name {name!r}")
        if "\r" in value or "\n" in value:
            raise InvalidHeaderError(f"line break in the value of {name}")
        return _name_key(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _name_key(name)[1] in self._keys

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def copy(self) -> Headers:
        headers = Headers._from_parsed(list(self._items), list(self._keys))
        # The typed views are never changed in place once cached, so the copy may share them.
        headers._cache = dict(self._cache)
        return headers


# Which cached typed view (see message.py) is built from which header.
_VIEW_OF_KEY = {
    "via": "vias",
    "call-id": "call_id",
    "cseq": "cseq",
    "from": "from",
    "to": "to",
    "contact": "contacts",
    "max-forwards": "max_forwards",
}


@dataclass(slots=True)
class Via:
    """One via-parm. ``protocol`` is "SIP/2.0" unless the sender wrote another name/version."""

    transport: str
    host: str
    port: int | None
    params: dict[str, str | None]
    protocol: str = "SIP/2.0"

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | bool | None:
        """RFC 3581 rport: None when absent, True for the bare flag, the port when it has one.

        Test with ``is None`` / ``is True``: a plain truth test cannot tell them apart.
        """
        if "rport" not in self.params:
            return None
        value = self.params["rport"]
        return True if value is None else int(value)

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.protocol}/{self.transport} {self.host}{port}{format_params(self.params)}"


_VIA_RE = re.compile(
    rf"{WS}({TOKEN}){WS}/{WS}({TOKEN}){WS}/{WS}({TOKEN})[ \t]+({HOST})(?:{WS}:{WS}([0-9]{{1,5}}))?"
    rf"({PARAMS}){WS}",
    re.S,
)


# What nearly every device sends: no LWS, no quoted parameter values.
_VIA_PLAIN_RE = re.compile(
    rf"SIP/2\.0/({TOKEN}) ({HOST})(?::([0-9]{{1,5}}))?((?:;{TOKEN}(?:=[^ \t;,\"]+)?)*)"
)


def parse_via(value: str) -> list[Via]:
    """Parse one Via header line, which may carry several comma-separated via-parms."""
    if "," not in value:
        return [_parse_via_parm(value)]
    return [_parse_via_parm(item) for item in split_commas(value)]


def _parse_via_parm(text: str) -> Via:
    match = _VIA_PLAIN_RE.fullmatch(text)
    if match is not None:
        name, version = "SIP", "2.0"
        transport, host, port, params_text = match.groups()
    else:
        match = _VIA_RE.fullmatch(text)
        if match is None:
            raise ParseError("Bad Request - Malformed Via")
        name, version, transport, host, port, params_text = match.groups()
    params = split_params(params_text.rstrip(" \t"))
    port_number = None
    if port is not None:
        port_number = int(port)
        if port_number > 65535:
            raise ParseError("Bad Request - Malformed Via port")
    if "rport" in params:
        rport = params["rport"]
        if rport is not None and parse_uint(rport, 65536) is None:
            raise ParseError("Bad Request - Malformed Via rport")
    protocol = "SIP/2.0" if name == "SIP" and version == "2.0" else f"{name}/{version}"
    return Via(transport.upper(), host.lower(), port_number, params, protocol)


@dataclass(slots=True, frozen=True)
class CSeq:
    seq: int
    method: str

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


_CSEQ_RE = re.compile(rf"{WS}([0-9]+)[ \t]+({TOKEN}){WS}")


def parse_cseq(value: str) -> CSeq:
    """CSeq: sequence number below 2**31 (RFC 3261 §8.1.1.5) and a method token."""
    number, _, method = value.partition(" ")
    if method not in COMMON_METHODS or not number.isdigit() or not number.isascii():
        match = _CSEQ_RE.fullmatch(value)
        if match is None:
            raise ParseError("Bad Request - Malformed CSeq")
        number, method = match.groups()
    seq = parse_uint(number, 2**31)
    if seq is None:
        raise ParseError("Bad Request - CSeq number out of range")
    return CSeq(seq, method)
