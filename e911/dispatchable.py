"""Dispatchable location (47 CFR 9.3): a validated street address plus what a responder
needs to find the caller inside the building (building, floor, suite or unit, room).
"""

from __future__ import annotations

import re
from typing import Final

from e911.civic import CivicAddress
from e911.validate import require_valid, validate

_COUNTRY_NAMES: Final = {"CA": "CANADA"}
_BARE_IDENTIFIER: Final = re.compile(r"[A-Z0-9][A-Z0-9-]{0,7}", re.IGNORECASE)


def street_line(address: CivicAddress) -> str:
    """House number, directionals, street name and suffix: "123 N MAIN ST"."""
    parts = (address.hno, address.hns, address.prd, address.rd, address.sts, address.pod)
    return " ".join(p for p in parts if p)


def in_building_parts(address: CivicAddress) -> list[str]:
    """Building, floor, unit, room and seat, each with its designator ("FL 3", "RM 12")."""
    parts: list[str] = []
    if address.bld:
        parts.append(_designated("BLDG", address.bld))
    if address.flr:
        parts.append(f"FL {address.flr}")
    if address.unit:
        parts.append(_designated("UNIT", address.unit))
    if address.room:
        parts.append(f"RM {address.room}")
    if address.seat:
        parts.append(f"SEAT {address.seat}")
    if address.loc:
        parts.append(address.loc)
    return parts


def dispatchable_location(address: CivicAddress, *, multi_unit: bool = False) -> str:
    """One-line dispatchable location; raises AddressError if the address is not valid.

    Example: "123 N MAIN ST, FL 4, STE 400, SPRINGFIELD, IL 62704".
    """
    require_valid(address, multi_unit=multi_unit)
    region = " ".join(p for p in (address.a1, address.pc) if p)
    parts = [street_line(address), *in_building_parts(address), address.a3 or "", region]
    if address.country not in ("US", None):
        # Spelled out where the code reads like a state ("CA" is California to a US PSAP).
        parts.append(_COUNTRY_NAMES.get(address.country, address.country))
    return ", ".join(p for p in parts if p)


def is_dispatchable(address: CivicAddress, multi_unit: bool = False) -> bool:
    """True when the address validates, with a unit, floor or room if ``multi_unit``."""
    return not validate(address, multi_unit=multi_unit)


def _designated(designator: str, value: str) -> str:
    # A bare identifier ("3", "4B") gets its designator; a name or "STE 400" stands alone.
    if _BARE_IDENTIFIER.fullmatch(value) and any(c.isdigit() for c in value):
        return f"{designator} {value}"
    return value
