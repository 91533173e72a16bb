"""Classification details a proxy relies on beyond the class itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switch.policy import (
    DestinationClass,
    DialPlan,
    InvalidReason,
    LineType,
    N11Service,
    classify,
    default_lists,
    load_policy_lists,
)
from switch.policy.emergency import EMERGENCY_NUMBERS, EMERGENCY_TEST_NUMBERS, GLOBAL_EMERGENCY
from switch.policy.numbering import calling_code

US = DialPlan.build(country="US", home_area_code="212", outside_line_prefix="9")


@pytest.mark.parametrize("service", list(N11Service))
def test_n11_sub_field_names_the_service(service: N11Service) -> None:
    dest = classify(service.value, US)
    assert dest.dest_class is DestinationClass.N11
    assert dest.n11 is service
    assert classify("9" + service.value, US).n11 is service


@pytest.mark.parametrize(
    ("dialled", "via_prefix"),
    [("911", False), ("9911", True), ("9-911", True), ("+1 911", False), ("9-1-911", True)],
)
def test_emergency_forms_route_to_the_short_code(dialled: str, via_prefix: bool) -> None:
    dest = classify(dialled, US)
    assert dest.is_emergency
    assert dest.digits == "911"
    assert dest.via_outside_line_prefix is via_prefix
    assert dest.region == "US"


def test_emergency_numbers_beat_an_extension_with_the_same_digits() -> None:
    plan = DialPlan.build(country="US", outside_line_prefix="9", extensions={"112", "9911"})
    assert classify("112", plan).dest_class is DestinationClass.EMERGENCY
    assert classify("9911", plan).dest_class is DestinationClass.EMERGENCY


@pytest.mark.parametrize("country", sorted(EMERGENCY_NUMBERS))
def test_every_emergency_number_in_the_table_is_emergency_in_every_form(country: str) -> None:
    plan = DialPlan.build(country=country, domestic_regions={country})
    code = calling_code(country)
    for number in EMERGENCY_NUMBERS[country] | GLOBAL_EMERGENCY:
        for dialled in (number, f"+{code} {number}", f"+{number}"):
            dest = classify(dialled, plan)
            assert dest.dest_class is DestinationClass.EMERGENCY, (country, dialled)
            assert dest.digits == number


@pytest.mark.parametrize("country", sorted(EMERGENCY_TEST_NUMBERS))
def test_emergency_test_numbers_classify_as_test(country: str) -> None:
    plan = DialPlan.build(country=country)
    for number in EMERGENCY_TEST_NUMBERS[country]:
        assert classify(number, plan).dest_class is DestinationClass.EMERGENCY_TEST


@given(st.lists(st.sampled_from(["-", ".", " ", "(", ")"]), min_size=3, max_size=3))
def test_separators_anywhere_in_911_keep_it_emergency(seps: list[str]) -> None:
    dialled = f"{seps[0]}9{seps[1]}1{seps[2]}1"
    assert classify(dialled, US).dest_class is DestinationClass.EMERGENCY


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_classify_never_raises_and_always_answers(text: str) -> None:
    dest = classify(text, US)
    assert isinstance(dest.dest_class, DestinationClass)
    if dest.dest_class is DestinationClass.INVALID:
        assert dest.invalid_reason is not None


def test_extensions_may_be_a_predicate() -> None:
    plan = DialPlan.build(
        country="US", extensions=lambda ext: ext.startswith("7") and len(ext) == 4
    )
    assert classify("7001", plan).dest_class is DestinationClass.INTERNAL
    assert classify("8001", plan).dest_class is DestinationClass.INVALID


def test_domestic_is_decided_by_region_not_by_plus_one() -> None:
    jamaica = classify("+1 876 555 1234", US)
    assert jamaica.region == "JM"
    assert jamaica.international
    toronto = classify("+1 416 555 1234", US)
    assert toronto.region == "CA"
    assert not toronto.international


def test_mexico_only_when_added_to_the_domestic_set() -> None:
    plain = classify("+52 55 1234 5678", US)
    with_mx = DialPlan.build(
        country="US", home_area_code="212", domestic_regions={"US", "CA", "MX"}
    )
    assert plain.international
    assert not classify("+52 55 1234 5678", with_mx).international


def test_premium_flags_and_line_types() -> None:
    nine_hundred = classify("1-900-555-1234", US)
    assert nine_hundred.premium and nine_hundred.line_type is LineType.PREMIUM_RATE
    exchange = classify("1-212-976-1234", US)
    assert exchange.premium and not exchange.international
    foreign = classify("+44 901 234 5678", US)
    assert foreign.premium and foreign.international
    toll_free_976 = classify("1-800-976-1234", US)
    assert not toll_free_976.premium and toll_free_976.line_type is LineType.TOLL_FREE


def test_high_risk_premium_range_keeps_both_flags() -> None:
    dest = classify("+371 9012 3456", US)
    assert dest.dest_class is DestinationClass.INTERNATIONAL_HIGH_RISK
    assert dest.high_risk and dest.premium and dest.international
    assert dest.high_risk_label is not None and "Latvia" in dest.high_risk_label


def test_embargo_carries_its_label() -> None:
    dest = classify("+7 978 123 4567", US)
    assert dest.embargo_label is not None and "Crimea" in dest.embargo_label
    assert dest.international


@pytest.mark.parametrize(
    ("dialled", "plan", "reason"),
    [
        ("12345", US, InvalidReason.TOO_SHORT),
        ("+44 20 7946", US, InvalidReason.TOO_SHORT),
        ("5551234", DialPlan.build(country="US"), InvalidReason.NO_HOME_AREA_CODE),
        ("212555123456", US, InvalidReason.TOO_LONG),
        ("+1 211 555 1234", US, InvalidReason.NOT_A_NUMBER),
        ("call me", US, InvalidReason.BAD_CHARACTERS),
        ("", US, InvalidReason.EMPTY),
    ],
)
def test_invalid_reasons(dialled: str, plan: DialPlan, reason: InvalidReason) -> None:
    dest = classify(dialled, plan)
    assert dest.dest_class is DestinationClass.INVALID
    assert dest.invalid_reason is reason


def test_operator_list_replaces_the_defaults(tmp_path: Path) -> None:
    high_risk = tmp_path / "hr.csv"
    high_risk.write_text("country_code,national_prefix,area,label\n1,876,JM,Jamaica\n")
    embargo = tmp_path / "emb.csv"
    embargo.write_text("country_code,national_prefix,area,label\n44,20,GB,London\n")
    lists = load_policy_lists(high_risk, embargo)
    assert classify("+1 876 555 1234", US, lists).dest_class is (
        DestinationClass.INTERNATIONAL_HIGH_RISK
    )
    assert classify("+44 20 7946 0000", US, lists).dest_class is DestinationClass.EMBARGOED
    # Defaults are gone from the replaced lists.
    assert classify("+53 7 123 4567", US, lists).dest_class is DestinationClass.INTERNATIONAL
    assert classify("+252 71 123456", US, lists).dest_class is DestinationClass.INTERNATIONAL


def test_classification_reads_no_files_once_lists_are_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lists = default_lists()

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("file access on the call path")

    monkeypatch.setattr("builtins.open", refuse)
    monkeypatch.setattr(Path, "read_text", refuse)
    assert classify("+53 7 123 4567", US, lists).dest_class is DestinationClass.EMBARGOED
    assert classify("+232 22 221234", US).dest_class is DestinationClass.INTERNATIONAL_HIGH_RISK
