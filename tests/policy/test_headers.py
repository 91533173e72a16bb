"""Reason (RFC 3326) and Warning (RFC 3261 §20.43) headers that explain a refusal."""

from __future__ import annotations

import re

import pytest

from switch.policy import (
    AccountPermissions,
    AccountStatus,
    CallContext,
    Decision,
    DialPlan,
    NotADenial,
    RuleId,
    classify,
    evaluate,
    reason_header,
    warning_header,
)

# reason-value = protocol *(SEMI reason-params), cause and quoted text (RFC 3326 §2).
REASON = re.compile(r'^SIP ;cause=(\d{3}) ;text="((?:[^"\\]|\\.)*)"$')
# warning-value = warn-code SP warn-agent SP warn-text (RFC 3261 §20.43).
WARNING = re.compile(r'^(\d{3}) (\S+) "((?:[^"\\]|\\.)*)"$')


def _refusal() -> Decision:
    dest = classify("011 44 20 7946 0000", DialPlan.build(country="US"))
    return evaluate(CallContext(dest, AccountStatus.ACTIVE, AccountPermissions()))


def test_reason_header_carries_status_and_rule_id() -> None:
    match = REASON.match(reason_header(_refusal()))
    assert match is not None
    assert match.group(1) == "403"
    assert match.group(2) == "cos.international"


def test_warning_header_carries_reason_and_rule_id() -> None:
    match = WARNING.match(warning_header(_refusal(), agent="pbx.example.com"))
    assert match is not None
    assert match.groups() == (
        "399",
        "pbx.example.com",
        "International Calling Not Enabled (cos.international)",
    )


def test_quotes_and_line_breaks_are_escaped() -> None:
    decision = Decision.deny(RuleId.INVALID_NUMBER, 404, 'Bad "number"\r\nX-Injected: 1')
    value = warning_header(decision)
    assert "\r" not in value and "\n" not in value
    match = WARNING.match(value)
    assert match is not None
    assert '\\"number\\"' in match.group(3)


def test_headers_refuse_decisions_that_allow() -> None:
    allowed = Decision.allow(RuleId.DEFAULT)
    with pytest.raises(NotADenial):
        reason_header(allowed)
    with pytest.raises(NotADenial):
        warning_header(allowed)


@pytest.mark.parametrize("rule", list(RuleId))
def test_every_rule_id_fits_a_reason_header(rule: RuleId) -> None:
    match = REASON.match(reason_header(Decision.deny(rule, 403, "Refused")))
    assert match is not None and match.group(2) == rule.value
