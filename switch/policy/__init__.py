"""Dial-plan classification and class-of-service policy: pure functions, no I/O per call.

Typical use by the proxy::

    lists = load_policy_lists(settings.high_risk_list, settings.embargo_list)  # once
    dest = classify(request_uri_user, dial_plan, lists)
    cid = check_caller_id(presented, owned=dids, main_number=main, mode=mode)
    decision = evaluate(CallContext(dest, account_status, account_permissions, ...,
                                    caller_id=cid))
"""

from switch.policy.callerid import (
    CallerIdMode,
    CallerIdOutcome,
    CallerIdStatus,
    check_caller_id,
    to_e164,
)
from switch.policy.classify import classify
from switch.policy.decision import Decision, RuleId, Verdict, reason_header, warning_header
from switch.policy.destination import (
    Destination,
    DestinationClass,
    InvalidReason,
    LineType,
    N11Service,
)
from switch.policy.dialplan import DEFAULT_DOMESTIC_REGIONS, DialPlan
from switch.policy.engine import (
    AccountPermissions,
    AccountStatus,
    CallContext,
    ExtensionPermissions,
    ExtensionStatus,
    Override,
    evaluate,
)
from switch.policy.errors import NotADenial, PolicyDataError, PolicyError
from switch.policy.lists import PolicyLists, PrefixTable, default_lists, load_policy_lists

__all__ = [
    "DEFAULT_DOMESTIC_REGIONS",
    "AccountPermissions",
    "AccountStatus",
    "CallContext",
    "CallerIdMode",
    "CallerIdOutcome",
    "CallerIdStatus",
    "Decision",
    "Destination",
    "DestinationClass",
    "DialPlan",
    "ExtensionPermissions",
    "ExtensionStatus",
    "InvalidReason",
    "LineType",
    "N11Service",
    "NotADenial",
    "Override",
    "PolicyDataError",
    "PolicyError",
    "PolicyLists",
    "PrefixTable",
    "RuleId",
    "Verdict",
    "check_caller_id",
    "classify",
    "default_lists",
    "evaluate",
    "load_policy_lists",
    "reason_header",
    "to_e164",
    "warning_header",
]
