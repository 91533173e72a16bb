"""SIP URI parsing and serialization (RFC 3261 §19.1, §25.1; RFC 5118 IPv6 references)."""

from __future__ import annotations

import pytest

from switch.sip.errors import ParseError
from switch.sip.uri import AbsoluteURI, SipURI, parse_uri


def sip(text: str) -> SipURI:
    uri = parse_uri(text)
    assert isinstance(uri, SipURI)
    return uri


def test_full_sip_uri_parts() -> None:
    uri = sip(
        "sip:alice:secret@atlanta.com:5070;transport=TCP;lr?subject=project%20x&priority=urgent"
    )
    assert uri.scheme == "sip"
    assert uri.user == "alice"
    assert uri.password == "secret"
    assert uri.host == "atlanta.com"
    assert uri.port == 5070
    assert uri.params == {"transport": "TCP", "lr": None}
    assert uri.transport == "tcp"
    assert uri.headers == {"subject": "project%20x", "priority": "urgent"}


def test_scheme_host_and_param_names_are_case_insensitive() -> None:
    uri = sip("SIPS:Bob@BILOXI.Example.COM;Maddr=239.255.255.1;TTL=15")
    assert uri.scheme == "sips"
    assert uri.host == "biloxi.example.com"
    assert uri.user == "Bob"  # the user part is case-sensitive and kept
    assert uri.params == {"maddr": "239.255.255.1", "ttl": "15"}


def test_host_only_uri() -> None:
    uri = sip("sip:registrar.biloxi.com")
    assert (uri.user, uri.host, uri.port, uri.params) == (None, "registrar.biloxi.com", None, {})
    assert uri.transport is None


@pytest.mark.parametrize(
    ("text", "host", "address", "port"),
    [
        ("sip:[2001:db8::10]", "[2001:db8::10]", "2001:db8::10", None),
        ("sip:user@[2001:DB8::10]:5070", "[2001:db8::10]", "2001:db8::10", 5070),
        ("sip:[2001:db8::10:5070]", "[2001:db8::10:5070]", "2001:db8::10:5070", None),
        ("sip:[2001:db8:::192.0.2.1]", "[2001:db8:::192.0.2.1]", "2001:db8:::192.0.2.1", None),
        ("sip:ted@[::ffff:192.0.2.2]", "[::ffff:192.0.2.2]", "::ffff:192.0.2.2", None),
        ("sip:192.0.2.4:5061", "192.0.2.4", "192.0.2.4", 5061),
    ],
)
def test_hosts(text: str, host: str, address: str, port: int | None) -> None:
    uri = sip(text)
    assert uri.host == host
    assert uri.host_address == address
    assert uri.port == port


def test_escapes_are_kept_verbatim() -> None:
    uri = sip("sip:null-%00-null@example.com")
    assert uri.user == "null-%00-null"
    assert len(uri.user) == 13
    assert str(uri) == "sip:null-%00-null@example.com"


def test_user_part_may_hold_semicolons_and_questionmarks() -> None:
    uri = sip("sip:user;par=u%40example.net@example.com")
    assert uri.user == "user;par=u%40example.net"
    assert uri.host == "example.com"
    assert uri.params == {}
    assert sip("sip:*67#@pbx.example.com").user == "*67#"


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@atlanta.com",
        "sips:alice:pw@atlanta.com:5061;transport=tls;lr;maddr=10.0.0.1",
        "sip:+1-212-555-1212:1234@gateway.com;user=phone",
        "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:[2001:db8::10]:5070;lr",
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
        "sip:host;empty-value-flag",
    ],
)
def test_round_trip(text: str) -> None:
    uri = parse_uri(text)
    assert str(uri) == text
    assert parse_uri(str(uri)) == uri


def test_serialization_of_built_uri() -> None:
    uri = SipURI("sip", "example.com", user="bob", port=5060, params={"lr": None, "x": "1"})
    assert str(uri) == "sip:bob@example.com:5060;lr;x=1"


@pytest.mark.parametrize(
    ("text", "scheme", "opaque"),
    [
        ("tel:+1-201-555-0123", "tel", "+1-201-555-0123"),
        ("http://www.example.com", "http", "//www.example.com"),
        ("isbn:2983792873", "isbn", "2983792873"),
        (
            "nobodyKnowsThisScheme:totallyopaquecontent",
            "nobodyknowsthisscheme",
            "totallyopaquecontent",
        ),
        ("soap.beep://192.0.2.103:3002", "soap.beep", "//192.0.2.103:3002"),
        ("urn:service:sos", "urn", "service:sos"),
    ],
)
def test_other_schemes_are_opaque(text: str, scheme: str, opaque: str) -> None:
    uri = parse_uri(text)
    assert uri == AbsoluteURI(scheme, opaque)
    assert str(uri).lower() == text.lower()


@pytest.mark.parametrize(
    "text",
    [
        "<sip:user@example.com>",  # ltgtruri
        "sip:user@example.com; lr",  # lwsruri
        "sip:2001:db8::10",  # ipv6-bad: no brackets
        "sip:user@example.com:99999",
        "sip:user@host:port",
        "sip:@example.com",
        "sip:",
        "sip:a b@example.com",
        "sip:user@ex ample.com",
        "sip:%zz@example.com",  # broken escape
        "sip:host;;lr",
        "sip:host;=x",
        "sip:host?noequals",
        "no-colon-at-all",
        "1abc:opaque",  # scheme must start with a letter
        "tel:",
        "tel:has space",
        "",
    ],
)
def test_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_uri(text)
