"""Caller-ID ownership: what is sent, what is replaced, what is refused."""

from __future__ import annotations

import pytest

from switch.policy import CallerIdMode, CallerIdStatus, RuleId, check_caller_id, to_e164

OWNED = frozenset({"+12125550100", "+12125550101"})
VERIFIED = frozenset({"+14155550199"})
MAIN = "+12125550100"


@pytest.mark.parametrize(
    "presented", ["+12125550101", "2125550101", "1-212-555-0101", "(212) 555-0101"]
)
@pytest.mark.parametrize("mode", list(CallerIdMode))
def test_owned_did_is_sent_as_is(presented: str, mode: CallerIdMode) -> None:
    outcome = check_caller_id(presented, owned=OWNED, main_number=MAIN, mode=mode)
    assert outcome.status is CallerIdStatus.OWNED
    assert outcome.sent == "+12125550101"
    assert outcome.presented == presented
    assert not outcome.rejected


def test_verified_number_is_sent() -> None:
    outcome = check_caller_id("+1 415 555 0199", owned=OWNED, verified=VERIFIED)
    assert outcome.status is CallerIdStatus.VERIFIED
    assert outcome.sent == "+14155550199"


def test_spoofed_number_is_replaced_with_the_main_number() -> None:
    outcome = check_caller_id(
        "+13105550123", owned=OWNED, main_number=MAIN, mode=CallerIdMode.REPLACE
    )
    assert outcome.status is CallerIdStatus.REPLACED
    assert outcome.sent == MAIN
    assert outcome.presented == "+13105550123"
    assert outcome.presented_e164 == "+13105550123"
    assert outcome.decision.rule_id is RuleId.CALLER_ID_REPLACED
    assert outcome.decision.allowed


def test_spoofed_number_is_rejected_when_the_account_says_so() -> None:
    outcome = check_caller_id(
        "+13105550123", owned=OWNED, main_number=MAIN, mode=CallerIdMode.REJECT
    )
    assert outcome.rejected
    assert outcome.sent is None
    assert outcome.decision.sip_status == 403
    assert outcome.decision.rule_id is RuleId.CALLER_ID_NOT_OWNED
    assert outcome.presented_e164 == "+13105550123"


@pytest.mark.parametrize("presented", [None, "", "anonymous", "Restricted", "12"])
def test_no_caller_id_is_rejected(presented: str | None) -> None:
    outcome = check_caller_id(presented, owned=OWNED, main_number=MAIN, mode=CallerIdMode.REJECT)
    assert outcome.rejected
    assert outcome.decision.rule_id is RuleId.CALLER_ID_MISSING
    assert outcome.decision.reason == "Caller ID Required"


def test_no_caller_id_and_no_main_number_is_rejected_even_in_replace_mode() -> None:
    outcome = check_caller_id(None, owned=OWNED, main_number=None, mode=CallerIdMode.REPLACE)
    assert outcome.rejected
    assert outcome.sent is None


def test_missing_caller_id_gets_the_main_number_in_replace_mode() -> None:
    outcome = check_caller_id("anonymous", owned=OWNED, main_number=MAIN)
    assert outcome.status is CallerIdStatus.REPLACED
    assert outcome.sent == MAIN
    assert outcome.presented == "anonymous"


def test_main_number_that_the_account_does_not_own_is_not_used() -> None:
    outcome = check_caller_id(
        "+13105550123", owned=OWNED, main_number="+13105559999", mode=CallerIdMode.REPLACE
    )
    assert outcome.rejected


def test_national_numbers_are_read_in_the_given_region() -> None:
    assert to_e164("020 7946 0000", "GB") == "+442079460000"
    assert to_e164("sip:+12125550100@example.com") == "+12125550100"
    assert to_e164("not a number") is None
