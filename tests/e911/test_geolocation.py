"""RFC 6442 location conveyance: multipart/mixed body, Geolocation headers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from e911.civic import CivicAddress
from e911.errors import MultipartError
from e911.geolocation import (
    GEOLOCATION_ROUTING_NO,
    build_location_body,
    cid_of,
    find_part,
    geolocation_header,
    geolocation_routing,
    split_multipart,
)
from e911.pidf import build_pidf_lo, parse_pidf_lo

SDP = (
    b"v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\n"
    b"c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)
PIDF = build_pidf_lo(
    CivicAddress(country="US", a1="IL", a3="SPRINGFIELD", rd="MAIN", sts="ST", hno="1"),
    entity="sip:+12175550100@example.com",
    device_id="mac:0004f2a1b2c3",
    timestamp=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
)
CID = "e911-7f3a@sbc.example.com"


def test_body_framing_follows_rfc2046() -> None:
    content_type, body = build_location_body(SDP, PIDF, content_id=CID, boundary="loc-b1")
    assert content_type == "multipart/mixed; boundary=loc-b1"
    assert body.startswith(b"--loc-b1\r\nContent-Type: application/sdp\r\n\r\n" + SDP)
    assert body.endswith(PIDF + b"\r\n--loc-b1--\r\n")
    assert body.count(b"\r\n--loc-b1\r\n") == 1
    middle = body[len(b"--loc-b1\r\nContent-Type: application/sdp\r\n\r\n") + len(SDP) :]
    assert middle.startswith(
        b"\r\n--loc-b1\r\nContent-Type: application/pidf+xml\r\n"
        b"Content-ID: <" + CID.encode() + b">\r\n\r\n" + PIDF
    )


def test_content_id_matches_the_geolocation_header() -> None:
    _, body = build_location_body(SDP, PIDF, content_id=CID, boundary="b")
    header = geolocation_header(CID)
    assert header == f"<cid:{CID}>"
    assert f"Content-ID: <{cid_of(header)}>".encode() in body


def test_body_splits_back_into_the_same_parts() -> None:
    content_type, body = build_location_body(SDP, PIDF, content_id=CID, boundary="loc-b1")
    parts = split_multipart(content_type, body)
    assert [(h.get("content-type"), c) for h, c in parts] == [
        ("application/sdp", SDP),
        ("application/pidf+xml", PIDF),
    ]
    assert find_part(parts, content_type="application/sdp") == SDP
    located = find_part(parts, content_id=cid_of(geolocation_header(CID)))
    assert located is not None
    assert parse_pidf_lo(located).device_id == "mac:0004f2a1b2c3"


def test_boundary_needing_quotes_is_quoted_and_still_splits() -> None:
    content_type, body = build_location_body(SDP, PIDF, content_id=CID, boundary="a b:c")
    assert content_type == 'multipart/mixed; boundary="a b:c"'
    assert [c for _, c in split_multipart(content_type, body)] == [SDP, PIDF]


def test_split_skips_preamble_padding_epilogue_and_unfolds_headers() -> None:
    body = (
        b"preamble to ignore\r\n--xyz  \r\ncontent-type: application/sdp\r\n\r\n" + SDP
        + b"\r\n--xyz\r\nContent-Type: application/pidf+xml\r\nContent-ID:\r\n <" + CID.encode()
        + b">\r\n\r\n" + PIDF + b"\r\n--xyz--\r\nepilogue"
    )  # fmt: skip
    parts = split_multipart('Multipart/Mixed; charset=x; boundary="xyz"', body)
    assert [c for _, c in parts] == [SDP, PIDF]
    assert parts[1][0]["content-id"] == f"<{CID}>"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/sdp", b"v=0\r\n"),
        ("multipart/mixed", b"--b\r\n\r\nx\r\n--b--\r\n"),
        ("multipart/mixed; boundary=b", b"no delimiters at all"),
        ("multipart/mixed; boundary=b", b"--b\r\nContent-Type: a/b\r\n\r\nx\r\n--b\r\n"),
        ("multipart/mixed; boundary=b", b"--b\r\nbroken header\r\n\r\nx\r\n--b--\r\n"),
        ("multipart/mixed; boundary=b", b"--bjunk\r\n\r\nx\r\n--b--\r\n"),
    ],
)
def test_malformed_multipart_is_refused(content_type: str, body: bytes) -> None:
    with pytest.raises(MultipartError):
        split_multipart(content_type, body)


@pytest.mark.parametrize(
    ("content_id", "boundary"),
    [
        ("no-at-sign", "b"),
        ("<e911@example.com>", "b"),
        ("a b@example.com", "b"),
        (CID, ""),
        (CID, "x" * 71),
        (CID, "ends-in-space "),
    ],
)
def test_bad_content_id_or_boundary_is_refused(content_id: str, boundary: str) -> None:
    with pytest.raises(MultipartError):
        build_location_body(SDP, PIDF, content_id=content_id, boundary=boundary)


def test_boundary_occurring_in_a_part_is_refused() -> None:
    with pytest.raises(MultipartError):
        build_location_body(SDP + b"a=x:--sep\r\n", PIDF, content_id=CID, boundary="sep")


def test_geolocation_routing_values() -> None:
    assert GEOLOCATION_ROUTING_NO == "no"
    assert geolocation_routing(True) == "yes"


def test_cid_of_reads_the_first_cid_uri() -> None:
    assert cid_of("<https://lis.example.com/x>, <cid:abc@host>;inserted-by=x") == "abc@host"
    assert cid_of("<https://lis.example.com/x>") is None


@given(
    sdp=st.binary(max_size=300),
    pidf=st.binary(max_size=300),
    boundary=st.from_regex(r"[0-9A-Za-z'()+_,\-./:=?]{1,40}", fullmatch=True),
)
def test_any_parts_round_trip(sdp: bytes, pidf: bytes, boundary: str) -> None:
    try:
        content_type, body = build_location_body(sdp, pidf, content_id=CID, boundary=boundary)
    except MultipartError:
        assert b"--" + boundary.encode() in sdp + b"\x00" + pidf
        return
    assert [c for _, c in split_multipart(content_type, body)] == [sdp, pidf]
