"""Auth-param lists of Digest challenges and credentials (RFC 3261 §25.1, RFC 7235 §2.1).

``Digest realm="a", nonce="b", algorithm=MD5`` is a scheme token followed by
comma-separated ``name=value`` pairs whose value is a token or a quoted-string.
Names are case-insensitive; LWS (including folded line breaks) may surround
``=`` and ``,``; empty list elements are tolerated as RFC 7235 §1.2 asks.
Error messages name parameters but never quote values: they may be secrets.
"""

from __future__ import annotations

import re

from switch.sip.errors import ParseError

_LWS = " \t\r\n"
_LWS_AND_COMMA = _LWS + ","
_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_SCHEME = re.compile(rf"[{_LWS}]*({_TOKEN})(?:[{_LWS}]+|\Z)")
# One auth-param with the separators after it. Bare values are looser than
# tokens: real clients send uri=sip:host unquoted.
_PARAM = re.compile(
    rf'({_TOKEN})[{_LWS}]*=[{_LWS}]*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^{_LWS}",]+))'
    rf"[{_LWS}]*(?:,[{_LWS},]*|\Z)",
    re.DOTALL,
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_UNSAFE = re.compile(r"[\x00\r\n]")


class NotDigest(ParseError):
    """Credentials or challenge in another scheme (e.g. RFC 4475 regaut01).

    The registrar answers these with a fresh Digest challenge (401/407)
    rather than a 400, so callers catch this before plain ``ParseError``.
    """

    def __init__(self, scheme: str) -> None:
        super().__init__(f"authorization scheme {scheme[:32]!r} is not Digest")
        self.scheme = scheme


class UnsafeValueError(ValueError):
    """A value to be quoted holds CR, LF or NUL and would break the header."""


def split_scheme(value: str) -> tuple[str, str]:
    """Return (scheme, rest) of an auth header value; the scheme keeps its case."""
    match = _SCHEME.match(value)
    if match is None:
        raise ParseError("authorization value lacks a scheme token")
    return match.group(1), value[match.end() :]


def parse_auth_params(text: str) -> dict[str, str]:
    """Parse ``name=value, ...`` into a dict keyed by lower-case name, values unquoted."""
    params: dict[str, str] = {}
    pos = len(text) - len(text.lstrip(_LWS_AND_COMMA))
    while pos < len(text):
        match = _PARAM.match(text, pos)
        if match is None:
            raise ParseError("malformed auth-param list")
        name, quoted, bare = match.groups()
        name = name.lower()
        if name in params:
            raise ParseError(f"auth-param {name[:32]!r} appears twice")
        if quoted is None:
            params[name] = bare
        else:
            params[name] = _QUOTED_PAIR.sub(r"\1", quoted) if "\\" in quoted else quoted
        pos = match.end()
    return params


def quote(value: str) -> str:
    """Render ``value`` as a quoted-string, escaping ``"`` and ``\\``."""
    if _UNSAFE.search(value):
        raise UnsafeValueError("value contains CR, LF or NUL")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
