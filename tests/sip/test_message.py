"""Whole messages: RFC 3261 §24 examples, header syntax variants, serialization, responses."""

from __future__ import annotations

import pytest

from switch.sip.address import Address
from switch.sip.errors import BadExtension, ParseError, SipError, VersionNotSupported
from switch.sip.headers import CSeq, Headers
from switch.sip.message import (
    Request,
    Response,
    make_error_response,
    make_response,
    parse_message,
)
from switch.sip.uri import SipURI


def wire(text: str, body: str = "") -> bytes:
    """RFC-style text (LF line ends, no trailing empty line) -> CRLF wire bytes."""
    head = text.strip("\n").replace("\n", "\r\n")
    return (head + "\r\n\r\n" + body.lstrip("\n").replace("\n", "\r\n")).encode()


def request(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def response(data: bytes) -> Response:
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


def fields_equal(a: Request | Response, b: Request | Response) -> None:
    def fields(m: Request | Response) -> list[tuple[str, str]]:
        return [(name, value) for name, value in m.headers if name != "Content-Length"]

    assert fields(a) == fields(b)
    assert a.body == b.body
    assert a.is_request == b.is_request
    if isinstance(a, Request) and isinstance(b, Request):
        assert (a.method, a.uri, a.version) == (b.method, b.uri, b.version)
    if isinstance(a, Response) and isinstance(b, Response):
        assert (a.status, a.reason, a.version) == (b.status, b.reason, b.version)


# --- RFC 3261 §24.1 and §24.2, as printed in the RFC ------------------------------------------

REGISTER = wire("""
REGISTER sips:ss2.biloxi.example.com SIP/2.0
Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7
Max-Forwards: 70
From: Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl
To: Bob <sips:bob@biloxi.example.com>
Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com
CSeq: 1 REGISTER
Contact: <sips:bob@client.biloxi.example.com>
Content-Length: 0
""")

OFFER = """
v=0
o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com
s=-
c=IN IP4 192.0.2.101
t=0 0
m=audio 49172 RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""

INVITE = wire(
    """
INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
Max-Forwards: 70
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:alice@client.atlanta.example.com;transport=tcp>
Content-Type: application/sdp
Content-Length: 151
""",
    OFFER,
)

RINGING = wire("""
SIP/2.0 180 Ringing
Via: SIP/2.0/TCP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1
 ;received=192.0.2.3
Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1
 ;received=192.0.2.2
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
 ;received=192.0.2.101
Record-Route: <sip:server10.biloxi.example.com;lr>,
 <sip:bigbox3.site3.atlanta.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=314159
Call-ID: 3848276298220188511@atlanta.example.com
Contact: <sip:bob@client.biloxi.example.com;transport=tcp>
CSeq: 1 INVITE
Content-Length: 0
""")

ANSWER = """
v=0
o=bob 2890844527 2890844527 IN IP4 client.biloxi.example.com
s=-
c=IN IP4 192.0.2.201
t=0 0
m=audio 3456 RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""

OK = wire(
    """
SIP/2.0 200 OK
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
 ;received=192.0.2.101
Record-Route: <sip:server10.biloxi.example.com;lr>,
 <sip:bigbox3.site3.atlanta.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=314159
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:bob@client.biloxi.example.com;transport=tcp>
Content-Type: application/sdp
Content-Length: 147
""",
    ANSWER,
)

ACK = wire("""
ACK sip:bob@client.biloxi.example.com SIP/2.0
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bd5
Max-Forwards: 70
Route: <sip:bigbox3.site3.atlanta.example.com;lr>,
 <sip:server10.biloxi.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=314159
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 ACK
Content-Length: 0
""")

BYE = wire("""
BYE sip:alice@client.atlanta.example.com SIP/2.0
Via: SIP/2.0/TCP client.biloxi.example.com:5060;branch=z9hG4bKnashds7
Max-Forwards: 70
Route: <sip:server10.biloxi.example.com;lr>,
 <sip:bigbox3.site3.atlanta.example.com;lr>
From: Bob <sip:bob@biloxi.example.com>;tag=314159
To: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 BYE
Content-Length: 0
""")


@pytest.mark.parametrize("data", [REGISTER, INVITE, RINGING, OK, ACK, BYE])
def test_rfc3261_examples_round_trip(data: bytes) -> None:
    message = parse_message(data)
    again = parse_message(message.to_bytes())
    fields_equal(message, again)
    assert message.to_bytes() == again.to_bytes()


def test_register_example_fields() -> None:
    m = request(REGISTER)
    assert m.method == "REGISTER"
    assert m.uri == SipURI("sips", "ss2.biloxi.example.com")
    assert m.top_via.transport == "TLS"
    assert (m.top_via.host, m.top_via.port) == ("client.biloxi.example.com", 5061)
    assert m.top_via.branch == "z9hG4bKnashds7"
    assert m.max_forwards == 70
    assert m.from_.display_name == "Bob" and m.from_.tag == "a73kszlfl"
    assert m.to.tag is None
    assert m.call_id == "1j9FpLxk3uxtm8tn@biloxi.example.com"
    assert m.cseq == CSeq(1, "REGISTER")
    assert [str(c.uri) for c in m.contacts] == ["sips:bob@client.biloxi.example.com"]
    assert not m.contact_is_star
    assert m.body == b""
    assert m.is_request


def test_invite_example_fields() -> None:
    m = request(INVITE)
    assert m.content_type == "application/sdp"
    assert m.body == OFFER.lstrip("\n").replace("\n", "\r\n").encode()
    assert len(m.body) == 151
    contact_uri = m.contacts[0].uri
    assert isinstance(contact_uri, SipURI) and contact_uri.transport == "tcp"
    assert m.expires is None


def test_ringing_example_fields() -> None:
    m = response(RINGING)
    assert (m.status, m.reason) == (180, "Ringing")
    assert not m.is_request
    assert [v.received for v in m.vias] == ["192.0.2.3", "192.0.2.2", "192.0.2.101"]
    assert m.top_via.branch == "z9hG4bK4b43c2ff8.1"
    assert m.headers.values("Record-Route") == [
        "<sip:server10.biloxi.example.com;lr>",
        "<sip:bigbox3.site3.atlanta.example.com;lr>",
    ]
    assert m.to.tag == "314159"
    assert m.cseq.method == "INVITE"


def test_ack_and_bye_example_fields() -> None:
    ack = request(ACK)
    assert ack.cseq == CSeq(1, "ACK")
    assert len(ack.headers.values("Route")) == 2
    bye = request(BYE)
    assert bye.from_.tag == "314159" and bye.to.tag == "9fxced76sl"


# --- header syntax variants -------------------------------------------------------------------

COMPACT = wire(
    """
INVITE sip:bob@biloxi.example.com SIP/2.0
v: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
f: Alice <sip:alice@atlanta.com>;tag=1928301774
t: Bob <sip:bob@biloxi.com>
i: a84b4c76e66710
CSeq: 314159 INVITE
m: <sip:alice@pc33.atlanta.com>
c: application/sdp
k: 100rel, timer
l: 5
""",
    "v=0\n",
)


def test_compact_forms_equal_long_forms() -> None:
    m = request(COMPACT)
    assert [name for name, _ in m.headers] == [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Type",
        "Supported",
        "Content-Length",
    ]
    assert m.call_id == "a84b4c76e66710"
    assert m.content_type == "application/sdp"
    assert m.headers.values("supported") == ["100rel", "timer"]
    assert m.body == b"v=0\r\n"
    assert b"\r\nCall-ID: a84b4c76e66710\r\n" in m.to_bytes()


def test_folded_lines_are_unfolded() -> None:
    m = request(
        wire("""
OPTIONS sip:a@b SIP/2.0
Via: SIP/2.0/UDP h;branch=z9hG4bK1
To:
 <sip:a@b>
From: <sip:c@d>
 ;tag=x
Call-ID: 1
CSeq: 1
\tOPTIONS
Subject: first
   second
\t third
Content-Length: 0
""")
    )
    assert m.headers.get("To") == "<sip:a@b>"
    assert m.from_.tag == "x"
    assert m.cseq == CSeq(1, "OPTIONS")
    assert m.headers.get("Subject") == "first second third"


def test_lws_around_colon_and_mixed_case_names() -> None:
    m = request(
        wire("""
OPTIONS sip:a@b SIP/2.0
VIA   :SIP/2.0/UDP h;branch=z9hG4bK1
tO\t: <sip:a@b>
fRoM:<sip:c@d>;tag=x
CALL-ID  :   1
cseq: 1 OPTIONS
""")
    )
    assert m.top_via.host == "h"
    assert m.call_id == "1"
    assert [name for name, _ in m.headers] == ["Via", "To", "From", "Call-ID", "CSeq"]


def test_one_line_and_multi_line_lists_are_equivalent() -> None:
    base = """
OPTIONS sip:a@b SIP/2.0
{via}
To: <sip:a@b>
From: <sip:c@d>;tag=x
Call-ID: 1
CSeq: 1 OPTIONS
{contact}
"""
    one = request(
        wire(
            base.format(
                via="Via: SIP/2.0/UDP p1;branch=z9hG4bK1, SIP/2.0/TCP p2;branch=z9hG4bK2",
                contact='Contact: "A, B" <sip:a@x>;q=1, <sip:b@y>',
            )
        )
    )
    many = request(
        wire(
            base.format(
                via="Via: SIP/2.0/UDP p1;branch=z9hG4bK1\nVia: SIP/2.0/TCP p2;branch=z9hG4bK2",
                contact='Contact: "A, B" <sip:a@x>;q=1\nContact: <sip:b@y>',
            )
        )
    )
    assert one.vias == many.vias
    assert [v.host for v in one.vias] == ["p1", "p2"]
    assert one.contacts == many.contacts
    assert one.contacts[0].display_name == "A, B"
    assert one.headers.values("Via") == many.headers.values("Via")


def test_bare_lf_line_ends() -> None:
    data = (
        b"OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:a@b>\n"
        b"From: <sip:c@d>;tag=x\nCall-ID: 1\nCSeq: 1 OPTIONS\nContent-Length: 3\n\nabc"
    )
    m = request(data)
    assert m.body == b"abc"
    assert m.call_id == "1"
    assert b"\r\nCall-ID: 1\r\n" in m.to_bytes()


def test_leading_crlf_before_start_line_is_ignored() -> None:
    assert request(b"\r\n\r\n" + REGISTER).method == "REGISTER"


def test_unknown_headers_pass_through_unchanged() -> None:
    m = request(REGISTER.replace(b"Content-Length: 0", b"X-Odd:  ;;,,;;,;\r\nP-Thing: a ,b"))
    assert m.headers.get("x-odd") == ";;,,;;,;"
    assert b"\r\nX-Odd: ;;,,;;,;\r\nP-Thing: a ,b\r\n" in m.to_bytes()


def test_undecodable_octets_round_trip() -> None:
    data = REGISTER.replace(b"Content-Length: 0", b"Subject: caf\xe9 \xff\xfe ok")
    m = request(data)
    assert "caf" in (m.headers.get("Subject") or "")
    assert b"Subject: caf\xe9 \xff\xfe ok\r\n" in m.to_bytes()
    fields_equal(m, parse_message(m.to_bytes()))


def test_binary_body_and_trailing_octets() -> None:
    body = b"\x00\x01\n\r\x00binary"
    data = REGISTER.replace(b"Content-Length: 0", f"Content-Length: {len(body)}".encode())
    m = request(data + body + b"GARBAGE AFTER")
    assert m.body == body
    no_length = REGISTER.replace(b"Content-Length: 0\r\n", b"")
    assert request(no_length + b"rest of datagram").body == b"rest of datagram"


def test_to_bytes_writes_correct_content_length() -> None:
    m = request(REGISTER)
    m.body = b"hello"
    out = m.to_bytes()
    assert out.count(b"Content-Length") == 1
    assert b"\r\nContent-Length: 5\r\n\r\nhello" in out
    assert request(out).body == b"hello"
    m.headers.remove("Content-Length")
    assert request(m.to_bytes()).headers.get("Content-Length") == "5"
    assert b"\n" not in out.replace(b"\r\n", b"")


def test_accessors_follow_header_mutations() -> None:
    m = request(INVITE)
    assert m.top_via.branch == "z9hG4bK74bf9"
    m.headers.prepend("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKnew")
    assert m.top_via.branch == "z9hG4bKnew"
    assert len(m.vias) == 2
    m.headers.set("To", "<sip:bob@biloxi.example.com>;tag=abc")
    assert m.to.tag == "abc"
    m.headers.set("CSeq", "2 INVITE")
    assert m.cseq.seq == 2
    m.headers.set("Contact", "*")
    assert m.contact_is_star
    with pytest.raises(ParseError):
        _ = m.contacts
    m.headers.remove("Contact")
    assert m.contacts == []
    m.headers = Headers(list(m.headers))
    assert m.top_via.branch == "z9hG4bKnew"


def test_expires_and_max_forwards_accessors() -> None:
    m = request(REGISTER.replace(b"Content-Length: 0", b"Expires: 0003600"))
    assert m.expires == 3600
    huge = request(REGISTER.replace(b"Content-Length: 0", b"Expires: " + b"9" * 40))
    assert huge.expires == 2**32 - 1
    assert request(REGISTER.replace(b"Max-Forwards: 70\r\n", b"")).max_forwards is None


def test_contact_star() -> None:
    m = request(REGISTER.replace(b"Contact: <sips:bob@client.biloxi.example.com>", b"Contact: *"))
    assert m.contact_is_star


# --- rejected messages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b"Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com\r\n", b"", "Missing Call-ID"),
        (b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE", "CSeq method does not match"),
        (b"CSeq: 1 REGISTER", b"CSeq: 2147483648 REGISTER", "CSeq"),
        (b"Max-Forwards: 70", b"Max-Forwards: 300", "Max-Forwards"),
        (b"Max-Forwards: 70", b"Max-Forwards: -1", "Max-Forwards"),
        (b"Content-Length: 0", b"Content-Length: 10", "Content-Length larger"),
        (b"Content-Length: 0", b"Content-Length: -999", "Content-Length"),
        (b"Content-Length: 0", b"Content-Length: five", "Content-Length"),
        (b"Content-Length: 0", b"Content-Length: 0\r\nl: 0", "Multiple Content-Length"),
        (b"Content-Length: 0", b"Expires: soon", "Expires"),
        (b"Content-Length: 0", b"To: <sip:x@y>", "Multiple To"),
        (b"Content-Length: 0", b"Contact: *", "Contact"),
        (b"Content-Length: 0", b"Contact: <sip:a@b>;;;", "Contact"),
        (b"Content-Length: 0", b"Broken header line", "Malformed header line"),
        (b"Content-Length: 0", b"Bad Name: x", "Malformed header name"),
        (
            b"Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7",
            b"Via: SIP/2.0/TLS",
            "Malformed Via",
        ),
        (b"From: Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl", b"From: <sips:bob@>", "From"),
        (b"Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com", b"Call-ID: a b", "Call-ID"),
        (
            b"REGISTER sips:ss2.biloxi.example.com SIP/2.0",
            b"REGISTER sips:ss2.biloxi.example.com SIP/2.0 ",
            "Request-Line",
        ),
        (b"REGISTER sips:", b"REG<ISTER sips:", "method"),
        (
            b"REGISTER sips:ss2.biloxi.example.com SIP/2.0",
            b"REGISTER sips:ss2 SIPP/2.0",
            "SIP-Version",
        ),
    ],
)
def test_request_faults_are_400_with_a_reason(old: bytes, new: bytes, reason: str) -> None:
    data = REGISTER.replace(old, new, 1)
    assert data != REGISTER
    with pytest.raises(ParseError) as info:
        parse_message(data)
    error = info.value
    assert error.status == 400
    assert reason in error.reason
    assert error.reason.startswith("Bad Request - ")
    assert not error.is_response
    answer = make_error_response(error)
    if "Via" in reason:
        assert answer is None  # nowhere to send it
    else:
        assert answer is not None and answer.status == 400


def test_unknown_version_is_505() -> None:
    with pytest.raises(VersionNotSupported) as info:
        parse_message(REGISTER.replace(b" SIP/2.0\r\n", b" SIP/3.0\r\n", 1))
    assert info.value.status == 505


def test_missing_empty_line_is_400() -> None:
    with pytest.raises(ParseError) as info:
        parse_message(REGISTER.rstrip(b"\r\n") + b"\r\n")
    assert "empty line" in info.value.reason


@pytest.mark.parametrize(
    "status", [b"99", b"700", b"4294967301", b"2OO", b"\xd9\xa1\xd9\xa0\xd9\xa0"]
)
def test_bad_status_codes_are_response_faults(status: bytes) -> None:
    data = RINGING.replace(b"SIP/2.0 180 Ringing", b"SIP/2.0 " + status + b" Ringing")
    with pytest.raises(ParseError) as info:
        parse_message(data)
    assert info.value.is_response
    assert make_error_response(info.value) is None


def test_response_reason_phrases() -> None:
    assert response(RINGING.replace(b"180 Ringing", b"180 ")).reason == ""
    assert response(RINGING.replace(b"180 Ringing", b"180")).reason == ""
    utf8 = "= 2**3 * 5**2 сто двадцать"
    m = response(RINGING.replace(b"Ringing", utf8.encode()))
    assert m.reason == utf8
    assert m.to_bytes().startswith(f"SIP/2.0 180 {utf8}\r\n".encode())


def test_faulty_response_has_no_answer_but_keeps_context() -> None:
    with pytest.raises(ParseError) as info:
        parse_message(RINGING.replace(b"CSeq: 1 INVITE", b"CSeq: 1 INVITE\r\nCSeq: 2 INVITE"))
    assert info.value.is_response
    assert make_error_response(info.value) is None


# --- building responses -----------------------------------------------------------------------


def test_make_response_copies_the_rfc3261_fields() -> None:
    req = request(
        RINGING.replace(b"SIP/2.0 180 Ringing", b"INVITE sip:bob@b SIP/2.0").replace(
            b";tag=314159", b""
        )
    )
    res = make_response(req, 486, to_tag="abc")
    assert (res.status, res.reason) == (486, "Busy Here")
    assert res.headers.get_all("Via") == req.headers.get_all("Via")
    assert res.headers.get("From") == req.headers.get("From")
    assert res.to.tag == "abc"
    assert res.headers.get("Call-ID") == req.call_id
    assert res.cseq == req.cseq
    assert "Record-Route" not in res.headers
    assert "Contact" not in res.headers
    again = response(res.to_bytes())
    assert again.vias == req.vias


def test_make_response_keeps_an_existing_to_tag_and_custom_reason() -> None:
    req = request(BYE)
    res = make_response(req, 200, "Fine", to_tag="other")
    assert res.reason == "Fine"
    assert res.to.tag == "9fxced76sl"
    assert make_response(req, 299).reason == "OK"  # unknown codes fall back to their class


def test_make_response_100_echoes_timestamp() -> None:
    req = request(REGISTER.replace(b"Content-Length: 0", b"Timestamp: 54"))
    assert make_response(req, 100).headers.get("Timestamp") == "54"
    assert "Timestamp" not in make_response(req, 200).headers


def test_make_error_response_from_context() -> None:
    with pytest.raises(ParseError) as info:
        parse_message(REGISTER.replace(b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE"))
    res = make_error_response(info.value)
    assert res is not None
    assert res.reason == "Bad Request - CSeq method does not match"
    assert [name for name, _ in res.headers] == ["Via", "From", "To", "Call-ID", "CSeq"]
    assert res.to.tag  # stateless answers still carry a To tag
    second = make_error_response(info.value)
    assert second is not None and second.to.tag == res.to.tag  # same tag for retransmissions


def test_make_error_response_needs_a_via() -> None:
    assert make_error_response(ParseError("Bad Request - x")) is None
    error = BadExtension(["foo", "bar"], context=[("Via", "SIP/2.0/UDP h;branch=z9hG4bK1")])
    res = make_error_response(error)
    assert res is not None
    assert (res.status, res.reason) == (420, "Bad Extension")
    assert res.headers.get("Unsupported") == "foo, bar"
    assert make_error_response(SipError("x", is_response=True, context=error.context)) is None


def test_built_request_serializes() -> None:
    headers = Headers()
    headers.add("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc")
    headers.add("From", str(Address(SipURI("sip", "a.com", user="a"), "A", {"tag": "1"})))
    headers.add("To", "<sip:b@b.com>")
    headers.add("Call-ID", "xyz")
    headers.add("CSeq", "1 MESSAGE")
    headers.add("Max-Forwards", "70")
    req = Request("MESSAGE", SipURI("sip", "b.com", user="b"), headers, b"hi")
    data = req.to_bytes()
    assert data.startswith(b"MESSAGE sip:b@b.com SIP/2.0\r\nVia: SIP/2.0/UDP")
    again = request(data)
    assert again.from_.display_name == "A"
    assert again.body == b"hi"
