"""The civic address model and its plain-dict form (database JSON column, CLI)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from e911.civic import ELEMENT_ORDER, MODELLED, CivicAddress
from e911.errors import AddressError

FULL = CivicAddress(
    country="US", a1="IL", a2="SANGAMON", a3="SPRINGFIELD", prd="N", rd="MAIN", sts="ST",
    pod="SW", hno="123", hns="A", loc="NE CORNER", flr="4", nam="ACME CORP", pc="62704",
    bld="2", unit="STE 400", room="12", seat="D7", plc="office",
)  # fmt: skip


def test_dict_uses_rfc5139_element_names_and_round_trips_through_json() -> None:
    data = FULL.to_dict()
    assert set(data) == set(MODELLED)
    assert data["HNO"] == "123" and data["country"] == "US" and data["A2"] == "SANGAMON"
    assert CivicAddress.from_dict(json.loads(json.dumps(data))) == FULL


def test_dict_leaves_out_unset_elements() -> None:
    assert CivicAddress(country="US", hno="1").to_dict() == {"country": "US", "HNO": "1"}


def test_from_dict_accepts_any_case_and_ignores_blank_values() -> None:
    address = CivicAddress.from_dict({"Country": "US", "hno": "5", "rd": "ELM", "loc": "  "})
    assert address == CivicAddress(country="US", hno="5", rd="ELM")


def test_extra_elements_and_language_survive_the_dict() -> None:
    address = CivicAddress(
        country="AU", rd="FLINDERS", other=(("LMK", "PIER"), ("A4", "N")), lang="en-AU"
    )
    data = address.to_dict()
    assert data["A4"] == "N" and data["LMK"] == "PIER" and data["lang"] == "en-AU"
    assert CivicAddress.from_dict(data) == address
    # Extras are kept in schema order whatever order they were given in.
    assert address.other == (("A4", "N"), ("LMK", "PIER"))


@pytest.mark.parametrize("data", [{"STREET": "MAIN"}, {"HNO": 12}, {"lang": 3}])
def test_from_dict_refuses_unknown_keys_and_non_text(data: dict[str, object]) -> None:
    with pytest.raises(AddressError):
        CivicAddress.from_dict(data)


def test_modelled_elements_cannot_hide_in_other() -> None:
    with pytest.raises(AddressError):
        CivicAddress(other=(("HNO", "12"),))


def test_whitespace_is_collapsed_as_for_xs_token() -> None:
    address = CivicAddress(rd="  MAIN   STREET ", unit=" ", other=(("A4", "  "),))
    assert (address.rd, address.unit, address.other) == ("MAIN STREET", None, ())


def test_get_reads_modelled_and_extra_elements_by_name() -> None:
    address = CivicAddress(hno="9", other=(("POBOX", "15"),))
    assert (address.get("HNO"), address.get("pobox"), address.get("A5")) == ("9", "15", None)


_value = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1
).map(lambda s: " ".join(s.split()))


@given(st.dictionaries(st.sampled_from(ELEMENT_ORDER), _value.filter(bool), max_size=12))
def test_any_element_set_round_trips(data: dict[str, str]) -> None:
    address = CivicAddress.from_dict(data)
    assert address.to_dict() == data
    assert CivicAddress.from_dict(address.to_dict()) == address
