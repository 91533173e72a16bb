"""name-addr / addr-spec values with header parameters (RFC 3261 §20.10, §25.1).

Used for From, To, Contact, Route, Record-Route, Refer-To, P-Asserted-Identity and the like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ._syntax import (
    PARAMS,
    QUOTED,
    QUOTED_RE,
    WS,
    format_params,
    is_token_words,
    quote,
    split_commas,
    split_params,
)
from ._syntax import unquote as _unquote
from .errors import ParseError
from .uri import (
    SIP_URI,
    AbsoluteURI,
    SipURI,
    check_sip_match,
    parse_uri,
    sip_uri_from_match,
)


@dataclass(slots=True)
class Address:
    """One address value; ``params`` are header parameters (after ``>``), never URI ones."""

    uri: SipURI | AbsoluteURI
    display_name: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        params = format_params(self.params) if self.params else ""
        if self.display_name is not None:
            return f"{quote(self.display_name)} <{self.uri}>{params}"
        return f"<{self.uri}>{params}"


def parse_address(text: str, what: str = "address") -> Address:
    """Parse one address value. ``what`` names the header in error reasons ("To", "Contact")."""
    match = _SIP_NAME_ADDR_RE.fullmatch(text)
    if match is None:
        return _parse_general(text, what)
    try:
        uri = sip_uri_from_match(match, 3, 10)
    except ParseError as exc:
        raise ParseError(f"Bad Request - Malformed URI in {what}") from exc
    quoted, words, params_text = match.group(1, 2, 10)
    display = None if quoted is None and not words else _display(quoted, words, what)
    return Address(uri, display, split_params(params_text) if params_text else {})


def check_address(text: str, what: str = "address") -> None:
    """Raise exactly where parse_address would, without building the objects."""
    match = _SIP_NAME_ADDR_RE.fullmatch(text)
    if match is None:
        _parse_general(text, what)
        return
    try:
        check_sip_match(match, 3, 10)
    except ParseError as exc:
        raise ParseError(f"Bad Request - Malformed URI in {what}") from exc
    _display(match[1], match[2], what)


def check_address_list(text: str, what: str = "address") -> None:
    for item in split_commas(text):
        check_address(item, what)


def _display(quoted: str | None, words: str | None, what: str) -> str | None:
    if quoted is not None:
        return _unquote(quoted)
    if words:
        words = words.strip(" \t")
        # lwsdisp (RFC 4475 §3.1.1.6): no LWS before "<" is a known spec bug, accepted.
        if words and not is_token_words(words):
            raise ParseError(f"Bad Request - Malformed display name in {what}")
    return words or None


def _parse_general(text: str, what: str) -> Address:
    """Other schemes, addr-spec form, LWS around the value, and errors."""
    match = _NAME_ADDR_RE.fullmatch(text)
    if match is None:
        return _parse_other(text, what)
    quoted, words, uri_text, params_text = match.groups()
    display = _display(quoted, words, what)
    return Address(_uri(uri_text, what), display, split_params(params_text))


def parse_address_list(text: str, what: str = "address") -> list[Address]:
    """Parse a comma-separated list of addresses (one header line); empty items are errors."""
    return [parse_address(item, what) for item in split_commas(text)]


# The usual shape, SIP URI included, in one match (groups: quoted, words, 7 URI groups, params).
_SIP_NAME_ADDR_RE = re.compile(rf"(?:({QUOTED})[ \t]*|([^<\"]*))<{SIP_URI}>({PARAMS}){WS}", re.S)
# name-addr: [ quoted-string / *(token LWS) ] "<" URI ">" *( SEMI generic-param ).
_NAME_ADDR_RE = re.compile(rf"{WS}(?:({QUOTED})|([^<\"]*?)){WS}<([^<>]*)>({PARAMS}){WS}", re.S)
# addr-spec: the URI cannot hold ";", "?", "," or LWS (RFC 3261 §20), so ";" starts header params.
_ADDR_SPEC_RE = re.compile(rf"{WS}([^ \t;<>\"]+)({PARAMS}){WS}", re.S)


def _parse_other(text: str, what: str) -> Address:
    """addr-spec form, or a diagnosis of why ``text`` is not an address."""
    match = _ADDR_SPEC_RE.fullmatch(text)
    if match is None:
        stripped = text.strip(" \t")
        if not stripped:
            raise ParseError(f"Bad Request - Empty {what}")
        if stripped.startswith('"') and QUOTED_RE.match(stripped) is None:
            raise ParseError(f"Bad Request - Unterminated quoted string in {what}")
        raise ParseError(f"Bad Request - Malformed {what}")
    uri_text, params_text = match.groups()
    if "?" in uri_text or "," in uri_text:
        raise ParseError(f"Bad Request - URI with headers in {what} must be enclosed in <>")
    return Address(_uri(uri_text, what), None, split_params(params_text))


def _uri(text: str, what: str) -> SipURI | AbsoluteURI:
    try:
        return parse_uri(text)
    except ParseError as exc:
        raise ParseError(f"Bad Request - Malformed URI in {what}") from exc
