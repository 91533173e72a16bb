"""The policy engine's rules and their order."""

from __future__ import annotations

from dataclasses import replace

import pytest

from switch.policy import (
    AccountPermissions,
    AccountStatus,
    CallContext,
    CallerIdMode,
    Destination,
    DestinationClass,
    DialPlan,
    ExtensionPermissions,
    ExtensionStatus,
    Override,
    RuleId,
    Verdict,
    check_caller_id,
    classify,
    evaluate,
)

PLAN = DialPlan.build(
    country="US", home_area_code="212", outside_line_prefix="9", extensions={"100"}
)
NEW_ACCOUNT = AccountPermissions()
EVERYTHING = AccountPermissions(
    international=True, high_risk=True, premium=True, operator_assisted=True
)

LONDON = "011 44 20 7946 0000"
SOMALIA = "+252 71 123456"
CUBA = "+53 7 123 4567"
PREMIUM = "1-900-555-1234"
OPERATOR = "0"
LOCAL = "555-1234"


def ctx(
    dialled: str,
    account: AccountPermissions | None = NEW_ACCOUNT,
    status: AccountStatus | None = AccountStatus.ACTIVE,
    ext_status: ExtensionStatus | None = ExtensionStatus.ACTIVE,
    ext: ExtensionPermissions | None = None,
) -> CallContext:
    return CallContext(
        destination=classify(dialled, PLAN),
        account_status=status,
        account_permissions=account,
        extension_status=ext_status,
        extension_permissions=ext,
    )


# --- Rule 1: emergency, 933, 711 -----------------------------------------------------------


@pytest.mark.parametrize("dialled", ["911", "9-911", "112", "933"])
@pytest.mark.parametrize("status", list(AccountStatus))
def test_emergency_is_allowed_in_every_account_state(dialled: str, status: AccountStatus) -> None:
    decision = evaluate(ctx(dialled, status=status))
    assert decision.allowed
    assert decision.rule_id in (RuleId.EMERGENCY, RuleId.EMERGENCY_TEST)
    flagged = status is not AccountStatus.ACTIVE
    assert (decision.verdict is Verdict.ALLOW_FLAGGED) is flagged


def test_suspended_account_dialling_911_is_routed_and_flagged() -> None:
    decision = evaluate(ctx("911", status=AccountStatus.SUSPENDED))
    assert decision.verdict is Verdict.ALLOW_FLAGGED
    assert decision.sip_status is None
    assert {"emergency", "account_suspended"} <= decision.tags


def test_emergency_survives_missing_and_garbage_context() -> None:
    dest = classify("911", PLAN)
    garbage = CallContext(
        destination=dest,
        account_status="???",  # type: ignore[arg-type]
        account_permissions=42,  # type: ignore[arg-type]
        extension_status=object(),  # type: ignore[arg-type]
        extension_permissions="x",  # type: ignore[arg-type]
        caller_id=[],  # type: ignore[arg-type]
    )
    assert evaluate(garbage).allowed
    bare = evaluate(CallContext(destination=dest))
    assert bare.allowed and "account_unknown" in bare.tags


@pytest.mark.parametrize("dialled", ["711", "9711", "988"])
@pytest.mark.parametrize("status", [AccountStatus.SUSPENDED, AccountStatus.FRAUD_LOCKED])
def test_relay_and_crisis_lines_reach_suspended_accounts(
    dialled: str, status: AccountStatus
) -> None:
    decision = evaluate(ctx(dialled, status=status, ext_status=ExtensionStatus.SUSPENDED))
    assert decision.allowed
    assert decision.rule_id is RuleId.LIFELINE


def test_411_is_not_a_lifeline() -> None:
    assert not evaluate(ctx("411", status=AccountStatus.SUSPENDED)).allowed


def test_feature_code_star_911_is_not_emergency() -> None:
    decision = evaluate(ctx("*911", status=AccountStatus.SUSPENDED))
    assert not decision.allowed


# --- Rule 2: account and extension state ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "ext_status", "rule", "reason"),
    [
        (
            AccountStatus.SUSPENDED,
            ExtensionStatus.ACTIVE,
            RuleId.ACCOUNT_SUSPENDED,
            "Account Suspended",
        ),
        (
            AccountStatus.FRAUD_LOCKED,
            ExtensionStatus.ACTIVE,
            RuleId.ACCOUNT_FRAUD_LOCKED,
            "Account Locked",
        ),
        (
            AccountStatus.ACTIVE,
            ExtensionStatus.SUSPENDED,
            RuleId.EXTENSION_SUSPENDED,
            "Extension Suspended",
        ),
        (
            AccountStatus.ACTIVE,
            ExtensionStatus.FRAUD_LOCKED,
            RuleId.EXTENSION_FRAUD_LOCKED,
            "Extension Locked",
        ),
    ],
)
@pytest.mark.parametrize("dialled", [LOCAL, "100", "1-800-555-1234", "411", CUBA])
def test_suspension_and_fraud_lock_deny_everything_else(
    status: AccountStatus, ext_status: ExtensionStatus, rule: RuleId, reason: str, dialled: str
) -> None:
    decision = evaluate(ctx(dialled, EVERYTHING, status=status, ext_status=ext_status))
    assert decision.verdict is Verdict.DENY
    assert decision.sip_status == 403
    assert decision.rule_id is rule
    assert decision.reason == reason


def test_account_state_beats_embargo_in_the_order() -> None:
    decision = evaluate(ctx(CUBA, status=AccountStatus.SUSPENDED))
    assert decision.rule_id is RuleId.ACCOUNT_SUSPENDED


def test_missing_account_data_fails_closed_with_503() -> None:
    for context in (ctx(LOCAL, status=None), ctx(LOCAL, account=None)):
        decision = evaluate(context)
        assert decision.verdict is Verdict.DENY
        assert decision.sip_status == 503


def test_garbage_context_for_a_paid_call_fails_closed() -> None:
    context = replace(ctx(LONDON), account_permissions="yes")  # type: ignore[arg-type]
    assert evaluate(context).sip_status == 503


# --- Rule 3: embargo -------------------------------------------------------------------------


@pytest.mark.parametrize("dialled", [CUBA, "011 98 21 2345 6789", "+7 978 123 4567"])
def test_embargo_is_denied_even_with_every_permission(dialled: str) -> None:
    decision = evaluate(ctx(dialled, EVERYTHING, ext=ExtensionPermissions(Override.ALLOW)))
    assert decision.verdict is Verdict.DENY
    assert decision.rule_id is RuleId.EMBARGOED
    assert decision.sip_status == 403


# --- Rule 4: international and high-risk -----------------------------------------------------


def test_new_account_cannot_call_abroad() -> None:
    for dialled in (LONDON, "+44 20 7946 0000", "+1 876 555 1234", "+1 809 555 1234"):
        decision = evaluate(ctx(dialled))
        assert decision.rule_id is RuleId.INTERNATIONAL
        assert decision.sip_status == 403
        assert decision.reason == "International Calling Not Enabled"


def test_account_permission_enables_international() -> None:
    assert evaluate(ctx(LONDON, AccountPermissions(international=True))).allowed


def test_extension_deny_overrides_account_allow() -> None:
    context = ctx(
        LONDON, AccountPermissions(international=True), ext=ExtensionPermissions(Override.DENY)
    )
    assert evaluate(context).rule_id is RuleId.INTERNATIONAL


def test_extension_allow_overrides_account_default() -> None:
    context = ctx(LONDON, NEW_ACCOUNT, ext=ExtensionPermissions(Override.ALLOW))
    assert evaluate(context).allowed


def test_extension_inherit_follows_account() -> None:
    inherit = ExtensionPermissions(Override.INHERIT)
    assert not evaluate(ctx(LONDON, NEW_ACCOUNT, ext=inherit)).allowed
    assert evaluate(ctx(LONDON, AccountPermissions(international=True), ext=inherit)).allowed


def test_high_risk_needs_its_own_permission() -> None:
    international_only = AccountPermissions(international=True)
    decision = evaluate(ctx(SOMALIA, international_only))
    assert decision.rule_id is RuleId.HIGH_RISK
    assert decision.sip_status == 403
    assert evaluate(ctx(SOMALIA, AccountPermissions(international=True, high_risk=True))).allowed


def test_high_risk_permission_alone_does_not_open_international() -> None:
    decision = evaluate(ctx(SOMALIA, AccountPermissions(high_risk=True)))
    assert decision.rule_id is RuleId.INTERNATIONAL


def test_extension_can_allow_or_deny_high_risk() -> None:
    account = AccountPermissions(international=True)
    allow = ExtensionPermissions(high_risk=Override.ALLOW)
    assert evaluate(ctx(SOMALIA, account, ext=allow)).allowed
    both = AccountPermissions(international=True, high_risk=True)
    deny = ExtensionPermissions(high_risk=Override.DENY)
    assert evaluate(ctx(SOMALIA, both, ext=deny)).rule_id is RuleId.HIGH_RISK


def test_domestic_calls_need_no_permission() -> None:
    for dialled in (LOCAL, "1-415-555-1234", "1-416-555-1234", "1-800-555-1234", "100", "*72"):
        decision = evaluate(ctx(dialled))
        assert decision.verdict is Verdict.ALLOW, dialled
        assert decision.rule_id is RuleId.DEFAULT


# --- Rule 5: premium and operator ------------------------------------------------------------


@pytest.mark.parametrize("dialled", [PREMIUM, "1-212-976-1234"])
def test_premium_needs_the_account_flag(dialled: str) -> None:
    assert evaluate(ctx(dialled)).rule_id is RuleId.PREMIUM
    assert evaluate(ctx(dialled, AccountPermissions(premium=True))).allowed


def test_extension_cannot_widen_premium_but_can_narrow_it() -> None:
    widen = ExtensionPermissions(premium=Override.ALLOW)
    assert evaluate(ctx(PREMIUM, NEW_ACCOUNT, ext=widen)).rule_id is RuleId.PREMIUM
    narrow = ExtensionPermissions(premium=Override.DENY)
    assert evaluate(ctx(PREMIUM, AccountPermissions(premium=True), ext=narrow)).rule_id is (
        RuleId.PREMIUM
    )


def test_foreign_premium_needs_international_and_premium() -> None:
    dialled = "+44 901 234 5678"
    assert evaluate(ctx(dialled, AccountPermissions(premium=True))).rule_id is RuleId.INTERNATIONAL
    assert evaluate(ctx(dialled, AccountPermissions(international=True))).rule_id is RuleId.PREMIUM
    both = AccountPermissions(international=True, premium=True)
    assert evaluate(ctx(dialled, both)).allowed


@pytest.mark.parametrize("dialled", [OPERATOR, "00", "0-212-555-1234"])
def test_operator_assisted_needs_the_account_flag(dialled: str) -> None:
    assert evaluate(ctx(dialled)).rule_id is RuleId.OPERATOR_ASSISTED
    assert evaluate(ctx(dialled, AccountPermissions(operator_assisted=True))).allowed
    narrow = ExtensionPermissions(operator_assisted=Override.DENY)
    flags = AccountPermissions(operator_assisted=True)
    assert evaluate(ctx(dialled, flags, ext=narrow)).rule_id is RuleId.OPERATOR_ASSISTED


def test_international_operator_call_needs_both_permissions() -> None:
    dialled = "01 44 20 7946 0000"
    assert evaluate(ctx(dialled, AccountPermissions(operator_assisted=True))).rule_id is (
        RuleId.INTERNATIONAL
    )
    assert evaluate(ctx(dialled, EVERYTHING)).allowed


# --- Rule 6: invalid numbers, caller ID, default --------------------------------------------


@pytest.mark.parametrize(
    ("dialled", "status", "rule"),
    [
        ("12345", 484, RuleId.INCOMPLETE_NUMBER),
        ("+44 20 7946", 484, RuleId.INCOMPLETE_NUMBER),
        ("hello", 404, RuleId.INVALID_NUMBER),
        ("+1 211 555 1234", 404, RuleId.INVALID_NUMBER),
    ],
)
def test_invalid_numbers_are_refused(dialled: str, status: int, rule: RuleId) -> None:
    decision = evaluate(ctx(dialled, EVERYTHING))
    assert decision.sip_status == status
    assert decision.rule_id is rule


def test_emergency_needs_no_caller_id() -> None:
    cid = check_caller_id(None, owned=frozenset(), mode=CallerIdMode.REJECT)
    context = replace(ctx("911"), caller_id=cid)
    assert evaluate(context).allowed


def test_off_net_call_with_refused_caller_id_is_denied() -> None:
    cid = check_caller_id("+14155550000", owned={"+12125550100"}, mode=CallerIdMode.REJECT)
    decision = evaluate(replace(ctx(LOCAL), caller_id=cid))
    assert decision.verdict is Verdict.DENY
    assert decision.rule_id is RuleId.CALLER_ID_NOT_OWNED


def test_internal_call_ignores_caller_id() -> None:
    cid = check_caller_id(None, owned=frozenset(), mode=CallerIdMode.REJECT)
    assert evaluate(replace(ctx("100"), caller_id=cid)).verdict is Verdict.ALLOW


def test_replaced_caller_id_allows_the_call_flagged() -> None:
    cid = check_caller_id("+14155550000", owned={"+12125550100"}, main_number="+12125550100")
    decision = evaluate(replace(ctx(LOCAL), caller_id=cid))
    assert decision.verdict is Verdict.ALLOW_FLAGGED
    assert "caller_id_replaced" in decision.tags


def test_destination_rules_come_before_caller_id() -> None:
    cid = check_caller_id(None, owned=frozenset(), mode=CallerIdMode.REJECT)
    assert evaluate(replace(ctx(LONDON), caller_id=cid)).rule_id is RuleId.INTERNATIONAL


def test_allowed_decision_tags_the_destination_class() -> None:
    decision = evaluate(ctx(LONDON, AccountPermissions(international=True)))
    assert decision.tags == {DestinationClass.INTERNATIONAL.value}


def test_engine_accepts_plain_destination_values() -> None:
    dest = Destination("x", "x", DestinationClass.LOCAL, e164="+12125551234")
    context = CallContext(dest, AccountStatus.ACTIVE, NEW_ACCOUNT)
    assert evaluate(context).verdict is Verdict.ALLOW
