"""Normalization of free-text and field-wise addresses to USPS Publication 28 form."""

from __future__ import annotations

import pytest

from e911.civic import CivicAddress
from e911.errors import AddressError, NormalizationError
from e911.normalize import normalize_address, normalize_line
from e911.validate import validate


def test_issue_example_line_is_normalized_to_pub28() -> None:
    address = normalize_line("123 north main street suite 400, springfield, il 62704")
    assert address == CivicAddress(
        country="US", a1="IL", a3="SPRINGFIELD", prd="N", rd="MAIN", sts="ST",
        hno="123", pc="62704", unit="STE 400",
    )  # fmt: skip
    assert validate(address) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "1600 Pennsylvania Avenue NW, Washington, DC 20500",
            {"HNO": "1600", "RD": "PENNSYLVANIA", "STS": "AVE", "POD": "NW", "A1": "DC"},
        ),
        (
            "123 1/2 Elm St Apt 4B, Austin, TX 78701-1234",
            {"HNO": "123", "HNS": "1/2", "UNIT": "APT 4B", "PC": "78701-1234"},
        ),
        (
            "123A W 5th Ave 3rd floor, New York, NY 10011",
            {"HNO": "123", "HNS": "A", "PRD": "W", "RD": "5TH", "FLR": "3"},
        ),
        (
            "12 Main St Fl 2 Rm 201, Austin, Texas 78701",
            {"FLR": "2", "ROOM": "201", "A1": "TX", "A3": "AUSTIN"},
        ),
        (
            "77 Massachusetts Ave Bldg 3 Rm 12, Cambridge, MA 02139",
            {"BLD": "3", "ROOM": "12", "PC": "02139"},
        ),
        ("4 Elm Way #12, Boise, ID 83702", {"UNIT": "# 12", "STS": "WAY"}),
        ("Acme Corp, 123 Main St, Springfield, IL 62704", {"NAM": "ACME CORP", "HNO": "123"}),
        ("500 Oak Rd, St. Louis, Missouri 631011234", {"A3": "SAINT LOUIS", "PC": "63101-1234"}),
        ("37-20 80th St, Jackson Heights, NY 11372", {"HNO": "37-20", "RD": "80TH"}),
        ("123 Main St, Springfield, IL 62704, U.S.A.", {"country": "US", "A1": "IL"}),
    ],
)
def test_free_text_forms(line: str, expected: dict[str, str]) -> None:
    address = normalize_line(line)
    got = address.to_dict()
    assert {k: got.get(k) for k in expected} == expected
    assert validate(address) == []


@pytest.mark.parametrize(
    "line",
    [
        "100 Queen Street West, Toronto, Ontario M5H 2N2",
        "100 Queen St W, Toronto, ON m5h2n2, Canada",
        "100 queen st. w., toronto, on, Canada M5H 2N2",
    ],
)
def test_canadian_line_is_detected_and_normalized(line: str) -> None:
    address = normalize_line(line)
    assert (address.country, address.a1, address.pc) == ("CA", "ON", "M5H 2N2")
    assert (address.hno, address.rd, address.sts, address.pod) == ("100", "QUEEN", "ST", "W")
    assert validate(address) == []


def test_normalization_is_idempotent() -> None:
    once = normalize_line("12 Main St Fl 2 Rm 201, Austin, TX 78701")
    assert normalize_address(once) == once


def test_fields_are_normalized_one_by_one() -> None:
    raw = CivicAddress(
        country="us", a1="Illinois", a3="springfield", prd="North", rd="main", sts="Street",
        hno="123B", unit="Suite 400", flr="4th Floor", room="Room 12", pc="627041234",
    )  # fmt: skip
    address = normalize_address(raw)
    assert address == CivicAddress(
        country="US", a1="IL", a3="SPRINGFIELD", prd="N", rd="MAIN", sts="ST", hno="123",
        hns="B", unit="STE 400", flr="4", room="12", pc="62704-1234",
    )  # fmt: skip


def test_numbered_street_gets_its_ordinal_and_zip_its_leading_zero() -> None:
    address = normalize_address(
        CivicAddress(country="US", hno="1", rd="5", sts="Avenue", pc="2139", a1="ma")
    )
    assert (address.rd, address.sts, address.pc, address.a1) == ("5TH", "AVE", "02139", "MA")


def test_canadian_fields_keep_canada_post_forms() -> None:
    address = normalize_address(
        CivicAddress(country="CA", a1="Québec", a3="St. Jerome", pc="j7z5t3", hno="10", rd="x")
    )
    # USPS would spell out SAINT; Canada Post keeps the abbreviation.
    assert (address.a1, address.a3, address.pc) == ("QC", "ST JEROME", "J7Z 5T3")


def test_incomplete_line_is_returned_for_validation_to_name_the_gap() -> None:
    address = normalize_line("Main Street, Springfield, IL 62704")
    assert [p.field for p in validate(address)] == ["HNO"]


@pytest.mark.parametrize(
    "line",
    [
        "PO Box 123, Springfield, IL 62704",
        "P.O. Box 123, Springfield, IL 62704",
        "Post Office Box 9, Springfield, IL 62704",
        "POB 77, Springfield, IL 62704",
        "pobox 5, Springfield, IL 62704",
    ],
)
def test_po_box_lines_are_refused(line: str) -> None:
    with pytest.raises(NormalizationError) as caught:
        normalize_line(line)
    assert caught.value.field == "POBOX"


def test_intersection_is_not_an_address() -> None:
    with pytest.raises(NormalizationError) as caught:
        normalize_line("Main & 5th St, Springfield, IL")
    assert caught.value.field == "HNO"


def test_unit_designator_without_number_is_refused() -> None:
    with pytest.raises(NormalizationError) as caught:
        normalize_line("123 Main St Apt, Springfield, IL 62704")
    assert caught.value.field == "UNIT"


def test_errors_do_not_leak_the_address() -> None:
    line = "PO Box 4242, Springfield, IL 62704"
    with pytest.raises(AddressError) as caught:
        normalize_line(line)
    assert "4242" not in str(caught.value)
    assert "SPRINGFIELD" not in str(caught.value).upper()


@pytest.mark.parametrize(
    ("line", "country"),
    [
        ("", None),
        ("123 Main St, Springfield, IL 62704", "DE"),
        ("123 Main St, Springfield, IL 62704, Canada", "US"),
    ],
)
def test_unreadable_or_unsupported_lines_raise(line: str, country: str | None) -> None:
    with pytest.raises(NormalizationError):
        normalize_line(line, country=country)
