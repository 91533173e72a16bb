"""phonenumbers behind a cache: what the numbering plan says about one number.

Parsing and validating cost tens of microseconds each, and callers dial the
same numbers again and again, so every answer is memoised by its input string.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType, ValidationResult

from switch.policy.destination import InvalidReason, LineType

_UNKNOWN_REGION = "ZZ"
_CACHE_SIZE = 32768

_LINE_TYPES: dict[int, LineType] = {
    PhoneNumberType.FIXED_LINE: LineType.FIXED_LINE,
    PhoneNumberType.MOBILE: LineType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: LineType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.TOLL_FREE: LineType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE: LineType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST: LineType.SHARED_COST,
    PhoneNumberType.VOIP: LineType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER: LineType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER: LineType.PAGER,
    PhoneNumberType.UAN: LineType.UAN,
    PhoneNumberType.VOICEMAIL: LineType.VOICEMAIL,
}

_LENGTH_FAULTS: dict[int, InvalidReason] = {
    ValidationResult.TOO_SHORT: InvalidReason.TOO_SHORT,
    ValidationResult.TOO_LONG: InvalidReason.TOO_LONG,
    ValidationResult.INVALID_LENGTH: InvalidReason.NOT_A_NUMBER,
    ValidationResult.INVALID_COUNTRY_CODE: InvalidReason.NOT_A_NUMBER,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: InvalidReason.TOO_SHORT,
}


@dataclass(frozen=True, slots=True)
class NumberFacts:
    """One parsed number. ``region`` is only set when the number is valid."""

    e164: str
    country_code: int
    national_number: str  # national significant number, leading zeros kept
    valid: bool
    region: str | None
    main_region: str  # first region of the country code (``ZZ`` if unknown)
    line_type: LineType
    length_fault: InvalidReason | None  # None when the length is possible


# Region of each geographic North American area code, learnt from the first valid
# number seen: a geographic NPA belongs to one country, so this skips re-testing up
# to 25 regions' patterns. Non-geographic codes (800, 900, 5XX) are shared by
# several regions and always go through phonenumbers.
_GEOGRAPHIC_TYPES = frozenset(
    {PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
_NANP_REGIONS_BY_NPA: dict[str, str] = {}


def _region(number: PhoneNumber) -> str | None:
    return phonenumbers.region_code_for_number(number)


def _nanp_region(npa: str, number: PhoneNumber) -> str | None:
    region = _NANP_REGIONS_BY_NPA.get(npa)
    if region is None:
        region = _region(number)
        if region is not None:
            _NANP_REGIONS_BY_NPA[npa] = region
    return region


def _facts(number: PhoneNumber) -> NumberFacts:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    possible = phonenumbers.is_possible_number_with_reason(number)
    fault = None if possible == ValidationResult.IS_POSSIBLE else _LENGTH_FAULTS.get(possible)
    # number_type is UNKNOWN exactly when the number is invalid, so one call answers
    # both questions (is_valid_number would resolve the region a second time).
    kind = phonenumbers.number_type(number) if fault is None else PhoneNumberType.UNKNOWN
    valid = kind != PhoneNumberType.UNKNOWN
    cc = number.country_code or 0
    nsn = phonenumbers.national_significant_number(number)
    region = None
    if valid:
        geographic = kind in _GEOGRAPHIC_TYPES
        region = _nanp_region(nsn[:3], number) if cc == 1 and geographic else _region(number)
    line_type = _LINE_TYPES.get(kind, LineType.UNKNOWN)
    return NumberFacts(
        e164=e164,
        country_code=cc,
        national_number=nsn,
        valid=valid,
        region=region,
        main_region=phonenumbers.region_code_for_country_code(cc) or _UNKNOWN_REGION,
        line_type=line_type,
        length_fault=fault,
    )


@lru_cache(maxsize=_CACHE_SIZE)
def facts_for_e164(e164: str) -> NumberFacts | None:
    """Facts for ``+`` and digits; None when no country code can be read."""
    if len(e164) == 12 and e164.startswith("+1"):
        # North American numbers have no leading zeros: skip the general parser.
        return _facts(PhoneNumber(country_code=1, national_number=int(e164[2:])))
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
    return _facts(number)


@lru_cache(maxsize=_CACHE_SIZE)
def facts_for_national(digits: str, region: str) -> NumberFacts | None:
    """Facts for digits dialled the way ``region`` dials (trunk and IDD prefixes)."""
    try:
        number = phonenumbers.parse(digits, region)
    except NumberParseException:
        return None
    return _facts(number)


@lru_cache(maxsize=512)
def calling_code(region: str) -> int:
    """The country calling code of ``region`` (0 if unknown)."""
    return int(phonenumbers.country_code_for_region(region))


def clear_caches() -> None:
    """Forget memoised answers (after a phonenumbers metadata upgrade in a long-lived process)."""
    facts_for_e164.cache_clear()
    facts_for_national.cache_clear()
    _NANP_REGIONS_BY_NPA.clear()
