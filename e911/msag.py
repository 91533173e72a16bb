"""External address validation (MSAG, a geocoder, a 911 provider's API) behind a Protocol.

The library only defines the interface; anything that talks to a network lives with the
caller. The default validator is disabled and answers "not checked", so provisioning
works, and every test runs, without network access.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from e911.civic import CivicAddress


class ExternalStatus(enum.StrEnum):
    NOT_CHECKED = "not_checked"  # no external validator configured
    VALID = "valid"  # found as given
    CORRECTED = "corrected"  # found after correction: use ``address`` from the result
    INVALID = "invalid"  # the authority does not know this address
    UNAVAILABLE = "unavailable"  # the service could not be asked; try again later


@dataclass(frozen=True, slots=True)
class ExternalResult:
    """What an external validator said about one address.

    ``coverage`` is whether E911 service reaches the address (E911-10); None when
    the validator cannot tell. ``reference`` is the authority's record id, if any.
    ``detail`` is for operators and must not repeat the address.
    """

    status: ExternalStatus
    address: CivicAddress | None = None
    coverage: bool | None = None
    reference: str | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.status in (ExternalStatus.VALID, ExternalStatus.CORRECTED)


@runtime_checkable
class ExternalValidator(Protocol):
    """Checks a (locally valid, normalized) address against an outside authority."""

    def validate(self, address: CivicAddress) -> ExternalResult: ...


class DisabledValidator:
    """Validator used when none is configured: never checks, never fails."""

    def validate(self, address: CivicAddress) -> ExternalResult:
        return NOT_CHECKED


NOT_CHECKED: Final = ExternalResult(
    ExternalStatus.NOT_CHECKED, detail="external address validation is not configured"
)
