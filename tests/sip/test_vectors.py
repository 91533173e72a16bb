"""RFC 4475 and RFC 5118 torture messages: one test per file, verdicts from the MANIFESTs.

The byte-exact vectors live outside the project (``../shared/sip-vectors`` next to the repository,
or ``$SIP_VECTORS_DIR``); the tests skip when they are absent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from switch.sip.errors import ParseError, SipError, VersionNotSupported
from switch.sip.headers import parse_via
from switch.sip.message import Request, Response, make_error_response, parse_message
from switch.sip.uri import AbsoluteURI, SipURI


def _vectors_dir() -> Path:
    override = os.environ.get("SIP_VECTORS_DIR")
    if override:
        return Path(override)
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "sip-vectors"


VECTORS = _vectors_dir()


def _load(relative: str) -> bytes:
    path = VECTORS / relative
    if not VECTORS.is_dir():
        pytest.skip(f"SIP vectors not found at {VECTORS}")
    return path.read_bytes()


def _request(relative: str) -> Request:
    message = parse_message(_load(relative))
    assert isinstance(message, Request)
    return message


def _uri(message: Request) -> SipURI:
    assert isinstance(message.uri, SipURI)
    return message.uri


# --- accepted requests: each check names the facts its MANIFEST row calls out ----------------


def check_wsinv(m: Request) -> None:
    assert m.method == "INVITE"
    assert m.max_forwards == 68
    assert (m.cseq.seq, m.cseq.method) == (9, "INVITE")
    assert len(m.vias) == 3
    assert [v.transport for v in m.vias] == ["UDP", "TCP", "UDP"]
    assert m.vias[1].branch == "z9hG4bK9ikj8"
    assert m.vias[2].branch == "z9hG4bK30239"
    [contact] = m.contacts
    assert contact.params["q"] == "0.33"
    assert contact.display_name == 'Quoted string ""'
    assert m.from_.display_name == 'J Rosenberg \\"'
    assert m.from_.tag == "98asjd8"
    assert m.to.tag == "1918181833n"
    assert m.headers.get("Subject") == ""
    assert m.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert m.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert len(m.body) == 150
    assert _uri(m).params == {"unknownparam": None}


def check_intmeth(m: Request) -> None:
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.cseq.method == m.method
    assert _uri(m).user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert _uri(m).password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    # The quoted NUL must not cut the display name short.
    assert m.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert m.from_.tag == "_token~1'+`*%!-."
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert m.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff\u5927\u505c\u96fb"


def check_esc01(m: Request) -> None:
    uri = _uri(m)
    assert uri.user == "sips%3Auser%40example.com"
    assert uri.host == "example.net"
    contact_uri = m.contacts[0].uri
    assert isinstance(contact_uri, SipURI)
    assert contact_uri.user == "cal%6Cer"
    assert contact_uri.params == {"%6c%72": None, "n%61me": "v%61lue%25%34%31"}


def check_escnull(m: Request) -> None:
    to_uri = m.to.uri
    assert isinstance(to_uri, SipURI)
    assert to_uri.user == "null-%00-null"
    users = [c.uri.user for c in m.contacts if isinstance(c.uri, SipURI)]
    assert users == ["%00", "%00%00"]


def check_esc02(m: Request) -> None:
    assert m.method == "RE%47IST%45R"
    assert m.method != "REGISTER"
    assert len(m.contacts) == 2
    assert m.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"
    assert m.from_.display_name == "%Z%45"
    assert m.top_via.branch == "z9hG4bK209%fzsnel234"


def check_lwsdisp(m: Request) -> None:
    assert m.from_.display_name == "caller"
    assert m.from_.tag == "323"


def check_longreq(m: Request) -> None:
    assert len(m.vias) == 34
    assert m.to.display_name is not None and "extremeextreme" in m.to.display_name
    assert len(m.from_.tag or "") > 100
    assert m.call_id.startswith("longreq.onereally")


def check_dblreq(m: Request) -> None:
    assert m.method == "REGISTER"
    assert m.body == b""
    assert b"INVITE" not in m.to_bytes()


def check_semiuri(m: Request) -> None:
    uri = _uri(m)
    assert uri.user == "user;par=u%40example.net"
    assert uri.host == "example.com"
    assert uri.params == {}
    assert m.headers.values("Accept")[-1] == "message/sipfrag"
    assert len(m.headers.values("Accept")) == 6


def check_transports(m: Request) -> None:
    assert [v.transport for v in m.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def check_mpart01(m: Request) -> None:
    assert m.content_type == "multipart/mixed;boundary=7a9cbec02ceef655"
    assert len(m.body) == int(m.headers.get("Content-Length") or -1) == 553
    assert b"\x00" in m.body
    assert m.top_via.rport is True


def check_badbranch(m: Request) -> None:
    assert m.top_via.branch == "z9hG4bK"


def check_bext01(m: Request) -> None:
    assert m.headers.values("Proxy-Require") == [
        "noProxiesSupportThis",
        "norDoAnyProxiesSupportThis",
    ]
    assert m.top_via.transport == "TLS"


def check_unkscm(m: Request) -> None:
    assert isinstance(m.uri, AbsoluteURI)
    assert m.uri.scheme == "nobodyknowsthisscheme"
    assert m.uri.opaque == "totallyopaquecontent"


def check_novelsc(m: Request) -> None:
    assert isinstance(m.uri, AbsoluteURI)
    assert str(m.uri) == "soap.beep://192.0.2.103:3002"


def check_unksm2(m: Request) -> None:
    assert isinstance(m.to.uri, AbsoluteURI) and m.to.uri.scheme == "isbn"
    assert isinstance(m.from_.uri, AbsoluteURI) and m.from_.uri.scheme == "http"
    assert isinstance(m.contacts[0].uri, AbsoluteURI)


def check_zeromf(m: Request) -> None:
    assert m.max_forwards == 0


def check_cparam01(m: Request) -> None:
    [contact] = m.contacts
    assert isinstance(contact.uri, SipURI)
    assert contact.uri.params == {}
    assert contact.params == {"unknownparam": None}
    assert str(contact.uri) == "sip:+19725552222@gw1.example.net"


def check_cparam02(m: Request) -> None:
    [contact] = m.contacts
    assert isinstance(contact.uri, SipURI)
    assert contact.uri.params == {"unknownparam": None}
    assert contact.params == {}


def check_regescrt(m: Request) -> None:
    [contact] = m.contacts
    assert isinstance(contact.uri, SipURI)
    assert contact.uri.headers == {"Route": "%3Csip:sip.example.com%3E"}
    assert str(contact.uri) == "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
    assert "Route" not in m.headers


def check_inv2543(m: Request) -> None:
    assert m.max_forwards is None
    assert m.top_via.branch is None
    assert m.from_.tag is None
    assert "Content-Length" not in m.headers
    assert m.body.startswith(b"v=0")


def check_regaut01(m: Request) -> None:
    assert m.headers.get("Authorization") == "NoOneKnowsThisScheme opaque-data=here"


def check_invut(m: Request) -> None:
    assert m.content_type == "application/unknownformat"
    assert len(m.body) == 40


def check_ipv6_good(m: Request) -> None:
    uri = _uri(m)
    assert uri.host == "[2001:db8::10]"
    assert uri.host_address == "2001:db8::10"
    assert m.top_via.host == "[2001:db8::9:1]"
    contact_uri = m.contacts[0].uri
    assert isinstance(contact_uri, SipURI) and contact_uri.host == "[2001:db8::1]"


def check_port_ambiguous(m: Request) -> None:
    uri = _uri(m)
    assert uri.host == "[2001:db8::10:5070]"
    assert uri.port is None


def check_port_unambiguous(m: Request) -> None:
    uri = _uri(m)
    assert uri.host == "[2001:db8::10]"
    assert uri.port == 5070


def check_received_with_delim(m: Request) -> None:
    assert m.top_via.received == "[2001:db8::9:255]"


def check_received_no_delim(m: Request) -> None:
    assert m.top_via.received == "2001:db8::9:255"
    assert m.top_via.branch == "z9hG4bKas3"


def check_mult_ip_in_header(m: Request) -> None:
    assert [(v.host, v.port) for v in m.vias] == [
        ("[2001:db8::9:1]", 6050),
        ("192.0.2.1", None),
        ("[2001:db8::9:255]", None),
    ]
    assert m.vias[2].received == "192.0.2.200"


def check_ipv4_mapped(m: Request) -> None:
    assert m.vias[0].host == "[::ffff:192.0.2.10]" and m.vias[0].port == 19823
    assert m.vias[1].host == "[::ffff:192.0.2.2]"
    assert b"IN IP6 ::ffff:192.0.2.2" in m.body


def check_three_colons(m: Request) -> None:
    assert _uri(m).host == "[2001:db8:::192.0.2.1]"


def check_two_colons(m: Request) -> None:
    assert _uri(m).host == "[2001:db8::192.0.2.1]"


def check_sdp_ipv6(m: Request) -> None:
    assert len(m.body) == int(m.headers.get("Content-Length") or -1)
    assert b"2001:db8::" in m.body


def accepted(check: Callable[[Request], None] | None = None) -> tuple[str, object]:
    return ("accept", check)


def rejected(status: int, reason: str) -> tuple[str, object]:
    return ("reject", (status, reason))


# Verdict per file (RFC 4475 MANIFEST.md, RFC 5118 MANIFEST.md). LIBERAL rows are rejected,
# the RFC's preferred answer.
RFC4475: dict[str, tuple[str, object]] = {
    "wsinv": accepted(check_wsinv),
    "intmeth": accepted(check_intmeth),
    "esc01": accepted(check_esc01),
    "escnull": accepted(check_escnull),
    "esc02": accepted(check_esc02),
    "lwsdisp": accepted(check_lwsdisp),
    "longreq": accepted(check_longreq),
    "dblreq": accepted(check_dblreq),
    "semiuri": accepted(check_semiuri),
    "transports": accepted(check_transports),
    "mpart01": accepted(check_mpart01),
    "unreason": ("response", None),
    "noreason": ("response", None),
    "badinv01": rejected(400, "Via"),
    "clerr": rejected(400, "Content-Length"),
    "ncl": rejected(400, "Content-Length"),
    "scalar02": rejected(400, "CSeq"),
    "scalarlg": ("response-fault", None),
    "quotbal": rejected(400, "quoted string"),
    "ltgtruri": rejected(400, "Request-URI"),
    "lwsruri": rejected(400, "Request-Line"),
    "lwsstart": rejected(400, "Request-Line"),
    "trws": rejected(400, "Request-Line"),
    "escruri": rejected(400, "Request-URI"),
    "baddate": accepted(),
    "regbadct": rejected(400, "Contact"),
    "badaspec": rejected(400, "To"),
    "baddn": rejected(400, "empty line"),
    "badvers": rejected(505, "Version"),
    "mismatch01": rejected(400, "CSeq method"),
    "mismatch02": rejected(400, "CSeq method"),
    "bigcode": ("response-fault", None),
    "badbranch": accepted(check_badbranch),
    "insuf": rejected(400, "Missing From, To, Call-ID"),
    "unkscm": accepted(check_unkscm),
    "novelsc": accepted(check_novelsc),
    "unksm2": accepted(check_unksm2),
    "bext01": accepted(check_bext01),
    "invut": accepted(check_invut),
    "regaut01": accepted(check_regaut01),
    "multi01": rejected(400, "Multiple"),
    "mcl01": rejected(400, "Content-Length"),
    "bcast": ("response", None),
    "zeromf": accepted(check_zeromf),
    "cparam01": accepted(check_cparam01),
    "cparam02": accepted(check_cparam02),
    "regescrt": accepted(check_regescrt),
    "sdp01": accepted(),
    "inv2543": accepted(check_inv2543),
    "test": rejected(400, "Request-Line"),
}
VARIANTS: dict[str, tuple[str, object]] = {
    "baddn-terminated": rejected(400, "display name"),
}
RFC5118: dict[str, tuple[str, object]] = {
    "ipv6-good": accepted(check_ipv6_good),
    "ipv6-bad": rejected(400, "Request-URI"),
    "port-ambiguous": accepted(check_port_ambiguous),
    "port-unambiguous": accepted(check_port_unambiguous),
    "via-received-param-with-delim": accepted(check_received_with_delim),
    "via-received-param-no-delim": accepted(check_received_no_delim),
    "ipv6-in-sdp": accepted(check_sdp_ipv6),
    "mult-ip-in-header": accepted(check_mult_ip_in_header),
    "mult-ip-in-sdp": accepted(check_sdp_ipv6),
    "ipv4-mapped-ipv6": accepted(check_ipv4_mapped),
    "ipv6-bug-abnf-3-colons": accepted(check_three_colons),
    "ipv6-correct-abnf-2-colons": accepted(check_two_colons),
}

CASES = (
    [(f"rfc4475/{name}.dat", verdict) for name, verdict in RFC4475.items()]
    + [(f"rfc4475/variants/{name}.dat", verdict) for name, verdict in VARIANTS.items()]
    + [(f"rfc5118/wire/{name}.sip", verdict) for name, verdict in RFC5118.items()]
)


@pytest.mark.parametrize(("relative", "verdict"), CASES, ids=[case[0] for case in CASES])
def test_vector(relative: str, verdict: tuple[str, object]) -> None:
    kind, detail = verdict
    data = _load(relative)
    if kind == "accept":
        message = parse_message(data)
        assert isinstance(message, Request)
        check = detail
        if callable(check):
            check(message)
        _assert_round_trip(message)
    elif kind == "response":
        message = parse_message(data)
        assert isinstance(message, Response)
        _assert_round_trip(message)
    elif kind == "response-fault":
        with pytest.raises(SipError) as info:
            parse_message(data)
        assert info.value.is_response
        assert make_error_response(info.value) is None
    else:
        status, reason = cast(tuple[int, str], detail)
        error_class = VersionNotSupported if status == 505 else ParseError
        with pytest.raises(error_class) as info:
            parse_message(data)
        error = info.value
        assert error.status == status
        assert reason in error.reason
        assert not error.is_response
        _assert_error_answer(error)


def _assert_round_trip(message: Request | Response) -> None:
    """Serializing and parsing again keeps every field; Content-Length is rewritten to fit."""
    again = parse_message(message.to_bytes())

    def fields(m: Request | Response) -> list[tuple[str, str]]:
        return [(name, value) for name, value in m.headers if name != "Content-Length"]

    assert fields(again) == fields(message)
    assert again.headers.get_all("Content-Length") == [str(len(message.body))]
    assert again.body == message.body


def _assert_error_answer(error: SipError) -> None:
    """Whenever a Via survived, the stateless answer goes back to it with the fault's status."""
    response = make_error_response(error)
    vias = [value for name, value in error.context if name == "Via"]
    if not vias:
        assert response is None
        return
    assert response is not None
    assert response.status == error.status
    assert response.reason == error.reason
    assert response.headers.get_all("Via") == vias
    for value in vias:
        parse_via(value)
    wire = response.to_bytes()
    assert wire.startswith(f"SIP/2.0 {error.status} {error.reason}\r\n".encode())
    if {name for name, _ in error.context} == {"Via", "From", "To", "Call-ID", "CSeq"}:
        reparsed = parse_message(wire)
        assert isinstance(reparsed, Response) and reparsed.status == error.status
        assert reparsed.to.tag is not None


def test_every_vector_file_has_a_verdict() -> None:
    if not VECTORS.is_dir():
        pytest.skip(f"SIP vectors not found at {VECTORS}")
    on_disk = {
        str(path.relative_to(VECTORS))
        for pattern in ("rfc4475/*.dat", "rfc4475/variants/*.dat", "rfc5118/wire/*.sip")
        for path in VECTORS.glob(pattern)
    }
    assert on_disk == {relative for relative, _ in CASES}


def test_error_context_keeps_what_parses() -> None:
    """insuf lacks From/To/Call-ID: the 400 still carries the Via and CSeq it had."""
    with pytest.raises(ParseError) as info:
        parse_message(_load("rfc4475/insuf.dat"))
    names = [name for name, _ in info.value.context]
    assert names == ["Via", "CSeq"]


def test_malformed_via_is_salvaged_for_the_answer() -> None:
    """badinv01's Via has empty params; the 400 goes back to the host:port it names."""
    with pytest.raises(ParseError) as info:
        parse_message(_load("rfc4475/badinv01.dat"))
    response = make_error_response(info.value)
    assert response is not None
    assert response.top_via.host == "192.0.2.15"
    assert response.to.tag  # a stateless 400 still tags the To (RFC 3261 §8.2.6.2)


def test_badvers_answers_505_to_its_via() -> None:
    with pytest.raises(VersionNotSupported) as info:
        parse_message(_load("rfc4475/badvers.dat"))
    response = make_error_response(info.value)
    assert response is not None and response.status == 505
    assert response.top_via.host == "c.example.com"
