"""Normalization of civic addresses to USPS Publication 28 form (Canada Post for CA).

Values become upper case with standard abbreviations: street suffix ``ST``, directionals
``N``/``SW``, unit designators ``STE``/``APT``, two-letter state or province codes,
ZIP+4 with a dash. The abbreviation tables are usaddress-scourgify's; free-text lines
are split by :mod:`e911.lineparse` and then normalized here like any other.

Normalization is lenient: it fixes what it can and leaves the rest for
:func:`e911.validate.validate` to report, field by field.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Final

from scourgify.address_constants import (  # type: ignore[import-untyped]
    DIRECTIONAL_REPLACEMENTS,
    STATE_ABBREVIATIONS,
    STREET_TYPE_ABBREVIATIONS,
)
from scourgify.exceptions import AddressNormalizationError  # type: ignore[import-untyped]
from scourgify.normalize import get_ordinal_indicator, normalize_city  # type: ignore[import-untyped]
from scourgify.validations import validate_us_postal_code_format  # type: ignore[import-untyped]

from e911.civic import CivicAddress
from e911.lineparse import UNIT_DESIGNATORS, parse_line
from e911.regions import CA_PROVINCE_NAMES, US_TERRITORY_NAMES, fold

_DIRECTIONS: Final[dict[str, str]] = {
    **{str(k): str(v) for k, v in DIRECTIONAL_REPLACEMENTS.items()},
    **{str(v): str(v) for v in DIRECTIONAL_REPLACEMENTS.values()},
}
_STREET_TYPES: Final[dict[str, str]] = {
    str(k): str(v) for k, v in STREET_TYPE_ABBREVIATIONS.items()
}
_US_STATE_NAMES: Final[dict[str, str]] = {
    **{str(k): str(v) for k, v in STATE_ABBREVIATIONS.items()},
    **US_TERRITORY_NAMES,
}

_PERIOD: Final = re.compile(r"(?<!\d)\.|\.(?!\d)")  # keep decimal points only
_SPACES: Final = re.compile(r"[\s,;]+")
_HNO_WITH_SUFFIX: Final = re.compile(r"(\d+(?:-\d+)?) ?([A-Z]{1,2}|\d{1,2}/\d{1,2})")
_ORDINAL: Final = re.compile(r"(\d+)(?:ST|ND|RD|TH)")
_US_ZIP_LIKE: Final = re.compile(r"\d{4,5}(?:[- ]?\d{4})?")
_FLOOR_WORDS: Final = frozenset({"FL", "FLR", "FLOOR"})
_ROOM_WORDS: Final = frozenset({"RM", "ROOM"})


def clean(value: str | None) -> str | None:
    """Upper case, punctuation dropped, whitespace collapsed; None when nothing is left."""
    if value is None:
        return None
    text = _SPACES.sub(" ", _PERIOD.sub("", value.upper())).strip()
    return text or None


def normalize_address(address: CivicAddress) -> CivicAddress:
    """Field by field normalization of an address whose parts are already separated."""
    country = clean(address.country)
    hno, hns = _split_house_number(clean(address.hno), clean(address.hns))
    sts = _abbreviate(clean(address.sts), _STREET_TYPES)
    return replace(
        address,
        country=country,
        a1=_region(clean(address.a1), country),
        a2=clean(address.a2),
        a3=_city(clean(address.a3), country),
        prd=_direction(address.prd),
        rd=_street_name(clean(address.rd), sts),
        sts=sts,
        pod=_direction(address.pod),
        hno=hno,
        hns=hns,
        loc=clean(address.loc),
        flr=_strip_designator(clean(address.flr), _FLOOR_WORDS, ordinal=True),
        nam=clean(address.nam),
        pc=_postal_code(clean(address.pc), country),
        bld=clean(address.bld),
        unit=_unit(clean(address.unit)),
        room=_strip_designator(clean(address.room), _ROOM_WORDS, ordinal=False),
        seat=clean(address.seat),
        plc=address.plc.strip().lower() if address.plc and address.plc.strip() else None,
        other=tuple((name, " ".join(value.split())) for name, value in address.other),
    )


def normalize_line(text: str, *, country: str | None = None) -> CivicAddress:
    """Read and normalize a one-line address ("123 north main street suite 400, ...").

    ``country`` is "US" or "CA"; None tells them apart from the postal code or the
    state/province. Raises NormalizationError (naming a field where one is to blame)
    for P.O. boxes, intersections and text that is not an address.
    """
    return normalize_address(parse_line(text, country=country))


def _abbreviate(value: str | None, table: dict[str, str]) -> str | None:
    return table.get(value, value) if value else value


def _direction(value: str | None) -> str | None:
    if value is None:
        return None
    key = re.sub(r"[\s.\-]", "", value.upper())
    return _DIRECTIONS.get(key, clean(value))


def _split_house_number(hno: str | None, hns: str | None) -> tuple[str | None, str | None]:
    # "123A" and "123 1/2" carry their suffix inline; RFC 5139 wants it in HNS.
    if hno and not hns and (match := _HNO_WITH_SUFFIX.fullmatch(hno)):
        return match.group(1), match.group(2)
    return hno, hns


def _street_name(rd: str | None, sts: str | None) -> str | None:
    # Numbered streets take their ordinal when a suffix follows: "5 AVE" -> "5TH AVE".
    if rd and sts and rd.isdigit():
        return f"{int(rd)}{get_ordinal_indicator(int(rd))}".upper()
    return rd


def _region(a1: str | None, country: str | None) -> str | None:
    if not a1:
        return a1
    if country == "US":
        return _US_STATE_NAMES.get(fold(a1), a1)
    if country == "CA":
        return CA_PROVINCE_NAMES.get(fold(a1), a1)
    return a1


def _city(a3: str | None, country: str | None) -> str | None:
    # Only USPS spells out city abbreviations ("ST LOUIS" -> "SAINT LOUIS").
    return str(normalize_city(a3)) if a3 and country == "US" else a3


def _postal_code(pc: str | None, country: str | None) -> str | None:
    if not pc:
        return pc
    if country == "US" and _US_ZIP_LIKE.fullmatch(pc):
        try:
            return str(validate_us_postal_code_format(pc.replace(" ", "-"), pc))
        except AddressNormalizationError:
            return pc
    if country == "CA":
        compact = pc.replace(" ", "")
        return f"{compact[:3]} {compact[3:]}" if len(compact) == 6 else pc
    return pc


def _unit(unit: str | None) -> str | None:
    if not unit:
        return unit
    if unit.startswith("#"):
        rest = unit[1:].strip()
        return f"# {rest}" if rest else "#"
    head, _, rest = unit.partition(" ")
    designator = UNIT_DESIGNATORS.get(head, head)
    return f"{designator} {rest}" if rest else designator


def _strip_designator(value: str | None, words: frozenset[str], *, ordinal: bool) -> str | None:
    # FLR and ROOM hold the identifier alone: "3RD FLOOR" -> "3", "ROOM 12" -> "12".
    if not value:
        return value
    parts = [p for p in value.split() if p not in words]
    if not parts:
        return value
    text = " ".join(parts)
    if ordinal and (match := _ORDINAL.fullmatch(text)):
        return match.group(1)
    return text
