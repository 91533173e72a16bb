"""What people dial, on which phone, and what the switch must take it for.

Columns: dialled, device country, outside-line prefix, home area code,
domestic regions, expected class, expected E.164 (when it is a number).
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from switch.policy import DestinationClass, DialPlan, classify

C = DestinationClass
EMERGENCY = C.EMERGENCY
TEST = C.EMERGENCY_TEST
N11 = C.N11
INTERNAL = C.INTERNAL
LOCAL = C.LOCAL
LD = C.DOMESTIC_LONG_DISTANCE
TOLL_FREE = C.TOLL_FREE
PREMIUM = C.PREMIUM
OPERATOR = C.OPERATOR_ASSISTED
INTL = C.INTERNATIONAL
HIGH_RISK = C.INTERNATIONAL_HIGH_RISK
EMBARGOED = C.EMBARGOED
FEATURE = C.FEATURE_CODE
INVALID = C.INVALID

NA = "US,CA"
NA_MX = "US,CA,MX"
EXTENSIONS = frozenset({"100", "101", "2001", "4000", "alice", "bob.smith"})


class Row(NamedTuple):
    dialled: str
    country: str
    prefix: str | None
    home: str | None
    domestic: str
    expected: DestinationClass
    e164: str | None = None


ROWS = [
    # --- Emergency, in every form it is dialled -------------------------------------------
    Row("911", "US", None, "212", NA, EMERGENCY),
    Row("9911", "US", "9", "212", NA, EMERGENCY),
    Row("9-911", "US", "9", "212", NA, EMERGENCY),
    Row("9 911", "US", "9", "212", NA, EMERGENCY),
    Row("9911", "US", None, "212", NA, EMERGENCY),  # habit, no prefix configured
    Row("9-1-911", "US", "9", "212", NA, EMERGENCY),
    Row("+1 911", "US", None, "212", NA, EMERGENCY),
    Row("+1911", "US", "9", "212", NA, EMERGENCY),
    Row("1911", "US", None, "212", NA, EMERGENCY),
    Row("1-911", "US", None, "212", NA, EMERGENCY),
    Row("+911", "US", None, "212", NA, EMERGENCY),
    Row("112", "US", None, "212", NA, EMERGENCY),
    Row("9112", "US", "9", "212", NA, EMERGENCY),
    Row("9-112", "US", None, "212", NA, EMERGENCY),
    Row("8911", "US", "8", "212", NA, EMERGENCY),
    Row("8-1-911", "US", "8", "212", NA, EMERGENCY),
    Row("911#", "US", None, "212", NA, EMERGENCY),
    Row("tel:911", "US", None, "212", NA, EMERGENCY),
    Row("sip:911@pbx.example.com;user=phone", "US", None, "212", NA, EMERGENCY),
    Row("911", "CA", "9", "416", NA, EMERGENCY),
    Row("9911", "CA", "9", "416", NA, EMERGENCY),
    Row("112", "CA", None, "416", NA, EMERGENCY),
    Row("911", "MX", None, None, "MX", EMERGENCY),
    Row("999", "GB", "9", "20", "GB", EMERGENCY),
    Row("112", "GB", "9", "20", "GB", EMERGENCY),
    Row("9999", "GB", "9", "20", "GB", EMERGENCY),
    Row("9-112", "GB", "9", "20", "GB", EMERGENCY),
    Row("+44 999", "GB", None, "20", "GB", EMERGENCY),
    Row("911", "GB", None, "20", "GB", EMERGENCY),
    Row("999", "IE", None, None, "IE", EMERGENCY),
    Row("112", "DE", None, "30", "DE", EMERGENCY),
    Row("110", "DE", None, "30", "DE", EMERGENCY),
    Row("0112", "DE", "0", "30", "DE", EMERGENCY),
    Row("15", "FR", None, None, "FR", EMERGENCY),
    Row("17", "FR", None, None, "FR", EMERGENCY),
    Row("18", "FR", None, None, "FR", EMERGENCY),
    Row("997", "PL", None, None, "PL", EMERGENCY),
    Row("999", "PL", None, None, "PL", EMERGENCY),
    Row("999", "SG", None, None, "SG", EMERGENCY),
    Row("995", "SG", None, None, "SG", EMERGENCY),
    Row("993", "SG", None, None, "SG", EMERGENCY),
    Row("112", "SG", None, None, "SG", EMERGENCY),
    Row("000", "AU", None, None, "AU", EMERGENCY),
    Row("111", "NZ", None, None, "NZ", EMERGENCY),
    Row("119", "JP", None, None, "JP", EMERGENCY),
    Row("999", "US", None, "212", NA, INVALID),  # not an emergency number for a US phone
    Row("995", "US", None, "212", NA, INVALID),
    # --- 933 address test -----------------------------------------------------------------
    Row("933", "US", None, "212", NA, TEST),
    Row("9933", "US", "9", "212", NA, TEST),
    Row("9-933", "US", "9", "212", NA, TEST),
    Row("+1 933", "US", None, "212", NA, TEST),
    # --- N11 ------------------------------------------------------------------------------
    Row("211", "US", None, "212", NA, N11),
    Row("311", "US", None, "212", NA, N11),
    Row("411", "US", None, "212", NA, N11),
    Row("511", "US", None, "212", NA, N11),
    Row("611", "US", None, "212", NA, N11),
    Row("711", "US", None, "212", NA, N11),
    Row("811", "US", None, "212", NA, N11),
    Row("988", "US", None, "212", NA, N11),
    Row("9411", "US", "9", "212", NA, N11),
    Row("9711", "US", "9", "212", NA, N11),
    Row("9-988", "US", "9", "212", NA, N11),
    Row("711", "CA", "9", "416", NA, N11),
    Row("988", "CA", None, "416", NA, N11),
    Row("9411", "US", None, "212", NA, INVALID),  # no prefix configured: 4 digits
    Row("+1 411", "US", None, "212", NA, INVALID),
    Row("711", "GB", None, "20", "GB", INVALID),
    # --- Feature codes (never an emergency call) ------------------------------------------
    Row("*72", "US", None, "212", NA, FEATURE),
    Row("*72 212 555 1234", "US", None, "212", NA, FEATURE),
    Row("*911", "US", None, "212", NA, FEATURE),
    Row("*67", "US", "9", "212", NA, FEATURE),
    Row("#21#", "US", None, "212", NA, FEATURE),
    Row("*112", "GB", None, "20", "GB", FEATURE),
    Row("*", "US", None, "212", NA, INVALID),
    Row("*7a", "US", None, "212", NA, INVALID),
    # --- Extensions -----------------------------------------------------------------------
    Row("100", "US", None, "212", NA, INTERNAL),
    Row("101", "US", "9", "212", NA, INTERNAL),
    Row("2001", "US", None, "212", NA, INTERNAL),
    Row("2-0-0-1", "US", None, "212", NA, INTERNAL),
    Row("4000", "US", "9", "212", NA, INTERNAL),
    Row("alice", "US", None, "212", NA, INTERNAL),
    Row("sip:alice@pbx.example.com", "US", None, "212", NA, INTERNAL),
    Row("bob.smith", "US", None, "212", NA, INTERNAL),
    Row("102", "US", None, "212", NA, INVALID),
    # --- Local and long distance (home 212, 646 listed as local) ---------------------------
    Row("555-1234", "US", None, "212", NA, LOCAL, "+12125551234"),
    Row("5551234", "US", None, "212", NA, LOCAL, "+12125551234"),
    Row("(212) 555-1234", "US", None, "212", NA, LOCAL, "+12125551234"),
    Row("212.555.1234", "US", None, "212", NA, LOCAL, "+12125551234"),
    Row("1-212-555-1234", "US", None, "212", NA, LOCAL, "+12125551234"),
    Row("+1 212 555 1234", "US", None, "212", NA, LOCAL, "+12125551234"),
    Row("tel:+1-212-555-1234", "US", None, "212", NA, LOCAL, "+12125551234"),
    Row("%2B12125551234", "US", None, "212", NA, LOCAL, "+12125551234"),
    Row("646-555-1234", "US", None, "212", NA, LOCAL, "+16465551234"),
    Row("917-555-1234", "US", None, "212", NA, LD, "+19175551234"),
    Row("1 415 555 1234", "US", None, "212", NA, LD, "+14155551234"),
    Row("+1-415-555-1234", "US", None, "212", NA, LD, "+14155551234"),
    Row("9-555-1234", "US", "9", "212", NA, LOCAL, "+12125551234"),
    Row("9-1-415-555-1234", "US", "9", "212", NA, LD, "+14155551234"),
    Row("9-415-555-1234", "US", "9", "212", NA, LD, "+14155551234"),
    Row("9175551234", "US", "9", "212", NA, LD, "+19175551234"),  # 917 area, not prefix 9
    Row("416-555-1234", "US", None, "212", NA, LD, "+14165551234"),
    Row("1-604-555-1234", "US", None, "212", NA, LD, "+16045551234"),
    Row("416-555-1234", "CA", "9", "416", NA, LOCAL, "+14165551234"),
    Row("9-416-555-1234", "CA", "9", "416", NA, LOCAL, "+14165551234"),
    Row("555-1234", "CA", "9", "416", NA, LOCAL, "+14165551234"),
    Row("9-1-212-555-1234", "CA", "9", "416", NA, LD, "+12125551234"),
    Row("5551234", "US", None, None, NA, INVALID),  # 7 digits, no home area code
    Row("020 7946 0000", "GB", "9", "20", "GB", LOCAL, "+442079460000"),
    Row("9-020-7946-0000", "GB", "9", "20", "GB", LOCAL, "+442079460000"),
    Row("0161 496 0000", "GB", "9", "20", "GB", LD, "+441614960000"),
    Row("07400 123456", "GB", None, "20", "GB", LD, "+447400123456"),
    Row("030 123456", "DE", None, "30", "DE", LOCAL, "+4930123456"),
    Row("0049 30 123456", "DE", None, "30", "DE", LOCAL, "+4930123456"),
    Row("089 1234567", "DE", None, "30", "DE", LD, "+49891234567"),
    # --- Toll free ------------------------------------------------------------------------
    Row("1-800-555-1234", "US", None, "212", NA, TOLL_FREE, "+18005551234"),
    Row("800-555-1234", "US", None, "212", NA, TOLL_FREE, "+18005551234"),
    Row("+1 833 555 1234", "US", None, "212", NA, TOLL_FREE, "+18335551234"),
    Row("1 844 555 1234", "US", None, "212", NA, TOLL_FREE, "+18445551234"),
    Row("1-855-555-1234", "US", None, "212", NA, TOLL_FREE, "+18555551234"),
    Row("1-866-555-1234", "US", None, "212", NA, TOLL_FREE, "+18665551234"),
    Row("1-877-555-1234", "US", None, "212", NA, TOLL_FREE, "+18775551234"),
    Row("9-1-888-555-1234", "US", "9", "212", NA, TOLL_FREE, "+18885551234"),
    Row("1-800-976-1234", "US", None, "212", NA, TOLL_FREE, "+18009761234"),
    Row("1-800-555-1234", "CA", "9", "416", NA, TOLL_FREE, "+18005551234"),
    Row("0800 123 4567", "GB", None, "20", "GB", TOLL_FREE, "+448001234567"),
    # --- Premium --------------------------------------------------------------------------
    Row("+1 900 555 1234", "US", None, "212", NA, PREMIUM, "+19005551234"),
    Row("1-900-555-1234", "US", None, "212", NA, PREMIUM, "+19005551234"),
    Row("1-212-976-1234", "US", None, "212", NA, PREMIUM, "+12129761234"),
    Row("976-1234", "US", None, "212", NA, PREMIUM, "+12129761234"),
    Row("415-976-1234", "US", None, "212", NA, PREMIUM, "+14159761234"),
    Row("9-1-212-976-5555", "US", "9", "212", NA, PREMIUM, "+12129765555"),
    Row("+979 123456789", "US", None, "212", NA, PREMIUM, "+979123456789"),
    Row("+44 901 234 5678", "US", None, "212", NA, PREMIUM, "+449012345678"),
    Row("011 49 900 1234567", "US", None, "212", NA, PREMIUM, "+499001234567"),
    Row("+33 8 91 12 34 56", "US", None, "212", NA, PREMIUM, "+33891123456"),
    Row("09012345678", "GB", None, "20", "GB", PREMIUM, "+449012345678"),
    # --- Operator assisted ----------------------------------------------------------------
    Row("0", "US", None, "212", NA, OPERATOR),
    Row("00", "US", None, "212", NA, OPERATOR),
    Row("90", "US", "9", "212", NA, OPERATOR),
    Row("0-212-555-1234", "US", None, "212", NA, OPERATOR, "+12125551234"),
    Row("0 415 555 1234", "US", None, "212", NA, OPERATOR, "+14155551234"),
    Row("0-555-1234", "US", None, "212", NA, OPERATOR, "+12125551234"),
    Row("01 44 20 7946 0000", "US", None, "212", NA, OPERATOR, "+442079460000"),
    Row("9-01-44-20-7946-0000", "US", "9", "212", NA, OPERATOR, "+442079460000"),
    Row("012", "US", None, "212", NA, INVALID),
    # --- International --------------------------------------------------------------------
    Row("011 44 20 7946 0000", "US", None, "212", NA, INTL, "+442079460000"),
    Row("+44 20 7946 0000", "US", None, "212", NA, INTL, "+442079460000"),
    Row("9-011-44-20-7946-0000", "US", "9", "212", NA, INTL, "+442079460000"),
    Row("011 49 30 123456", "US", None, "212", NA, INTL, "+4930123456"),
    Row("+33 1 23 45 67 89", "US", None, "212", NA, INTL, "+33123456789"),
    Row("+81 3 1234 5678", "US", None, "212", NA, INTL, "+81312345678"),
    Row("+61 2 1234 5678", "US", None, "212", NA, INTL, "+61212345678"),
    Row("+91 81234 56789", "US", None, "212", NA, INTL, "+918123456789"),
    Row("+86 10 1234 5678", "US", None, "212", NA, INTL, "+861012345678"),
    Row("+55 11 96123 4567", "US", None, "212", NA, INTL, "+5511961234567"),
    Row("+44 7400 123456", "US", None, "212", NA, INTL, "+447400123456"),
    Row("+7 495 123 4567", "US", None, "212", NA, INTL, "+74951234567"),
    Row("+380 44 123 4567", "US", None, "212", NA, INTL, "+380441234567"),
    Row("+371 2123 4567", "US", None, "212", NA, INTL, "+37121234567"),
    Row("+1 876 555 1234", "US", None, "212", NA, INTL, "+18765551234"),
    Row("1-876-555-1234", "US", None, "212", NA, INTL, "+18765551234"),
    Row("+1 809 555 1234", "US", None, "212", NA, INTL, "+18095551234"),
    Row("1 829 555 1234", "US", None, "212", NA, INTL, "+18295551234"),
    Row("+1 849 555 1234", "US", None, "212", NA, INTL, "+18495551234"),
    Row("+1 242 359 1234", "US", None, "212", NA, INTL, "+12423591234"),
    Row("868 221 1234", "US", None, "212", NA, INTL, "+18682211234"),
    Row("+1 787 234 5678", "US", None, "212", NA, INTL, "+17872345678"),
    Row("+1 787 234 5678", "US", None, "212", "US,CA,PR", LD, "+17872345678"),
    Row("+52 55 1234 5678", "US", None, "212", NA, INTL, "+525512345678"),
    Row("+52 55 1234 5678", "US", None, "212", NA_MX, LD, "+525512345678"),
    Row("011 52 222 123 4567", "US", None, "212", NA_MX, LD, "+522221234567"),
    Row("+1 416 555 1234", "US", None, "212", "US", INTL, "+14165551234"),
    Row("+1 212 555 1234", "GB", "9", "20", "GB", INTL, "+12125551234"),
    Row("00 1 212 555 1234", "GB", "9", "20", "GB", INTL, "+12125551234"),
    Row("9-00-1-212-555-1234", "GB", "9", "20", "GB", INTL, "+12125551234"),
    Row("+1 212 555 1234", "DE", None, "30", "DE", INTL, "+12125551234"),
    # --- High-risk (default list) ---------------------------------------------------------
    Row("+232 22 221234", "US", None, "212", NA, HIGH_RISK, "+23222221234"),
    Row("011 232 25 123456", "US", None, "212", NA, HIGH_RISK, "+23225123456"),
    Row("+224 601 12 34 56", "US", None, "212", NA, HIGH_RISK, "+224601123456"),
    Row("+252 71 123456", "US", None, "212", NA, HIGH_RISK, "+25271123456"),
    Row("9-011-252-71-123456", "US", "9", "212", NA, HIGH_RISK, "+25271123456"),
    Row("+216 20 123 456", "US", None, "212", NA, HIGH_RISK, "+21620123456"),
    Row("+220 301 2345", "US", None, "212", NA, HIGH_RISK, "+2203012345"),
    Row("+682 71 234", "US", None, "212", NA, HIGH_RISK, "+68271234"),
    Row("+674 444 1234", "US", None, "212", NA, HIGH_RISK, "+6744441234"),
    Row("+688 90 1234", "US", None, "212", NA, HIGH_RISK, "+688901234"),
    Row("+235 63 01 23 45", "US", None, "212", NA, HIGH_RISK, "+23563012345"),
    Row("+243 99 123 4567", "US", None, "212", NA, HIGH_RISK, "+243991234567"),
    Row("+370 612 34567", "US", None, "212", NA, HIGH_RISK, "+37061234567"),
    Row("+371 8012 3456", "US", None, "212", NA, HIGH_RISK, "+37180123456"),
    Row("+371 9012 3456", "US", None, "212", NA, HIGH_RISK, "+37190123456"),
    Row("+881 6 1234 5678", "US", None, "212", NA, HIGH_RISK, "+881612345678"),
    Row("+882 342 1234", "US", None, "212", NA, HIGH_RISK, "+8823421234"),
    Row("+870 301 234 567", "US", None, "212", NA, HIGH_RISK, "+870301234567"),
    Row("00 252 71 123456", "GB", None, "20", "GB", HIGH_RISK, "+25271123456"),
    # --- Embargoed (default list) ---------------------------------------------------------
    Row("+53 7 123 4567", "US", None, "212", NA, EMBARGOED, "+5371234567"),
    Row("011 53 5 123 4567", "US", None, "212", NA, EMBARGOED, "+5351234567"),
    Row("+53 7 123 4567", "US", None, "212", NA_MX, EMBARGOED, "+5371234567"),
    Row("+98 21 2345 6789", "US", None, "212", NA, EMBARGOED, "+982123456789"),
    Row("9-011-98-912-345-6789", "US", "9", "212", NA, EMBARGOED, "+989123456789"),
    Row("+850 2 123 4567", "US", None, "212", NA, EMBARGOED, "+85021234567"),
    Row("+963 11 234 5678", "US", None, "212", NA, EMBARGOED, "+963112345678"),
    Row("+7 978 123 4567", "US", None, "212", NA, EMBARGOED, "+79781234567"),
    Row("+7 365 212 3456", "US", None, "212", NA, EMBARGOED, "+73652123456"),
    Row("+7 869 212 3456", "US", None, "212", NA, EMBARGOED, "+78692123456"),
    Row("+380 65 212 3456", "US", None, "212", NA, EMBARGOED, "+380652123456"),
    Row("+380 69 212 3456", "US", None, "212", NA, EMBARGOED, "+380692123456"),
    Row("+7 949 123 4567", "US", None, "212", NA, EMBARGOED, "+79491234567"),
    Row("00 53 7 123 4567", "GB", None, "20", "GB", EMBARGOED, "+5371234567"),
    # --- Garbage and incomplete -----------------------------------------------------------
    Row("", "US", None, "212", NA, INVALID),
    Row("   ", "US", None, "212", NA, INVALID),
    Row("hello", "US", None, "212", NA, INVALID),
    Row("1-800-FLOWERS", "US", None, "212", NA, INVALID),
    Row("9a11", "US", None, "212", NA, INVALID),
    Row("DROP TABLE", "US", None, "212", NA, INVALID),
    Row("\u0661\u0662\u0663", "US", None, "212", NA, INVALID),  # Arabic-Indic digits
    Row("12345", "US", None, "212", NA, INVALID),
    Row("21255512", "US", None, "212", NA, INVALID),
    Row("212555123456", "US", None, "212", NA, INVALID),
    Row("+", "US", None, "212", NA, INVALID),
    Row("+1", "US", None, "212", NA, INVALID),
    Row("+1 212", "US", None, "212", NA, INVALID),
    Row("+999 1234567", "US", None, "212", NA, INVALID),
    Row("+1 211 555 1234", "US", None, "212", NA, INVALID),
    Row("+1 212 055 1234", "US", None, "212", NA, INVALID),
    Row("1-976-555-1234", "US", None, "212", NA, INVALID),
    Row("+44 20 7946", "US", None, "212", NA, INVALID),
    Row("sip:@example.com", "US", None, "212", NA, INVALID),
    Row("0", "GB", None, "20", "GB", INVALID),
]


def _plan(row: Row) -> DialPlan:
    return DialPlan.build(
        country=row.country,
        home_area_code=row.home,
        local_area_codes={"646"} if row.home == "212" else (),
        outside_line_prefix=row.prefix,
        domestic_regions=row.domestic.split(","),
        extensions=EXTENSIONS,
    )


def test_table_is_large_and_covers_every_class() -> None:
    assert len(ROWS) >= 150
    assert {row.expected for row in ROWS} == set(DestinationClass)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.country}:{r.dialled!r}" for r in ROWS])
def test_classification(row: Row) -> None:
    dest = classify(row.dialled, _plan(row))
    assert dest.dest_class is row.expected, dest
    if row.e164 is not None:
        assert dest.e164 == row.e164
    if row.expected in (EMERGENCY, TEST, N11, INTERNAL, FEATURE, INVALID):
        assert dest.e164 is None
    assert dest.dialled == row.dialled
