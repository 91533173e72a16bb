"""Micro-benchmark of the SIP parser: a desk-phone INVITE (12 headers + SDP).

Run: python bench/bench_parse.py [iterations]. Prints microseconds per operation.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from switch.sip.message import Request, parse_message

SDP = (
    b"v=0\r\n"
    b"o=- 1623349812 1623349812 IN IP4 192.168.1.34\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.168.1.34\r\n"
    b"t=0 0\r\n"
    b"m=audio 11780 RTP/AVP 0 8 9 18 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:9 G722/8000\r\n"
    b"a=rtpmap:18 G729/8000\r\n"
    b"a=fmtp:18 annexb=no\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=ptime:20\r\n"
    b"a=sendrecv\r\n"
)

INVITE = (
    b"INVITE sip:2001@pbx.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.168.1.34:5060;branch=z9hG4bK1794637313;rport\r\n"
    b'From: "Front Desk" <sip:1001@pbx.example.com>;tag=1328592370\r\n'
    b"To: <sip:2001@pbx.example.com>\r\n"
    b"Call-ID: 1549036541-5060-1@192.168.1.34\r\n"
    b"CSeq: 20 INVITE\r\n"
    b"Contact: <sip:1001@192.168.1.34:5060>"
    b';+sip.instance="<urn:uuid:00000000-0000-1000-8000-000b82a1b2c3>"\r\n'
    b"Max-Forwards: 70\r\n"
    b"User-Agent: Grandstream GXP2170 1.0.11.23\r\n"
    b"Allow: INVITE, ACK, OPTIONS, CANCEL, BYE, SUBSCRIBE, NOTIFY, INFO, REFER, UPDATE, MESSAGE\r\n"
    b"Supported: replaces, timer, path\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n"
    b"\r\n" + SDP
)


def proxy_view(data: bytes) -> object:
    msg = parse_message(data)
    assert isinstance(msg, Request)
    return (
        msg.top_via.branch,
        msg.call_id,
        msg.cseq,
        msg.from_.tag,
        msg.to.tag,
        msg.max_forwards,
        msg.uri,
    )


def timed(label: str, func: Callable[[], object], iterations: int) -> None:
    """Best batch of many short ones: the least disturbed by other load on the machine."""
    for _ in range(1000):  # warm caches
        func()
    batch = 100
    best = float("inf")
    for _ in range(max(1, iterations // batch)):
        start = time.perf_counter()
        for _ in range(batch):
            func()
        best = min(best, time.perf_counter() - start)
    print(f"{label:44} {best / batch * 1e6:8.2f} us")


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    header_lines = INVITE.split(b"\r\n\r\n")[0].count(b"\r\n")
    print(f"INVITE: {len(INVITE)} bytes, {header_lines} header lines, {len(SDP)} bytes of SDP")
    one, five, _ = os.getloadavg()
    # Best-of-batches hides most interference, but a busy machine still inflates the figures.
    print(f"load average {one:.1f} / {five:.1f} on {os.cpu_count()} CPUs, {sys.version.split()[0]}")
    message = parse_message(INVITE)
    timed("parse_message", lambda: parse_message(INVITE), iterations)
    timed("parse + proxy fields (via, ids, tags, ...)", lambda: proxy_view(INVITE), iterations)
    timed("to_bytes", message.to_bytes, iterations)


if __name__ == "__main__":
    main()
