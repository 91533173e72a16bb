"""Splitting a one-line address into RFC 5139 elements, with usaddress's tagger.

scourgify cleans the text first. Its own ``normalize_address_record`` is not used
because it refuses an address carrying two sub-units ("FL 2 RM 201"), which is
exactly what an E911 dispatchable location often needs; usaddress's token labels
are mapped here instead, and normalization proper happens in :mod:`e911.normalize`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

import usaddress  # type: ignore[import-untyped]
from scourgify.address_constants import (  # type: ignore[import-untyped]
    OCCUPANCY_TYPE_ABBREVIATIONS,
)
from scourgify.cleaning import pre_clean_addr_str  # type: ignore[import-untyped]
from scourgify.exceptions import AddressNormalizationError  # type: ignore[import-untyped]

from e911.civic import CivicAddress
from e911.errors import NormalizationError
from e911.regions import (
    CA_POSTAL_LOOSE,
    CA_PROVINCE_NAMES,
    CA_PROVINCES,
    SUPPORTED_COUNTRIES,
    fold,
)
from e911.validate import has_mailbox

# Pub 28 unit designators by any spelling ("SUITE" and "STE" both give "STE").
UNIT_DESIGNATORS: Final[dict[str, str]] = {
    **{str(k): str(v) for k, v in OCCUPANCY_TYPE_ABBREVIATIONS.items()},
    **{str(v): str(v) for v in OCCUPANCY_TYPE_ABBREVIATIONS.values()},
    "FLR": "FL",
    "BLD": "BLDG",
}
_SIMPLE: Final[dict[str, str]] = {
    "AddressNumberPrefix": "hno",
    "AddressNumber": "hno",
    "AddressNumberSuffix": "hns",
    "StreetNamePreDirectional": "prd",
    "StreetNamePreType": "rd",
    "StreetName": "rd",
    "StreetNamePostType": "sts",
    "StreetNamePostDirectional": "pod",
    "BuildingName": "bld",
    "Recipient": "nam",
    "PlaceName": "a3",
    "StateName": "a1",
    "ZipCode": "pc",
}
_EXTRA: Final[dict[str, str]] = {
    "StreetNamePreModifier": "PRM",
    "StreetNamePostModifier": "POM",
    "LandmarkName": "LMK",
}
_UNIT_TYPE_LABELS: Final = frozenset({"OccupancyType", "SubaddressType"})
_UNIT_ID_LABELS: Final = frozenset({"OccupancyIdentifier", "SubaddressIdentifier"})
_INTERSECTION_LABELS: Final = frozenset({"IntersectionSeparator", "CornerOf"})
_COUNTRY_NAMES: Final[dict[str, str]] = {
    "US": "US", "USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
    "CA": "CA", "CAN": "CA", "CANADA": "CA",
}  # fmt: skip
_TRAILING_COUNTRY: Final = re.compile(
    r"[\s,]*\b(U\.?S\.?A?\.?|UNITED STATES(?: OF AMERICA)?|CANADA)[\s,.]*\Z", re.IGNORECASE
)
# Where a sub-unit designator lands: floor, room and building have their own elements.
_SUBUNIT_ELEMENT: Final[dict[str, str]] = {"FL": "flr", "RM": "room", "BLDG": "bld"}


@dataclass(slots=True)
class _SubUnit:
    designator: str | None = None
    ident: list[str] = field(default_factory=list)


def parse_line(text: str, *, country: str | None = None) -> CivicAddress:
    """Split ``text`` into elements (not yet normalized); see ``normalize_line``."""
    if country is not None and country.upper() not in SUPPORTED_COUNTRIES:
        raise NormalizationError("country", "free-text addresses are read for US and CA only")
    if has_mailbox(text):
        raise NormalizationError("POBOX", "a post office box is not a physical location")
    if not text.strip():
        raise NormalizationError("address", "address is empty")
    text, ca_postal = _take_ca_postal_code(text) if country in (None, "CA") else (text, None)
    text, named = _take_country_name(text)
    values, extras, subunits = _collect(_tag(text))
    if named is not None:
        values["country"] = named
    detected = _country(values, ca_postal, country)
    if ca_postal:
        values["pc"] = ca_postal
    for unit in subunits:
        _place_subunit(unit, values)
    return CivicAddress(**values, country=detected, other=tuple(extras))


def _take_ca_postal_code(text: str) -> tuple[str, str | None]:
    matches = list(CA_POSTAL_LOOSE.finditer(text))
    if not matches:
        return text, None
    last = matches[-1]
    code = f"{last.group(1)} {last.group(2)}".upper()
    return text[: last.start()] + text[last.end() :], code


def _take_country_name(text: str) -> tuple[str, str | None]:
    # usaddress has no country label and tags a trailing "Canada" as the state.
    match = _TRAILING_COUNTRY.search(text)
    if match is None:
        return text, None
    return text[: match.start()], match.group(1).replace(".", "")


def _tag(text: str) -> list[tuple[str, str]]:
    try:
        cleaned = pre_clean_addr_str(text)
        tokens = usaddress.parse(cleaned)
    except (AddressNormalizationError, ValueError, TypeError):
        # `from None`: scourgify's exceptions carry the whole address into tracebacks.
        raise NormalizationError("address", "could not be read as a street address") from None
    pairs = [(str(tok).strip(",;"), str(label)) for tok, label in tokens]
    return [(tok, label) for tok, label in pairs if tok]


def _collect(
    tokens: list[tuple[str, str]],
) -> tuple[dict[str, str], list[tuple[str, str]], list[_SubUnit]]:
    values: dict[str, str] = {}
    extras: dict[str, str] = {}
    subunits: list[_SubUnit] = []
    previous_label = ""
    for token, label in tokens:
        if label.startswith("USPSBox"):
            raise NormalizationError("POBOX", "a post office box is not a physical location")
        if label in _INTERSECTION_LABELS or label.startswith("Second"):
            raise NormalizationError("HNO", "an intersection is not a street address")
        if label in _SIMPLE:
            key = _SIMPLE[label]
            values[key] = f"{values[key]} {token}" if key in values else token
        elif label in _EXTRA:
            name = _EXTRA[label]
            extras[name] = f"{extras[name]} {token}" if name in extras else token
        elif label in _UNIT_TYPE_LABELS or label in _UNIT_ID_LABELS:
            _add_subunit_token(subunits, token, label, previous_label)
        else:
            raise NormalizationError("address", "could not be read as a street address")
        previous_label = label
    return values, list(extras.items()), subunits


def _add_subunit_token(
    subunits: list[_SubUnit], token: str, label: str, previous_label: str
) -> None:
    # usaddress tags "FL 2 RM 201" and "3RD FLOOR" token by token; pair designators
    # with identifiers in either order, starting a new sub-unit when a pair is complete.
    is_type = label in _UNIT_TYPE_LABELS
    current = subunits[-1] if subunits else None
    continues = previous_label in _UNIT_TYPE_LABELS | _UNIT_ID_LABELS
    complete = current is not None and current.designator is not None and bool(current.ident)
    if current is None or not continues or complete or (is_type and current.designator is not None):
        current = _SubUnit()
        subunits.append(current)
    if is_type:
        current.designator = UNIT_DESIGNATORS.get(token, token)
    else:
        current.ident.append(token)


def _place_subunit(unit: _SubUnit, values: dict[str, str]) -> None:
    ident = " ".join(unit.ident)
    designator = unit.designator
    if ident.startswith("#") and designator is None:
        designator, ident = "#", ident[1:].strip()
    key = _SUBUNIT_ELEMENT.get(designator or "", "unit")
    if not ident:
        raise NormalizationError(key.upper(), "unit designator without a number")
    if key == "unit" and designator:
        ident = f"{designator} {ident}"
    values[key] = f"{values[key]} {ident}" if key in values else ident


def _country(values: dict[str, str], ca_postal: str | None, requested: str | None) -> str:
    named = values.pop("country", None)
    found = _COUNTRY_NAMES.get(fold(named)) if named else None
    if named and found is None:
        raise NormalizationError("country", "free-text addresses are read for US and CA only")
    if requested is not None:
        if found is not None and found != requested.upper():
            raise NormalizationError("country", "does not match the country requested")
        return requested.upper()
    if found is not None:
        return found
    region = fold(values.get("a1", ""))
    if ca_postal or region in CA_PROVINCES or region in CA_PROVINCE_NAMES:
        return "CA"
    return "US"
