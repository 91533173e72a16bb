"""Checks that a civic address can be registered as an E911 location (E911-01, E911-05).

``validate`` lists every problem so the CLI can show them all at once; ``require_valid``
raises the first one. Problems name RFC 5139 elements and never quote values.
"""

from __future__ import annotations

import re
from typing import Final

from e911.civic import CivicAddress
from e911.errors import AddressError, AddressProblem
from e911.regions import CA_POSTAL, CA_PROVINCES, US_STATES, US_ZIP

# House number: digits (Queens-style "37-20" too), optionally a letter or fraction glued on.
_HNO: Final = re.compile(r"\d{1,8}(?:-\d{1,6})?(?: ?(?:[A-Z]{1,2}|\d{1,2}/\d{1,2}))?", re.I)
_HNS: Final = re.compile(r"[A-Z]{1,3}|\d{1,2}/\d{1,2}|[A-Z] \d{1,2}/\d{1,2}", re.I)
_COUNTRY: Final = re.compile(r"[A-Z]{2}")

# A mailbox is where mail goes, not where a caller is: PO boxes in any spelling
# (PO BOX, P.O. Box, P O B, POB, POBOX, Post Office Box), private mailboxes, general delivery.
_MAILBOX: Final = re.compile(
    r"""\b(?:
        P\s*\.?\s*O\s*\.?\s*B(?:OX|X)?\.?
      | POST\s+OFFICE\s+B(?:OX|X)
      | P\s*\.?\s*M\s*\.?\s*B
      | PRIVATE\s+MAIL\s*BOX
      | GENERAL\s+DELIVERY
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
# Elements a mailbox designation tends to be typed into.
_MAILBOX_FIELDS: Final = ("HNO", "RD", "LOC", "FLR", "NAM", "BLD", "UNIT", "ROOM", "SEAT")

# Unit designators that say nothing on their own ("APT" without a number).
_BARE_DESIGNATORS: Final = frozenset({
    "#", "APT", "APARTMENT", "STE", "SUITE", "UNIT", "RM", "ROOM", "FL", "FLOOR", "BLDG",
    "BUILDING", "DEPT", "OFC", "OFFICE", "SPC", "LOT", "TRLR",
})  # fmt: skip
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
MAX_VALUE_LENGTH: Final = 128


def has_mailbox(text: str) -> bool:
    """True when ``text`` names a post office box, private mailbox or general delivery."""
    return _MAILBOX.search(text) is not None


def validate(address: CivicAddress, *, multi_unit: bool = False) -> list[AddressProblem]:
    """Every reason ``address`` cannot serve as a registered E911 address (empty if none).

    ``multi_unit`` says the site holds several suites, floors or rooms; then one of
    UNIT, FLR or ROOM must say which (the "dispatchable location" of 47 CFR 9.3).
    """
    problems = _check_text(address)
    problems += _check_country(address.country)
    problems += _check_street(address)
    if not address.a3:
        problems.append(AddressProblem("A3", "city is missing"))
    if address.country == "US":
        problems += _check_us_region(address)
    elif address.country == "CA":
        problems += _check_ca_region(address)
    problems += _check_mailbox(address)
    problems += _check_in_building(address, multi_unit)
    return problems


def require_valid(address: CivicAddress, *, multi_unit: bool = False) -> CivicAddress:
    """Return ``address`` unchanged if valid, else raise AddressError naming the first field."""
    problems = validate(address, multi_unit=multi_unit)
    if problems:
        first = problems[0]
        raise AddressError(first.field, first.message, problems=tuple(problems))
    return address


def is_valid(address: CivicAddress, *, multi_unit: bool = False) -> bool:
    return not validate(address, multi_unit=multi_unit)


def _check_text(address: CivicAddress) -> list[AddressProblem]:
    problems: list[AddressProblem] = []
    for name, value in address.elements():
        if _CONTROL.search(value):
            problems.append(AddressProblem(name, "contains control characters"))
        elif len(value) > MAX_VALUE_LENGTH:
            problems.append(AddressProblem(name, f"longer than {MAX_VALUE_LENGTH} characters"))
    return problems


def _check_country(country: str | None) -> list[AddressProblem]:
    if not country:
        return [AddressProblem("country", "country is missing")]
    if not _COUNTRY.fullmatch(country):
        return [AddressProblem("country", "must be an ISO 3166 two-letter code in capitals")]
    return []


def _check_street(address: CivicAddress) -> list[AddressProblem]:
    problems: list[AddressProblem] = []
    if not address.hno:
        problems.append(AddressProblem("HNO", "house number is missing"))
    elif not _HNO.fullmatch(address.hno.strip()):
        problems.append(
            AddressProblem("HNO", "house number must be digits with an optional suffix")
        )
    if address.hns and not _HNS.fullmatch(address.hns.strip()):
        problems.append(AddressProblem("HNS", "suffix must be a letter or a fraction"))
    if not address.rd:
        problems.append(AddressProblem("RD", "street name is missing"))
    return problems


def _check_us_region(address: CivicAddress) -> list[AddressProblem]:
    problems: list[AddressProblem] = []
    if not address.a1:
        problems.append(AddressProblem("A1", "state is missing"))
    elif address.a1.strip().upper() not in US_STATES:
        problems.append(AddressProblem("A1", "not a US state or territory code"))
    if not address.pc:
        problems.append(AddressProblem("PC", "ZIP code is missing"))
    elif not US_ZIP.fullmatch(address.pc.strip()):
        problems.append(AddressProblem("PC", "ZIP code must be 5 digits or ZIP+4"))
    return problems


def _check_ca_region(address: CivicAddress) -> list[AddressProblem]:
    problems: list[AddressProblem] = []
    if not address.a1:
        problems.append(AddressProblem("A1", "province is missing"))
    elif address.a1.strip().upper() not in CA_PROVINCES:
        problems.append(AddressProblem("A1", "not a Canadian province or territory code"))
    if not address.pc:
        problems.append(AddressProblem("PC", "postal code is missing"))
    elif not CA_POSTAL.fullmatch(address.pc.strip().upper()):
        problems.append(AddressProblem("PC", "postal code must have the form A1A 1A1"))
    return problems


def _check_mailbox(address: CivicAddress) -> list[AddressProblem]:
    problems = [
        AddressProblem(name, "a post office box or mail drop is not a physical location")
        for name in _MAILBOX_FIELDS
        if (value := address.get(name)) and has_mailbox(value)
    ]
    if address.get("POBOX"):
        problems.append(AddressProblem("POBOX", "a post office box is not a physical location"))
    return problems


def _check_in_building(address: CivicAddress, multi_unit: bool) -> list[AddressProblem]:
    problems: list[AddressProblem] = []
    if address.unit and address.unit.strip().upper() in _BARE_DESIGNATORS:
        problems.append(AddressProblem("UNIT", "unit designator without a number"))
    if multi_unit and not (address.unit or address.flr or address.room):
        problems.append(
            AddressProblem("UNIT", "site has several units: a unit, floor or room is required")
        )
    return problems
