"""Turn what a caller dialled into a Destination.

Order, first match wins:

1. ``*`` or ``#`` first: a feature code (``*911`` too: it never reaches 911).
2. Emergency, then the 933 test number, then N11, in every dialled form
   (emergency.py); an extension numbered like them loses, by design.
3. One of the account's extensions.
4. ``+`` and digits: E.164.
5. Digits, read the device country's way: for North America 7/10/1+10 digits,
   ``011`` international and the operator forms ``0``, ``00``, ``0+number`` and
   ``01+international``; elsewhere phonenumbers applies the national trunk and
   international prefixes. A configured outside-line prefix is tried first and
   dropped again if the rest is no number (so ``9175551234`` stays a 917 number).

Numbers phonenumbers does not recognise as valid are INVALID everywhere: an
unknown range is not worth the toll-fraud risk of guessing.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from switch.policy.destination import (
    Destination,
    DestinationClass,
    InvalidReason,
    LineType,
)
from switch.policy.dialplan import DialPlan
from switch.policy.emergency import ShortCodeKind, ShortCodeMatch, match_short_code
from switch.policy.lists import PolicyLists, default_lists
from switch.policy.normalize import compact, is_digits, strip_prefix, user_part
from switch.policy.numbering import NumberFacts, calling_code, facts_for_e164, facts_for_national

_CACHE_SIZE = 16384  # entries per memo (all plans together): a few MB at most
NANP_REGIONS = frozenset(phonenumbers.region_codes_for_country_code(1))
_FEATURE_CHARS = frozenset("0123456789*#")
_NANP_PREMIUM_EXCHANGE = "976"  # NPA-976-XXXX pay-per-call exchanges, not flagged by phonenumbers
_SHORT_CLASSES = {
    ShortCodeKind.EMERGENCY: DestinationClass.EMERGENCY,
    ShortCodeKind.EMERGENCY_TEST: DestinationClass.EMERGENCY_TEST,
    ShortCodeKind.N11: DestinationClass.N11,
}


def classify(dialled: str, plan: DialPlan, lists: PolicyLists | None = None) -> Destination:
    """Classify ``dialled`` (a SIP user part, ``tel:`` URI or typed string) for ``plan``.

    Results are memoised per dialled string and plan (Destinations are immutable);
    only the extension lookup runs on every call, since the plan's extension set
    is not part of the key.
    """
    head = _head(dialled, plan.country, plan.outside_line_prefix)
    if isinstance(head, Destination):
        return head
    user, text = head
    if plan.is_extension(text) or (user != text and plan.is_extension(user)):
        return _internal(dialled, text, plan.country)
    return _tail(dialled, text, plan, lists if lists is not None else default_lists())


@lru_cache(maxsize=_CACHE_SIZE)
def _head(dialled: str, country: str, prefix: str | None) -> Destination | tuple[str, str]:
    """Steps 1-2: a final Destination, or the user part and compacted text to go on with."""
    user = user_part(dialled)
    text = compact(user)
    if not text:
        return _invalid(dialled, text, InvalidReason.EMPTY)
    if text[0] in "*#":
        return _feature_code(dialled, text)
    short = match_short_code(text, country, prefix)
    if short is not None:
        return _short_code(dialled, short, country)
    return user, text


@lru_cache(maxsize=_CACHE_SIZE)
def _internal(dialled: str, text: str, country: str) -> Destination:
    return Destination(dialled, text, DestinationClass.INTERNAL, region=country)


@lru_cache(maxsize=_CACHE_SIZE)
def _tail(dialled: str, text: str, plan: DialPlan, lists: PolicyLists) -> Destination:
    """Steps 4-5: telephone numbers."""
    if text[0] == "+":
        if text == "+":
            return _invalid(dialled, text, InvalidReason.TOO_SHORT)
        if not is_digits(text[1:]):
            return _invalid(dialled, text, InvalidReason.BAD_CHARACTERS)
        return _from_e164(dialled, text, text, plan, lists, via_prefix=False)
    if not is_digits(text):
        return _invalid(dialled, text, InvalidReason.BAD_CHARACTERS)
    rest = strip_prefix(text, plan.outside_line_prefix)
    if rest is None:
        return _external(dialled, text, plan, lists, via_prefix=False)
    with_prefix = _external(dialled, rest, plan, lists, via_prefix=True)
    if with_prefix.dest_class is not DestinationClass.INVALID:
        return with_prefix
    without = _external(dialled, text, plan, lists, via_prefix=False)
    return with_prefix if without.dest_class is DestinationClass.INVALID else without


def clear_cache() -> None:
    """Forget memoised classifications (tests, or after changing phonenumbers metadata)."""
    _head.cache_clear()
    _internal.cache_clear()
    _tail.cache_clear()


def _invalid(dialled: str, digits: str, reason: InvalidReason, via: bool = False) -> Destination:
    return Destination(
        dialled,
        digits,
        DestinationClass.INVALID,
        invalid_reason=reason,
        via_outside_line_prefix=via,
    )


def _feature_code(dialled: str, text: str) -> Destination:
    if len(text) < 2 or not _FEATURE_CHARS.issuperset(text):
        return _invalid(dialled, text, InvalidReason.BAD_CHARACTERS)
    return Destination(dialled, text, DestinationClass.FEATURE_CODE, feature_code=text)


def _short_code(dialled: str, short: ShortCodeMatch, country: str) -> Destination:
    return Destination(
        dialled,
        short.code,
        _SHORT_CLASSES[short.kind],
        region=country,
        n11=short.n11,
        via_outside_line_prefix=short.via_outside_line_prefix,
    )


def _external(
    dialled: str, digits: str, plan: DialPlan, lists: PolicyLists, *, via_prefix: bool
) -> Destination:
    """Digits without ``+``, read as the device's country dials."""
    if plan.country in NANP_REGIONS:
        return _nanp(dialled, digits, plan, lists, via_prefix)
    facts = facts_for_national(digits, plan.country)
    if facts is None:
        return _invalid(dialled, digits, InvalidReason.NOT_A_NUMBER, via_prefix)
    return _from_facts(dialled, digits, facts, plan, lists, via_prefix)


def _nanp(dialled: str, digits: str, plan: DialPlan, lists: PolicyLists, via: bool) -> Destination:
    if digits.startswith("011"):
        if len(digits) == 3:
            return _invalid(dialled, digits, InvalidReason.TOO_SHORT, via)
        return _from_e164(dialled, digits, "+" + digits[3:], plan, lists, via_prefix=via)
    if digits[0] == "0":
        return _operator(dialled, digits, plan, lists, via)
    nsn = _nanp_national(digits, plan)
    if isinstance(nsn, InvalidReason):
        return _invalid(dialled, digits, nsn, via)
    return _from_e164(dialled, digits, "+1" + nsn, plan, lists, via_prefix=via)


def _nanp_national(digits: str, plan: DialPlan) -> str | InvalidReason:
    """The 10-digit national number of a 7, 10 or 1+10 digit string."""
    length = len(digits)
    if length == 11 and digits[0] == "1":
        return digits[1:]
    if length == 10:
        return digits
    if length == 7:
        home = plan.home_area_code
        return home + digits if home else InvalidReason.NO_HOME_AREA_CODE
    return InvalidReason.TOO_SHORT if length < 10 else InvalidReason.TOO_LONG


def _operator(
    dialled: str, digits: str, plan: DialPlan, lists: PolicyLists, via: bool
) -> Destination:
    """``0`` operator, ``00`` carrier operator, ``0+`` number and ``01+`` international."""
    if digits in ("0", "00"):
        return Destination(
            dialled,
            digits,
            DestinationClass.OPERATOR_ASSISTED,
            region=plan.country,
            via_outside_line_prefix=via,
        )
    if digits[1] == "1":
        target = "+" + digits[2:]
    else:
        nsn = _nanp_national(digits[1:], plan)
        if isinstance(nsn, InvalidReason):
            return _invalid(dialled, digits, nsn, via)
        target = "+1" + nsn
    return _from_e164(dialled, digits, target, plan, lists, via_prefix=via, operator=True)


def _from_e164(
    dialled: str,
    digits: str,
    e164: str,
    plan: DialPlan,
    lists: PolicyLists,
    *,
    via_prefix: bool,
    operator: bool = False,
) -> Destination:
    facts = facts_for_e164(e164)
    if facts is None:
        reason = InvalidReason.TOO_SHORT if len(e164) < 4 else InvalidReason.NOT_A_NUMBER
        return _invalid(dialled, digits, reason, via_prefix)
    return _from_facts(dialled, digits, facts, plan, lists, via_prefix, operator)


def _from_facts(
    dialled: str,
    digits: str,
    facts: NumberFacts,
    plan: DialPlan,
    lists: PolicyLists,
    via: bool,
    operator: bool = False,
) -> Destination:
    e164_digits = facts.e164[1:]
    # Embargo first: it holds for numbers the library cannot place too (INTL-08).
    embargo = lists.embargoed.match(e164_digits, facts.region)
    if embargo is not None:
        return Destination(
            dialled,
            digits,
            DestinationClass.EMBARGOED,
            e164=facts.e164,
            region=facts.region or facts.main_region,
            line_type=facts.line_type,
            via_outside_line_prefix=via,
            international=True,
            embargo_label=embargo.label,
        )
    if facts.length_fault is not None:
        return _invalid(dialled, digits, facts.length_fault, via)
    if not facts.valid or facts.region is None:
        return _invalid(dialled, digits, InvalidReason.NOT_A_NUMBER, via)
    return _place(dialled, digits, facts, facts.region, plan, lists, via, operator)


def _place(
    dialled: str,
    digits: str,
    facts: NumberFacts,
    region: str,
    plan: DialPlan,
    lists: PolicyLists,
    via: bool,
    operator: bool,
) -> Destination:
    """Class of a valid, non-embargoed number: by its region, never by its country code."""
    premium = _is_premium(facts)
    domestic = region in plan.domestic_regions
    high_risk = None if domestic else lists.high_risk.match(facts.e164[1:], region)
    if operator:
        dest_class = DestinationClass.OPERATOR_ASSISTED
    elif high_risk is not None:
        dest_class = DestinationClass.INTERNATIONAL_HIGH_RISK
    elif premium:
        dest_class = DestinationClass.PREMIUM
    elif not domestic:
        dest_class = DestinationClass.INTERNATIONAL
    elif facts.line_type is LineType.TOLL_FREE:
        dest_class = DestinationClass.TOLL_FREE
    elif _is_local(facts, plan):
        dest_class = DestinationClass.LOCAL
    else:
        dest_class = DestinationClass.DOMESTIC_LONG_DISTANCE
    return Destination(
        dialled,
        digits,
        dest_class,
        e164=facts.e164,
        region=region,
        line_type=facts.line_type,
        via_outside_line_prefix=via,
        international=not domestic,
        premium=premium,
        high_risk=high_risk is not None,
        high_risk_label=high_risk.label if high_risk is not None else None,
    )


def _is_premium(facts: NumberFacts) -> bool:
    if facts.line_type is LineType.PREMIUM_RATE:
        return True
    return (
        facts.country_code == 1
        and facts.line_type is not LineType.TOLL_FREE
        and facts.national_number[3:6] == _NANP_PREMIUM_EXCHANGE
    )


def _is_local(facts: NumberFacts, plan: DialPlan) -> bool:
    """Home area code or a listed one, in the device's own country code (see DialPlan)."""
    if facts.country_code != calling_code(plan.country):
        return False
    nsn = facts.national_number
    home = plan.home_area_code
    if home and nsn.startswith(home):
        return True
    return any(nsn.startswith(code) for code in plan.local_area_codes)
