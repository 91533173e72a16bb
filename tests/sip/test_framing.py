"""Stream framing (RFC 3261 §18.3) and keep-alive pings (RFC 5626 §3.5.1)."""

from __future__ import annotations

import pytest

from switch.sip.errors import FramingError, MessageTooLarge
from switch.sip.framing import PING, StreamFramer
from switch.sip.message import parse_message


def message(call_id: str, body: bytes = b"") -> bytes:
    return (
        "OPTIONS sip:a@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK" + call_id + "\r\n"
        "To: <sip:a@example.com>\r\n"
        "From: <sip:b@example.com>;tag=1\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    ).encode() + body


FIRST = message("one", b"body with \r\n\r\n inside")
SECOND = message("two")
THIRD = message("three", b"\x00\x01\x02")
STREAM = FIRST + SECOND + PING + THIRD


def test_several_messages_in_one_chunk() -> None:
    framer = StreamFramer()
    assert framer.feed(STREAM) == [FIRST, SECOND, PING, THIRD]
    assert framer.buffered == 0
    assert parse_message(FIRST).body == b"body with \r\n\r\n inside"


@pytest.mark.parametrize("offset", range(1, len(STREAM)))
def test_split_at_every_offset(offset: int) -> None:
    framer = StreamFramer()
    out = framer.feed(STREAM[:offset]) + framer.feed(STREAM[offset:])
    assert out == [FIRST, SECOND, PING, THIRD]


def test_byte_by_byte() -> None:
    framer = StreamFramer()
    out: list[bytes] = []
    for i in range(len(STREAM)):
        out += framer.feed(STREAM[i : i + 1])
    assert out == [FIRST, SECOND, PING, THIRD]


def test_keepalive_ping_and_stray_crlf() -> None:
    framer = StreamFramer()
    assert framer.feed(PING) == [PING]
    assert framer.feed(b"\r\n") == []  # could still become a ping
    assert framer.feed(b"\r\n") == [PING]
    assert framer.feed(b"\r\n" + SECOND) == [SECOND]  # a lone CRLF (pong) is skipped
    assert framer.feed(PING + PING) == [PING, PING]


def test_bare_lf_header_section() -> None:
    data = SECOND.replace(b"\r\n", b"\n")
    assert StreamFramer().feed(data + FIRST) == [data, FIRST]


def test_folded_content_length() -> None:
    data = FIRST.replace(b"Content-Length: ", b"Content-Length:\r\n ")
    assert StreamFramer().feed(data + SECOND) == [data, SECOND]


def test_compact_content_length() -> None:
    data = FIRST.replace(b"Content-Length:", b"l :")
    assert StreamFramer().feed(data) == [data]


def test_waits_for_the_whole_body() -> None:
    framer = StreamFramer()
    assert framer.feed(FIRST[:-3]) == []
    assert framer.buffered == len(FIRST) - 3
    assert framer.feed(FIRST[-3:]) == [FIRST]


@pytest.mark.parametrize(
    "length_lines",
    [
        b"",  # missing
        b"Content-Length: -999\r\n",
        b"Content-Length: five\r\n",
        b"Content-Length: 1 2\r\n",
        b"Content-Length: 13\r\nContent-Length: 5\r\n",
        b"Content-Length: 0x10\r\n",
    ],
)
def test_bad_content_length_breaks_the_stream(length_lines: bytes) -> None:
    data = SECOND.replace(b"Content-Length: 0\r\n", length_lines)
    framer = StreamFramer()
    with pytest.raises(FramingError):
        framer.feed(data + SECOND)
    with pytest.raises(FramingError):
        framer.feed(SECOND)  # the connection must close; nothing more is framed


def test_repeated_equal_content_length_is_framed() -> None:
    data = SECOND.replace(b"Content-Length: 0\r\n", b"Content-Length: 0\r\nl: 00\r\n")
    assert StreamFramer().feed(data) == [data]


def test_oversized_header_section() -> None:
    framer = StreamFramer(max_message_size=1000)
    with pytest.raises(MessageTooLarge):
        framer.feed(b"OPTIONS sip:a@b SIP/2.0\r\nX: " + b"a" * 2000)


def test_oversized_message_by_content_length() -> None:
    big = SECOND.replace(b"Content-Length: 0", b"Content-Length: 5000")
    with pytest.raises(MessageTooLarge):
        StreamFramer(max_message_size=4096).feed(big)
    huge = SECOND.replace(b"Content-Length: 0", b"Content-Length: 99999999999999999999999")
    with pytest.raises(MessageTooLarge):
        StreamFramer().feed(huge)


def test_message_at_the_limit_passes() -> None:
    assert StreamFramer(max_message_size=len(FIRST)).feed(FIRST) == [FIRST]
    with pytest.raises(MessageTooLarge):
        StreamFramer(max_message_size=len(FIRST) - 1).feed(FIRST)
