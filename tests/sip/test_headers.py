"""Header names, the Headers multi-map, Via and CSeq (RFC 3261 §7.3, §20.42, §20.16)."""

from __future__ import annotations

import pytest

from switch.sip.errors import ParseError
from switch.sip.headers import (
    COMPACT_FORMS,
    CSeq,
    Headers,
    InvalidHeaderError,
    Via,
    canonical_name,
    parse_cseq,
    parse_via,
)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("call-id", "Call-ID"),
        ("CALL-ID", "Call-ID"),
        ("i", "Call-ID"),
        ("WWW-authenticate", "WWW-Authenticate"),
        ("cseq", "CSeq"),
        ("v", "Via"),
        ("V", "Via"),
        ("m", "Contact"),
        ("l", "Content-Length"),
        ("f", "From"),
        ("t", "To"),
        ("k", "Supported"),
        ("x", "Session-Expires"),
        ("max-FORWARDS", "Max-Forwards"),
        ("x-custom-thing", "X-Custom-Thing"),
    ],
)
def test_canonical_name(name: str, canonical: str) -> None:
    assert canonical_name(name) == canonical


def test_compact_forms_cover_rfc3261() -> None:
    expected = {"c", "e", "f", "i", "k", "l", "m", "s", "t", "v"}
    assert expected <= COMPACT_FORMS.keys()
    assert all(len(key) == 1 and key.islower() for key in COMPACT_FORMS)


def test_get_is_case_insensitive_and_expands_compact_forms() -> None:
    headers = Headers([("v", "SIP/2.0/UDP a"), ("CALL-ID", "abc"), ("X-Thing", "1")])
    assert list(headers) == [("Via", "SIP/2.0/UDP a"), ("Call-ID", "abc"), ("X-Thing", "1")]
    assert headers.get("via") == "SIP/2.0/UDP a"
    assert headers.get("i") == "abc"
    assert headers.get("x-thing") == "1"
    assert headers.get("Route") is None
    assert "call-id" in headers
    assert "Route" not in headers
    assert 3 not in headers
    assert len(headers) == 3


def test_multi_values_and_list_splitting() -> None:
    headers = Headers(
        [
            ("Route", "<sip:a;lr>, <sip:b;lr>"),
            ("Allow", "INVITE, ACK"),
            ("Route", '"x, y" <sip:c;lr>'),
            ("Allow", "BYE,,CANCEL"),
        ]
    )
    assert headers.get_all("route") == ["<sip:a;lr>, <sip:b;lr>", '"x, y" <sip:c;lr>']
    assert headers.values("Route") == ["<sip:a;lr>", "<sip:b;lr>", '"x, y" <sip:c;lr>']
    assert headers.values("Allow") == ["INVITE", "ACK", "BYE", "CANCEL"]
    assert headers.values("Supported") == []


def test_add_prepend_set_remove_keep_order() -> None:
    headers = Headers([("Via", "v1"), ("From", "f"), ("Via", "v2"), ("To", "t")])
    headers.prepend("Via", "v0")
    assert headers.get_all("Via") == ["v0", "v1", "v2"]
    assert next(iter(headers)) == ("Via", "v0")
    headers.prepend("Record-Route", "<sip:p;lr>")
    assert next(iter(headers)) == ("Record-Route", "<sip:p;lr>")
    headers.set("Via", "only")
    assert [name for name, _ in headers] == ["Record-Route", "Via", "From", "To"]
    assert headers.get_all("Via") == ["only"]
    headers.set("Max-Forwards", "70")
    assert list(headers)[-1] == ("Max-Forwards", "70")
    headers.add("x-a", "1")
    headers.remove("FROM")
    assert [name for name, _ in headers] == ["Record-Route", "Via", "To", "Max-Forwards", "X-A"]
    headers.remove("Nothing-Here")
    assert len(headers) == 5


def test_copy_is_independent() -> None:
    headers = Headers([("Via", "v1")])
    clone = headers.copy()
    clone.add("Via", "v2")
    assert headers.get_all("Via") == ["v1"]
    assert clone.get_all("Via") == ["v1", "v2"]
    assert clone != headers
    clone.remove("Via")
    clone.add("Via", "v1")
    assert clone == headers


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Evil", "a\r\nInjected: 1"), ("X-Evil", "a\nb"), ("Bad Name", "x"), ("", "x")],
)
def test_injection_is_refused(name: str, value: str) -> None:
    with pytest.raises(InvalidHeaderError):
        Headers().add(name, value)


def test_via_fields() -> None:
    [via] = parse_via(
        "SIP/2.0/udp PC33.Atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1"
    )
    assert via.transport == "UDP"
    assert via.host == "pc33.atlanta.com"
    assert via.port == 5066
    assert via.branch == "z9hG4bK776asdhds"
    assert via.received == "192.0.2.1"
    assert via.rport is None
    assert via.protocol == "SIP/2.0"


def test_via_rport_flag_and_value() -> None:
    flag = parse_via("SIP/2.0/UDP 10.0.0.1;rport;branch=z9hG4bKa")[0]
    assert flag.rport is True
    valued = parse_via("SIP/2.0/UDP 10.0.0.1;rport=5062;branch=z9hG4bKa")[0]
    assert valued.rport == 5062
    assert valued.rport is not True
    with pytest.raises(ParseError):
        parse_via("SIP/2.0/UDP 10.0.0.1;rport=abc")


def test_via_lws_and_several_values() -> None:
    vias = parse_via(
        "SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw , SIP / 2.0 / TCP spindle.example.com ;"
        " branch  =   z9hG4bK9ikj8"
    )
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
    ]


@pytest.mark.parametrize(
    ("value", "host", "port", "received"),
    [
        ("SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKa", "[2001:db8::9:1]", 6050, None),
        (
            "SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKa",
            "[2001:db8::9:1]",
            None,
            "[2001:db8::9:255]",
        ),
        (
            "SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKa",
            "[2001:db8::9:1]",
            None,
            "2001:db8::9:255",
        ),
        (
            "SIP/2.0/TCP [::ffff:192.0.2.10]:19823;branch=z9hG4bKa",
            "[::ffff:192.0.2.10]",
            19823,
            None,
        ),
        ("SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKa", "df7jal23ls0d.invalid", None, None),
    ],
)
def test_via_hosts(value: str, host: str, port: int | None, received: str | None) -> None:
    [via] = parse_via(value)
    assert (via.host, via.port, via.received) == (host, port, received)


def test_via_str_round_trip() -> None:
    text = "SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7;rport;received=1.2.3.4"
    [via] = parse_via(text)
    assert str(via) == text
    built = Via("UDP", "[2001:db8::1]", 5060, {"branch": "z9hG4bKx", "rport": None})
    assert str(built) == "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKx;rport"
    assert parse_via(str(built)) == [built]


def test_via_keeps_other_protocol_versions() -> None:
    [via] = parse_via("SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw")
    assert via.protocol == "SIP/7.0"
    assert str(via).startswith("SIP/7.0/UDP ")


@pytest.mark.parametrize(
    "value",
    [
        "SIP/2.0/UDP 192.0.2.15;;,;,,",
        "SIP/2.0/UDP",
        "SIP/2.0 host",
        "SIP/2.0/UDP host:port",
        "SIP/2.0/UDP host:70000",
        "SIP/2.0/UDP host;branch=",
        "SIP/2.0/UDP host garbage",
        "",
        "SIP/2.0/UDP a,",
    ],
)
def test_via_rejects(value: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_via(value)
    assert "Via" in info.value.reason


def test_cseq() -> None:
    assert parse_cseq("4711 INVITE") == CSeq(4711, "INVITE")
    assert parse_cseq("  0009 \t INVITE ") == CSeq(9, "INVITE")
    assert parse_cseq(f"{2**31 - 1} BYE").seq == 2**31 - 1
    assert str(CSeq(1, "ACK")) == "1 ACK"


@pytest.mark.parametrize(
    "value",
    [
        f"{2**31} INVITE",
        "36893488147419103232 REGISTER",
        "-1 INVITE",
        "five INVITE",
        "1",
        "INVITE",
        "1 INVITE extra",
        "1 IN<VITE",
        "",
        "1" * 5000 + " INVITE",
    ],
)
def test_cseq_rejects(value: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_cseq(value)
    assert "CSeq" in info.value.reason
