"""Property tests: no input crashes the parser or the framer; valid messages round-trip."""

from __future__ import annotations

import contextlib
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switch.sip import _parse
from switch.sip.address import Address
from switch.sip.errors import SipError
from switch.sip.framing import StreamFramer
from switch.sip.headers import Via
from switch.sip.message import Request, Response, parse_message
from switch.sip.uri import AbsoluteURI, SipURI

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID_INVITE = (
    b"INVITE sip:bob@biloxi.example.com;transport=tcp SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Via: SIP/2.0/TCP [2001:db8::9:1];branch=z9hG4bK2;received=192.0.2.1\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Alice \\"A\\"" <sip:alice@atlanta.example.com>;tag=1928301774\r\n'
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>;expires=60, sip:x@y;q=0.5\r\n"
    b"Route: <sip:p1.example.com;lr>,\r\n <sip:p2.example.com;lr>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 31\r\n"
    b"\r\n"
    b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"
)


def _assert_only_sip_errors(data: bytes) -> None:
    # The inner parser has no safety net: a bug there must show up here, not be wrapped.
    for parse in (parse_message, lambda d: _parse.parse(d, Request, Response)):
        with contextlib.suppress(SipError):
            parse(data)


EDIT_COUNTS = st.integers(1, 8)
EDITS = st.sampled_from(["insert", "delete", "replace"])
OCTETS = st.sampled_from(b'\x00\r\n \t:;,<>"\\%@=[]/0123456789Zz\xff\xc3')


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID_INVITE)
    for _ in range(draw(EDIT_COUNTS)):
        action = draw(EDITS)
        position = draw(st.integers(0, len(data)))
        octet = draw(OCTETS)
        if action == "insert":
            data.insert(position, octet)
        elif position < len(data):
            if action == "delete":
                del data[position]
            else:
                data[position] = octet
    return bytes(data)


@SETTINGS
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_sip_errors(data: bytes) -> None:
    _assert_only_sip_errors(data)
    _assert_only_sip_errors(b"INVITE sip:a@b SIP/2.0\r\n" + data)


@SETTINGS
@given(mutated())
def test_mutated_invite_raises_only_sip_errors(data: bytes) -> None:
    _assert_only_sip_errors(data)
    try:
        message = parse_message(data)
    except SipError:
        return
    # Whatever parse_message accepted, the typed accessors can read without a new fault.
    assert message.top_via is message.vias[0]
    _ = (message.call_id, message.cseq, message.from_, message.to, message.max_forwards)
    if not message.contact_is_star:
        _ = message.contacts
    again = parse_message(message.to_bytes())
    assert [f for f in again.headers if f[0] != "Content-Length"] == [
        f for f in message.headers if f[0] != "Content-Length"
    ]
    assert again.body == message.body


@SETTINGS
@given(st.lists(st.one_of(st.binary(max_size=80), mutated()), max_size=4))
def test_framer_raises_only_sip_errors(chunks: list[bytes]) -> None:
    framer = StreamFramer(max_message_size=2000)
    try:
        for chunk in chunks:
            for message in framer.feed(chunk):
                _assert_only_sip_errors(message)
    except SipError:
        pass


# --- generated valid messages ----------------------------------------------------------------

TOKEN_ALPHABET = string.ascii_letters + string.digits + "-.!%*_+`'~"
tokens = st.text(TOKEN_ALPHABET, min_size=1, max_size=8)
names = st.sampled_from(["tag", "lr", "q", "expires", "x", "maddr", "ttl", "user", "a-b", "z9"])
hosts = st.sampled_from(
    [
        "example.com",
        "PBX.Example.COM",
        "a-1.b_2.c",
        "192.0.2.1",
        "[2001:db8::10]",
        "[::ffff:192.0.2.2]",
        "[2001:db8:::192.0.2.1]",
    ]
) | st.text(string.ascii_lowercase + string.digits + ".-", min_size=1, max_size=12)
ports = st.none() | st.integers(1, 65535)
users = st.text(string.ascii_letters + string.digits + "-_.!~*'()&=+$,;?/%", max_size=10).map(
    lambda text: "u" + text.replace("%", "%2A")
)
uri_values = st.text(
    string.ascii_letters + string.digits + "-_.!~*'()[]/:&+$", min_size=1, max_size=8
)
uri_params = st.dictionaries(names, st.none() | uri_values, max_size=2)
HNV = string.ascii_letters + string.digits + "-_.!~*'()[]/?:+$"
uri_headers = st.dictionaries(
    st.text(HNV, min_size=1, max_size=5), st.text(HNV, max_size=5), max_size=2
)
uri_kwargs = st.fixed_dictionaries({"user": st.none() | users, "port": ports, "params": uri_params})


SCHEMES = st.sampled_from(["sip", "sips"])
OPTIONAL_USERS = st.none() | users
BOOLEANS = st.booleans()


@st.composite
def sip_uris(draw: st.DrawFn, with_headers: bool = False) -> SipURI:
    scheme = draw(SCHEMES)
    host = draw(hosts).lower()
    headers = draw(uri_headers) if with_headers else {}
    user = draw(OPTIONAL_USERS)
    return SipURI(scheme, host, user, None, draw(ports), draw(uri_params), headers)


tel_uris = st.text(string.digits + "-+", min_size=1, max_size=12).map(
    lambda s: AbsoluteURI("tel", s)
)
# Display names with everything that needs quoting or escaping, NUL and non-ASCII included.
display_names = st.none() | st.text(string.ascii_letters + ' "\\\x00\t<>,;:@=%é大', max_size=10)
header_params = st.dictionaries(names, st.none() | tokens, max_size=2)


ADDRESS_URIS = st.one_of(sip_uris(with_headers=True), tel_uris)


@st.composite
def addresses(draw: st.DrawFn) -> Address:
    uri = draw(ADDRESS_URIS)
    return Address(uri, draw(display_names), draw(header_params))


VIA_PARAMS = st.dictionaries(names, tokens, max_size=2)
RPORTS = st.none() | st.integers(1, 65535).map(str)
TRANSPORTS = st.sampled_from(["UDP", "TCP", "TLS", "SCTP", "WS", "WSS"])


@st.composite
def vias(draw: st.DrawFn) -> Via:
    params: dict[str, str | None] = {"branch": "z9hG4bK" + draw(tokens)}
    params.update(draw(VIA_PARAMS))
    if draw(BOOLEANS):
        params["rport"] = draw(RPORTS)
    transport = draw(TRANSPORTS)
    return Via(transport, draw(hosts).lower(), draw(ports), params)


odd_values = st.text(TOKEN_ALPHABET + ' ,;=<>"', max_size=12)
VIA_LISTS = st.lists(vias(), min_size=1, max_size=2)
CONTACT_LISTS = st.lists(addresses(), max_size=2)
REQUEST_URIS = st.one_of(sip_uris(), tel_uris)
SEQUENCE_NUMBERS = st.integers(0, 2**31 - 1)
HOP_COUNTS = st.integers(0, 255)
EXTRA_HEADERS = st.lists(st.tuples(tokens, odd_values), max_size=2)
BODIES = st.binary(max_size=20)
methods = st.sampled_from(["INVITE", "REGISTER", "OPTIONS", "BYE", "MESSAGE"]) | tokens


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    method = draw(methods)
    via_list = draw(VIA_LISTS)
    contacts = draw(CONTACT_LISTS)
    lines = [f"{method} {draw(REQUEST_URIS)} SIP/2.0"]
    if draw(BOOLEANS):
        lines.append("Via: " + ", ".join(map(str, via_list)))
    else:
        lines += [f"Via: {via}" for via in via_list]
    lines += [
        f"From: {draw(addresses())}",
        f"To: {draw(addresses())}",
        f"Call-ID: {draw(tokens)}@{draw(hosts)}",
        f"CSeq: {draw(SEQUENCE_NUMBERS)} {method}",
        f"Max-Forwards: {draw(HOP_COUNTS)}",
    ]
    if contacts:
        lines.append("Contact: " + ", ".join(map(str, contacts)))
    for name, value in draw(EXTRA_HEADERS):
        lines.append(f"X-{name}: {value.strip()}")
    body = draw(BODIES)
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@SETTINGS
@given(messages())
def test_generated_messages_round_trip(data: bytes) -> None:
    first = parse_message(data)
    assert isinstance(first, Request)
    second = parse_message(first.to_bytes())
    assert isinstance(second, Request)
    assert second.method == first.method
    assert second.uri == first.uri
    assert second.version == first.version
    assert list(second.headers) == list(first.headers)
    assert second.body == first.body
    assert second.vias == first.vias
    assert second.from_ == first.from_
    assert second.to == first.to
    assert second.contacts == first.contacts
    assert second.cseq == first.cseq
    assert second.call_id == first.call_id
    assert second.max_forwards == first.max_forwards


@SETTINGS
@given(addresses())
def test_addresses_survive_a_message(address: Address) -> None:
    """An Address written into a header comes back equal (display name escapes included)."""
    data = VALID_INVITE.replace(b"To: Bob <sip:bob@biloxi.example.com>", f"To: {address}".encode())
    message = parse_message(data)
    assert message.to == address
