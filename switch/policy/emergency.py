"""Emergency, emergency-test and N11 short codes as data, and how people dial them here.

The table below is the project's own: phonenumbers knows national emergency
numbers but not the forms dialled through a switch (``9911``, ``9-112``,
``+1 911``, ``1911``), nor the 933 test call. Its short-number data is still
consulted as a fallback so that a country missing here keeps its emergency
numbers; both sources can only add emergency numbers, never remove one (E911-06).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

from phonenumbers import shortnumberinfo

from switch.policy.destination import N11Service
from switch.policy.normalize import is_digits
from switch.policy.numbering import calling_code

# Mobile standards (3GPP TS 22.101) make 112 and 911 emergency numbers in every
# country, so a visitor's habit works here too.
GLOBAL_EMERGENCY: frozenset[str] = frozenset({"112", "911"})

_EU_112_ONLY = ("BG", "DK", "EE", "FI", "LT", "LV", "MT", "NL", "PT", "RO", "SE")

_TABLE: dict[str, frozenset[str]] = {
    "US": frozenset({"911"}),
    "CA": frozenset({"911"}),
    "MX": frozenset({"911"}),
    "GB": frozenset({"999", "112"}),
    "IE": frozenset({"999", "112"}),
    "AT": frozenset({"112", "122", "133", "144"}),
    "BE": frozenset({"112", "100", "101"}),
    "CY": frozenset({"112", "199"}),
    "CZ": frozenset({"112", "150", "155", "158"}),
    "DE": frozenset({"112", "110"}),
    "ES": frozenset({"112", "091", "062", "061", "080"}),
    "FR": frozenset({"112", "15", "17", "18", "114"}),
    "GR": frozenset({"112", "100", "166", "199"}),
    "HR": frozenset({"112", "192", "193", "194"}),
    "HU": frozenset({"112", "104", "105", "107"}),
    "IT": frozenset({"112", "113", "115", "118"}),
    "LU": frozenset({"112", "113"}),
    "PL": frozenset({"112", "997", "998", "999"}),
    "SI": frozenset({"112", "113"}),
    "SK": frozenset({"112", "150", "155", "158"}),
    "SG": frozenset({"999", "995", "993"}),
    "AU": frozenset({"000", "112"}),
    "NZ": frozenset({"111"}),
    "JP": frozenset({"110", "119"}),
    "IN": frozenset({"112", "100", "101", "102", "108"}),
} | {region: frozenset({"112"}) for region in _EU_112_ONLY}

# Emergency numbers per country (ISO 3166-1 alpha-2); GLOBAL_EMERGENCY applies on top.
EMERGENCY_NUMBERS: Mapping[str, frozenset[str]] = MappingProxyType(_TABLE)

# Test calls that reach the emergency network to read back the registered address.
EMERGENCY_TEST_NUMBERS: Mapping[str, frozenset[str]] = MappingProxyType({"US": frozenset({"933"})})

_NANP_N11: Mapping[str, N11Service] = MappingProxyType({s.value: s for s in N11Service})

# N11 codes per country; 911 itself is in EMERGENCY_NUMBERS.
N11_CODES: Mapping[str, Mapping[str, N11Service]] = MappingProxyType(
    {"US": _NANP_N11, "CA": _NANP_N11}
)

# Outside-line prefixes people dial by habit in these countries. Only emergency
# numbers honour them when the account has not configured one: a "9-911" from a
# visitor used to another PBX must still reach help.
HABITUAL_OUTSIDE_PREFIXES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"US": ("9",), "CA": ("9",), "GB": ("9",)}
)

_LIBRARY_FALLBACK_MAX_LEN = 4  # longest national emergency code worth asking phonenumbers
_MAX_FORM_LEN = 10  # "+" or outside-line prefix, country code and a short code, at most


class ShortCodeKind(StrEnum):
    EMERGENCY = "emergency"
    EMERGENCY_TEST = "emergency_test"
    N11 = "n11"


@dataclass(frozen=True, slots=True)
class ShortCodeMatch:
    kind: ShortCodeKind
    code: str  # the short code itself, e.g. "911" for "9-1-911"
    via_outside_line_prefix: bool
    n11: N11Service | None = None


@lru_cache(maxsize=4096)
def _library_says_emergency(code: str, region: str) -> bool:
    try:
        return bool(shortnumberinfo.is_emergency_number(code, region))
    except Exception:  # unknown region or metadata fault: the table still applies
        return False


def is_emergency_code(code: str, country: str) -> bool:
    """Whether ``code`` (digits only) is an emergency number for a device in ``country``."""
    if code in GLOBAL_EMERGENCY or code in EMERGENCY_NUMBERS.get(country, ()):
        return True
    return len(code) <= _LIBRARY_FALLBACK_MAX_LEN and _library_says_emergency(code, country)


def _forms(text: str, country: str, prefix: str | None) -> list[tuple[str, bool]]:
    """Short-code candidates of a dial string, each with "came after an outside-line prefix"."""
    plus = text.startswith("+")
    body = text[1:] if plus else text
    forms = [(body, False)]
    if not plus:
        for outside in (prefix, *HABITUAL_OUTSIDE_PREFIXES.get(country, ())):
            if outside and body.startswith(outside):
                forms.append((body[len(outside) :], True))
    # Country-code forms: "+1 911", "+44 999", and NANP's "1 911" (possibly after "9").
    code = calling_code(country)
    cc = str(code) if code else ""
    if cc and (plus or cc == "1"):
        for form, via in list(forms):
            if form.startswith(cc):
                forms.append((form[len(cc) :], via))
    return forms


def match_short_code(text: str, country: str, prefix: str | None) -> ShortCodeMatch | None:
    """Match a compacted dial string against the emergency, test and N11 codes.

    ``prefix`` is the account's outside-line prefix. Emergency wins over the test
    number, which wins over N11; N11 codes do not take habitual prefixes or
    country-code forms (``+1 411`` is not directory assistance).
    """
    if len(text) > _MAX_FORM_LEN or not is_digits(text[1:] if text[:1] == "+" else text):
        return None
    forms = _forms(text, country, prefix)
    for code, via in forms:
        if code and is_emergency_code(code, country):
            return ShortCodeMatch(ShortCodeKind.EMERGENCY, code, via)
    tests = EMERGENCY_TEST_NUMBERS.get(country, frozenset())
    for code, via in forms:
        if code in tests:
            return ShortCodeMatch(ShortCodeKind.EMERGENCY_TEST, code, via)
    n11 = N11_CODES.get(country)
    if n11 is None or text.startswith("+"):
        return None
    service = n11.get(text)
    if service is not None:
        return ShortCodeMatch(ShortCodeKind.N11, text, False, service)
    if prefix and text.startswith(prefix):
        code = text[len(prefix) :]
        service = n11.get(code)
        if service is not None:
            return ShortCodeMatch(ShortCodeKind.N11, code, True, service)
    return None
