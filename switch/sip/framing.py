"""Message boundaries on stream transports (TCP, TLS): RFC 3261 §18.3, RFC 5626 §3.5.1.

A stream message ends after ``Content-Length`` body octets, so the header must be present and
sane; anything else loses the boundaries for good and the connection has to close.
"""

from __future__ import annotations

import re

from .errors import FramingError, MessageTooLarge, SipError

PING = b"\r\n\r\n"

# A Content-Length (or compact "l") field at the start of a line; folded continuation lines are
# part of the value. The start line cannot match: a method is never followed by ":".
_LENGTH_RE = re.compile(rb"^(?:content-length|l)[ \t]*:((?:[^\r\n]|\r?\n[ \t])*)", re.I | re.M)
_FOLD_RE = re.compile(rb"\r?\n[ \t]")


class StreamFramer:
    """Cuts a byte stream into complete messages. One framer per connection.

    ``feed`` returns the complete messages' bytes in order; a keep-alive ping (CRLF CRLF between
    messages) comes back as ``PING`` so the transport can answer with one CRLF (the pong). Lone
    CRLFs between messages (pongs, padding) are dropped. Once it raised, the framer keeps raising:
    the caller must close the connection.
    """

    __slots__ = ("_broken", "_buffer", "_max", "_scanned")

    def __init__(self, max_message_size: int = 65535) -> None:
        self._buffer = bytearray()
        self._max = max_message_size
        self._scanned = 0  # bytes of the buffer already searched for the header end
        self._broken: SipError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete message (for idle/slow-sender timeouts)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        if self._broken is not None:
            raise self._broken
        self._buffer += data
        messages: list[bytes] = []
        try:
            while self._next(messages):
                pass
        except SipError as exc:
            self._broken = exc
            self._buffer.clear()
            raise
        return messages

    def _next(self, out: list[bytes]) -> bool:
        """Take one ping or message off the buffer; False when more data is needed."""
        buf = self._buffer
        if not buf:
            return False
        if buf[0] in b"\r\n":
            return self._leading_crlf(out)
        head_end, body_start = self._find_head_end()
        if head_end < 0:
            if len(buf) > self._max:
                raise MessageTooLarge("Message Too Large - header section exceeds the limit")
            return False
        if head_end > self._max:
            raise MessageTooLarge("Message Too Large - header section exceeds the limit")
        total = body_start + self._content_length(bytes(buf[:head_end]))
        if total > self._max:
            raise MessageTooLarge("Message Too Large")
        if len(buf) < total:
            return False
        out.append(bytes(buf[:total]))
        del buf[:total]
        self._scanned = 0
        return True

    def _leading_crlf(self, out: list[bytes]) -> bool:
        buf = self._buffer
        if buf.startswith(PING):
            out.append(PING)
            del buf[:4]
            return True
        if buf.startswith(b"\r\n"):
            if len(buf) < 4 and PING.startswith(bytes(buf)):
                return False  # may still become a ping
            del buf[:2]
            return True
        if buf[0] == 0x0A:  # bare LF
            del buf[:1]
            return True
        if len(buf) == 1:
            return False  # a lone CR: wait for its LF
        del buf[:1]
        return True

    def _find_head_end(self) -> tuple[int, int]:
        """(end of the header section, start of the body), or (-1, -1) if not complete yet."""
        buf = self._buffer
        start = max(0, self._scanned - 3)
        crlf = buf.find(b"\r\n\r\n", start)
        if crlf >= 0:
            best = (crlf, crlf + 4)
            limit = crlf
        else:
            best = (-1, -1)
            limit = len(buf)
        # Bare-LF or mixed line ends: the first empty line wins.
        bare = buf.find(b"\n\n", start, limit)
        if bare >= 0:
            best, limit = (bare, bare + 2), bare
        mixed = buf.find(b"\n\r\n", start, limit)
        if mixed >= 0:
            best = (mixed, mixed + 3)
        if best[0] < 0:
            self._scanned = len(buf)
        return best

    def _content_length(self, head: bytes) -> int:
        lengths: set[int] = set()
        for raw in _LENGTH_RE.findall(head):
            value = _FOLD_RE.sub(b" ", raw).strip(b" \t")
            if not value.isdigit():
                raise FramingError("Bad Request - Malformed Content-Length")
            if len(value.lstrip(b"0")) > 10:
                raise MessageTooLarge("Message Too Large")
            lengths.add(int(value))
        if not lengths:
            raise FramingError("Bad Request - Missing Content-Length on a stream transport")
        if len(lengths) > 1:
            raise FramingError("Bad Request - Conflicting Content-Length values")
        return lengths.pop()
