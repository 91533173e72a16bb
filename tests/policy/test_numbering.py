"""The cached phonenumbers layer agrees with phonenumbers itself."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from switch.policy import DialPlan, LineType
from switch.policy.numbering import clear_caches, facts_for_e164

NANP = sorted(phonenumbers.region_codes_for_country_code(1))


def _nanp_samples() -> list[str]:
    samples = []
    for region in NANP:
        for kind in (
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.TOLL_FREE,
            phonenumbers.PhoneNumberType.PREMIUM_RATE,
        ):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                samples.append(
                    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                )
    rng = random.Random(20)
    samples += [f"+1{rng.randrange(2_000_000_000, 10_000_000_000)}" for _ in range(4000)]
    rng.shuffle(samples)
    return samples


def test_validity_and_region_match_phonenumbers_for_north_america() -> None:
    clear_caches()  # the area-code memo must learn from this run's order
    for e164 in _nanp_samples():
        facts = facts_for_e164(e164)
        assert facts is not None
        number = phonenumbers.parse(e164)
        assert facts.valid == phonenumbers.is_valid_number(number), e164
        if facts.valid:
            assert facts.region == phonenumbers.region_code_for_number(number), e164


@pytest.mark.parametrize(
    ("e164", "region", "line_type"),
    [
        ("+442079460000", "GB", LineType.FIXED_LINE),
        ("+18005551234", "US", LineType.TOLL_FREE),
        ("+19005551234", "US", LineType.PREMIUM_RATE),
        ("+14165551234", "CA", LineType.FIXED_LINE_OR_MOBILE),
        ("+390612345678", "IT", LineType.FIXED_LINE),  # leading zero kept
    ],
)
def test_facts(e164: str, region: str, line_type: LineType) -> None:
    facts = facts_for_e164(e164)
    assert facts is not None
    assert (facts.e164, facts.region, facts.line_type) == (e164, region, line_type)


def test_unreadable_input_gives_no_facts() -> None:
    assert facts_for_e164("+") is None
    assert facts_for_e164("+999") is None


def test_dial_plan_collections_become_frozensets() -> None:
    plan = DialPlan(country="US", local_area_codes={"646"}, domestic_regions={"US"})  # type: ignore[arg-type]
    assert plan.local_area_codes == frozenset({"646"})
    assert hash(plan) == hash(
        DialPlan(
            country="US", local_area_codes=frozenset({"646"}), domestic_regions=frozenset({"US"})
        )
    )
