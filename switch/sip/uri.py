"""SIP and SIPS URIs (RFC 3261 §19.1, §25.1) and opaque absolute URIs of other schemes.

Escapes are kept exactly as written: the core compares and forwards URIs, it never needs the
unescaped user part, and keeping them avoids the double-unescaping traps of RFC 4475 §3.1.1.3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ParseError

# Character classes of RFC 3261 §25.1 with "%" admitted; escapes are checked separately, only
# when a "%" occurs. user-unreserved adds & = + $ , ; ? / to unreserved. "#" is illegal
# unescaped but phones send it in feature codes (*67#), so it is tolerated in the user part.
_USER = r"[A-Za-z0-9\-_.!~*'()&=+$,;?/#%]+"
_PASSWORD = r"[A-Za-z0-9\-_.!~*'()&=+$,%]*"
# IPv6 references are only checked for their alphabet: RFC 5118 §4.10 asks to tolerate the
# three-colon form that RFC 3261's ABNF allowed.
HOST = r"\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\]|[A-Za-z0-9\-_.]+"
_PCHAR = r"[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]"
_HCHAR = r"[A-Za-z0-9\-_.!~*'()\[\]/?:+$%]"
# Seven groups: scheme, user, password, host, port, ;params, headers (see sip_uri_from_match).
SIP_URI = (
    rf"((?i:sips?)):(?:({_USER})(?::({_PASSWORD}))?@)?({HOST})(?::([0-9]{{1,5}}))?"
    rf"((?:;{_PCHAR}+(?:={_PCHAR}+)?)*)"
    rf"(?:\?({_HCHAR}+={_HCHAR}*(?:&{_HCHAR}+={_HCHAR}*)*))?"
)
_SIP_RE = re.compile(SIP_URI)
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_OPAQUE_RE = re.compile(r'[^\x00-\x20<>"\x7f]+')


@dataclass(slots=True)
class SipURI:
    """A sip: or sips: URI. ``user``, ``password`` and values keep their escapes verbatim."""

    scheme: str
    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(self.user)
            if self.password is not None:
                parts += (":", self.password)
            parts.append("@")
        parts.append(self.host)
        if self.port is not None:
            parts += (":", str(self.port))
        for name, value in self.params.items():
            parts += (";", name) if value is None else (";", name, "=", value)
        if self.headers:
            parts.append("?")
            parts.append("&".join(f"{name}={value}" for name, value in self.headers.items()))
        return "".join(parts)

    @property
    def host_address(self) -> str:
        """The host as a socket wants it: IPv6 without brackets."""
        if self.host.startswith("["):
            return self.host[1:-1]
        return self.host

    @property
    def transport(self) -> str | None:
        value = self.params.get("transport")
        return value.lower() if value else None


@dataclass(slots=True)
class AbsoluteURI:
    """Any non-SIP scheme (tel:, http:, urn:, ...): the text after the colon is kept opaque."""

    scheme: str
    opaque: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.opaque}"


def parse_uri(text: str) -> SipURI | AbsoluteURI:
    """Parse one URI with nothing around it (no LWS, no angle brackets)."""
    match = _SIP_RE.fullmatch(text)
    if match is None:
        return _parse_other(text)
    return sip_uri_from_match(match, 1, None)


def sip_uri_from_match(match: re.Match[str], first: int, after: int | None) -> SipURI:
    """Build a SipURI from the seven SIP_URI groups of ``match`` starting at group ``first``.

    ``after`` is the group that follows the URI's closing ">" (None: the URI ends the match).
    """
    check_sip_match(match, first, after)
    scheme, user, password, host, port, params_text, headers_text = match.group(
        first, first + 1, first + 2, first + 3, first + 4, first + 5, first + 6
    )
    params: dict[str, str | None] = {}
    if params_text:
        for part in params_text[1:].split(";"):
            name, eq, value = part.partition("=")
            params[name.lower()] = value if eq else None
    headers: dict[str, str] = {}
    if headers_text:
        for part in headers_text.split("&"):
            name, _, value = part.partition("=")
            headers[name] = value
    number = None if port is None else int(port)
    if scheme != "sip" and scheme != "sips":
        scheme = scheme.lower()
    return SipURI(scheme, host.lower(), user, password, number, params, headers)


def check_sip_match(match: re.Match[str], first: int, after: int | None) -> None:
    """What SIP_URI cannot express: escapes are %HH, the port fits 16 bits."""
    text = match.string
    if "%" in text:
        end = match.end() if after is None else match.start(after) - 1
        if _BAD_ESCAPE_RE.search(text, match.start(first), end) is not None:
            raise ParseError("Bad Request - Malformed escape in URI")
    port = match[first + 4]
    if port is not None and int(port) > 65535:
        raise ParseError("Bad Request - URI port out of range")


def _parse_other(text: str) -> AbsoluteURI:
    scheme, colon, rest = text.partition(":")
    if not colon or _SCHEME_RE.fullmatch(scheme) is None:
        raise ParseError("Bad Request - Malformed URI scheme")
    scheme = scheme.lower()
    if scheme == "sip" or scheme == "sips":
        raise ParseError("Bad Request - Malformed SIP URI")
    if _OPAQUE_RE.fullmatch(rest) is None:
        raise ParseError(f"Bad Request - Malformed {scheme} URI")
    return AbsoluteURI(scheme, rest)
