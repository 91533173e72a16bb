"""Exceptions of the E911 library.

None of them derives from the SIP errors: a broken location object in an emergency
INVITE must never turn into a SIP rejection (fail open for 911), so the switch
decides what to do with these, not the parser.

Messages name fields, never their values: an address is personal data and these
messages end up in logs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AddressProblem:
    """One reason an address is not acceptable; ``field`` is an RFC 5139 element name."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class E911Error(Exception):
    """Base of every error raised by the e911 package."""


class AddressError(E911Error, ValueError):
    """An address is incomplete or malformed; ``field`` names the culprit.

    ``problems`` holds every problem found when several were, the first of them
    being the one this exception reports.
    """

    def __init__(
        self, field: str, message: str, *, problems: tuple[AddressProblem, ...] = ()
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.problems = problems or (AddressProblem(field, message),)


class NormalizationError(AddressError):
    """A free-text address or a field could not be brought into standard form."""


class LocationObjectError(E911Error, ValueError):
    """A PIDF-LO document cannot be built or read."""


class UnsafeXmlError(LocationObjectError):
    """XML input carries a DTD or entity declaration (or is too large); it is not parsed."""


class MultipartError(E911Error, ValueError):
    """A multipart body or its Content-Type cannot be built or split."""
