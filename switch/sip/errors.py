"""Exceptions of the SIP core; each carries the status a server answers with.

A parser error keeps what it could read of the header section (``context``) so
that a stateless error response can still copy Via, From, To, Call-ID and CSeq
(RFC 3261 §8.2.6) even when some other header is broken.
"""

from __future__ import annotations


class SipError(Exception):
    """Base of every protocol error; ``status`` is the SIP answer (RFC 3261 §21)."""

    status: int = 400

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        context: list[tuple[str, str]] | None = None,
        is_response: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status
        # Header fields (canonical name, raw value) read before or despite the fault.
        self.context: list[tuple[str, str]] = context or []
        # Faults in responses are never answered (RFC 3261 §18.1.2): the caller drops them.
        self.is_response = is_response


class ParseError(SipError):
    """Malformed message: 400 Bad Request with a reason naming the fault."""

    status = 400


class FramingError(ParseError):
    """Message boundaries are lost (bad Content-Length on a stream): close the connection."""


class VersionNotSupported(SipError):
    """SIP version other than 2.0 (RFC 3261 §8.2.2 .. §21.5.26)."""

    status = 505


class UnsupportedUriScheme(SipError):
    """Request-URI scheme the switch cannot serve (RFC 3261 §8.2.2.1)."""

    status = 416


class BadExtension(SipError):
    """Require/Proxy-Require names extensions the switch lacks (RFC 3261 §8.2.2.3)."""

    status = 420

    def __init__(self, unsupported: list[str], **kwargs: object) -> None:
        super().__init__("Bad Extension", **kwargs)  # type: ignore[arg-type]
        self.unsupported = unsupported


class MessageTooLarge(SipError):
    """Message above the configured size limit (RFC 3261 §21.5.14)."""

    status = 513
