"""Location data the switch keeps in memory for emergency calls."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from e911.civic import CivicAddress


class LocationSource(StrEnum):
    """Which address went with the call; a bounded metric label and a CDR flag."""

    DEVICE = "validated"  # the device's own registered location
    SITE = "fallback_site"  # the device had none: its site's address
    ACCOUNT = "fallback_account"  # nor a site: the account's address
    LAST_KNOWN = "last_known"  # provisioning unreachable: the last location loaded
    NONE = "none"


@dataclass(frozen=True, slots=True)
class EmergencyLocation:
    address: CivicAddress
    source: LocationSource
    location_id: int | None = None  # the device_locations row in force, for the CDR
