"""name-addr / addr-spec values with header parameters (RFC 3261 §20.10, §25.1).

Used for From, To, Contact, Route, Record-Route, Refer-To, P-Asserted-Identity and the like.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._syntax import QUOTED_RE, format_params, is_token_words, parse_params, quote, split_commas
from ._syntax import unquote as _unquote
from .errors import ParseError
from .uri import AbsoluteURI, SipURI, parse_uri


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
    return _parse_address(text.strip(), what)


def parse_address_list(text: str, what: str = "address") -> list[Address]:
    """Parse a comma-separated list of addresses (one header line); empty items are errors."""
    return [parse_address(item, what) for item in split_commas(text)]


def _parse_address(text: str, what: str) -> Address:
    if not text:
        raise ParseError(f"Bad Request - Empty {what}")
    display: str | None = None
    first = text[0]
    if first == '"':
        match = QUOTED_RE.match(text)
        if match is None:
            raise ParseError(f"Bad Request - Unterminated quoted string in {what}")
        display = _unquote(match.group())
        rest = text[match.end() :].lstrip(" \t")
        if not rest.startswith("<"):
            raise ParseError(f"Bad Request - Malformed {what}")
        return _name_addr(rest, display, what)
    lt = text.find("<")
    if lt >= 0:
        if lt:
            words = text[:lt].rstrip(" \t")
            # lwsdisp (RFC 4475 §3.1.1.6): no LWS before "<" is a known spec bug, accepted.
            if not is_token_words(words):
                raise ParseError(f"Bad Request - Malformed display name in {what}")
            display = words
        return _name_addr(text[lt:], display, what)
    # addr-spec: the URI cannot hold ";", "?" or "," (RFC 3261 §20), so ";" starts header params.
    semi = text.find(";")
    if semi < 0:
        uri_text, params_text = text, ""
    else:
        uri_text, params_text = text[:semi].rstrip(" \t"), text[semi:]
    if "?" in uri_text or "," in uri_text:
        raise ParseError(f"Bad Request - URI with headers in {what} must be enclosed in <>")
    uri = _uri(uri_text, what)
    return Address(uri, None, parse_params(params_text, what))


def _name_addr(text: str, display: str | None, what: str) -> Address:
    """``text`` starts with "<"."""
    gt = text.find(">")
    if gt < 0:
        raise ParseError(f"Bad Request - Missing '>' in {what}")
    uri = _uri(text[1:gt], what)
    return Address(uri, display, parse_params(text[gt + 1 :], what))


def _uri(text: str, what: str) -> SipURI | AbsoluteURI:
    try:
        return parse_uri(text)
    except ParseError as exc:
        raise ParseError(f"Bad Request - Malformed URI in {what}") from exc
