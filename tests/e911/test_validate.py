"""Validation of registered addresses and the dispatchable location built from them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from e911.civic import CivicAddress
from e911.dispatchable import dispatchable_location, is_dispatchable
from e911.errors import AddressError, AddressProblem
from e911.validate import require_valid, validate

GOOD = CivicAddress(
    country="US", a1="IL", a3="SPRINGFIELD", prd="N", rd="MAIN", sts="ST", hno="123",
    pc="62704",
)  # fmt: skip
GOOD_CA = CivicAddress(
    country="CA", a1="ON", a3="TORONTO", rd="QUEEN", sts="ST", pod="W", hno="100", pc="M5H 2N2"
)


def fields(address: CivicAddress, *, multi_unit: bool = False) -> list[str]:
    return [p.field for p in validate(address, multi_unit=multi_unit)]


@pytest.mark.parametrize(
    "address",
    [
        GOOD,
        replace(GOOD, hno="123", hns="1/2"),
        replace(GOOD, hno="123A"),
        replace(GOOD, hno="37-20", pc="62704-1234"),
        replace(GOOD, a1="PR", unit="APT 4B"),
        GOOD_CA,
        replace(GOOD_CA, a1="QC", pc="H2X3K8"),
    ],
)
def test_good_addresses_have_no_problems(address: CivicAddress) -> None:
    assert validate(address) == []
    assert require_valid(address) is address


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hno": None}, "HNO"),
        ({"rd": None}, "RD"),
        ({"a3": None}, "A3"),
        ({"a1": None}, "A1"),
        ({"pc": None}, "PC"),
        ({"country": None}, "country"),
    ],
)
def test_each_missing_field_is_named(change: dict[str, None], field: str) -> None:
    assert fields(replace(GOOD, **change)) == [field]  # type: ignore[arg-type]


def test_all_problems_are_listed_at_once() -> None:
    assert sorted(fields(CivicAddress(country="US"))) == ["A1", "A3", "HNO", "PC", "RD"]


@pytest.mark.parametrize("hno", ["12x3", "ABC", "123 MAIN", "1/2", "123456789"])
def test_malformed_house_number(hno: str) -> None:
    assert fields(replace(GOOD, hno=hno)) == ["HNO"]


def test_malformed_house_number_suffix() -> None:
    assert fields(replace(GOOD, hns="ABCD")) == ["HNS"]


@pytest.mark.parametrize("pc", ["6270", "627041", "62704-12", "ABCDE", "62704 1234"])
def test_bad_zip(pc: str) -> None:
    assert fields(replace(GOOD, pc=pc)) == ["PC"]


@pytest.mark.parametrize("a1", ["XX", "ILL", "ON", "AE"])
def test_bad_us_state(a1: str) -> None:
    # ON is a province and AE a military mail code: neither is a US state or territory.
    assert fields(replace(GOOD, a1=a1)) == ["A1"]


@pytest.mark.parametrize(("a1", "pc"), [("IL", "M5H 2N2"), ("ON", "62704"), ("ON", "D5H 2N2")])
def test_canada_checks_provinces_and_postal_codes(a1: str, pc: str) -> None:
    problems = fields(replace(GOOD_CA, a1=a1, pc=pc))
    assert problems == (["A1"] if a1 != "ON" else ["PC"])


@pytest.mark.parametrize(
    ("element", "value"),
    [
        ("rd", "PO BOX 12"),
        ("rd", "P.O. Box 12"),
        ("rd", "p o box 12"),
        ("rd", "Post Office Box 12"),
        ("rd", "POB 12"),
        ("unit", "POBOX 7"),
        ("loc", "PMB 100"),
        ("rd", "General Delivery"),
    ],
)
def test_po_boxes_in_any_spelling_are_refused(element: str, value: str) -> None:
    problems = validate(replace(GOOD, **{element: value}))  # type: ignore[arg-type]
    assert [p.field for p in problems] == [element.upper()]


@pytest.mark.parametrize("rd", ["POBLANO", "BOXWOOD", "POST OFFICE", "PO VALLEY"])
def test_street_names_resembling_boxes_pass(rd: str) -> None:
    assert validate(replace(GOOD, rd=rd)) == []


def test_pobox_element_is_refused() -> None:
    address = replace(GOOD, other=(("POBOX", "Private Box 15"),))
    assert fields(address) == ["POBOX"]


def test_multi_unit_site_needs_unit_floor_or_room() -> None:
    assert fields(GOOD, multi_unit=True) == ["UNIT"]
    for extra in ({"unit": "STE 400"}, {"flr": "3"}, {"room": "12"}):
        assert validate(replace(GOOD, **extra), multi_unit=True) == []  # type: ignore[arg-type]


def test_bare_unit_designator_is_refused() -> None:
    assert fields(replace(GOOD, unit="APT")) == ["UNIT"]


def test_control_characters_are_refused() -> None:
    assert fields(replace(GOOD, nam="ACME\x07")) == ["NAM"]


def test_require_valid_raises_the_first_problem_and_keeps_all() -> None:
    address = replace(GOOD, hno=None, pc="1")
    with pytest.raises(AddressError) as caught:
        require_valid(address)
    assert caught.value.field == "HNO"
    assert caught.value.problems == (
        AddressProblem("HNO", "house number is missing"),
        AddressProblem("PC", "ZIP code must be 5 digits or ZIP+4"),
    )


def test_problem_messages_do_not_quote_values() -> None:
    address = replace(GOOD, a1="ZZ", pc="9999", hno="X42X", rd="PO BOX 31337")
    text = " ".join(str(p) for p in validate(address))
    for value in ("ZZ", "9999", "X42X", "31337"):
        assert value not in text


def test_dispatchable_location_includes_in_building_parts() -> None:
    address = replace(GOOD, bld="2", flr="4", unit="STE 400", room="12")
    assert dispatchable_location(address) == (
        "123 N MAIN ST, BLDG 2, FL 4, STE 400, RM 12, SPRINGFIELD, IL 62704"
    )


def test_dispatchable_location_of_simple_and_canadian_addresses() -> None:
    assert dispatchable_location(GOOD) == "123 N MAIN ST, SPRINGFIELD, IL 62704"
    assert dispatchable_location(replace(GOOD_CA, unit="1200")) == (
        "100 QUEEN ST W, UNIT 1200, TORONTO, ON M5H 2N2, CANADA"
    )


def test_dispatchable_location_refuses_invalid_addresses() -> None:
    with pytest.raises(AddressError) as caught:
        dispatchable_location(GOOD, multi_unit=True)
    assert caught.value.field == "UNIT"
    with pytest.raises(AddressError):
        dispatchable_location(replace(GOOD, rd=None))


def test_is_dispatchable() -> None:
    assert is_dispatchable(GOOD)
    assert not is_dispatchable(GOOD, multi_unit=True)
    assert is_dispatchable(replace(GOOD, flr="2"), multi_unit=True)
    assert not is_dispatchable(replace(GOOD, pc=None))
