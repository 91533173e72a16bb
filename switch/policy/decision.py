"""The policy engine's answer, and the SIP headers that explain a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from switch.policy.errors import NotADenial


class Verdict(StrEnum):
    ALLOW = "allow"
    ALLOW_FLAGGED = "allow_flagged"  # routed, but the call record and metrics mark it
    DENY = "deny"


class RuleId(StrEnum):
    """Stable identifiers of the rule that decided; they go into CDRs and Reason headers."""

    EMERGENCY = "emergency"
    EMERGENCY_TEST = "emergency.test"
    LIFELINE = "n11.lifeline"  # 711 relay and 988 crisis line
    ACCOUNT_SUSPENDED = "account.suspended"
    ACCOUNT_FRAUD_LOCKED = "account.fraud_locked"
    EXTENSION_SUSPENDED = "extension.suspended"
    EXTENSION_FRAUD_LOCKED = "extension.fraud_locked"
    POLICY_UNAVAILABLE = "policy.unavailable"
    EMBARGOED = "embargo"
    INTERNATIONAL = "cos.international"
    HIGH_RISK = "cos.high_risk"
    PREMIUM = "cos.premium"
    OPERATOR_ASSISTED = "cos.operator_assisted"
    INVALID_NUMBER = "number.invalid"
    INCOMPLETE_NUMBER = "number.incomplete"
    CALLER_ID_NOT_OWNED = "callerid.not_owned"
    CALLER_ID_MISSING = "callerid.missing"
    CALLER_ID_REPLACED = "callerid.replaced"
    CALLER_ID_OWNED = "callerid.owned"
    DEFAULT = "default.allow"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a call. ``sip_status`` is the final response of a refusal, else None.

    ``reason`` is short enough for a phone's display and is used as the SIP reason
    phrase; ``tags`` are stable words for call records and metrics.
    """

    verdict: Verdict
    rule_id: RuleId
    reason: str
    sip_status: int | None = None
    tags: frozenset[str] = frozenset()

    @property
    def allowed(self) -> bool:
        return self.verdict is not Verdict.DENY

    @classmethod
    def allow(
        cls, rule_id: RuleId, reason: str = "Allowed", tags: frozenset[str] = frozenset()
    ) -> Decision:
        return cls(Verdict.ALLOW, rule_id, reason, None, tags)

    @classmethod
    def flagged(cls, rule_id: RuleId, reason: str, tags: frozenset[str]) -> Decision:
        return cls(Verdict.ALLOW_FLAGGED, rule_id, reason, None, tags)

    @classmethod
    def deny(
        cls, rule_id: RuleId, status: int, reason: str, tags: frozenset[str] = frozenset()
    ) -> Decision:
        return cls(Verdict.DENY, rule_id, reason, status, tags)


def _quoted(text: str) -> str:
    """RFC 3261 quoted-string: escape backslash and quote, drop line breaks."""
    clean = text.replace("\r", " ").replace("\n", " ")
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _refusal(decision: Decision) -> int:
    if decision.verdict is not Verdict.DENY or decision.sip_status is None:
        raise NotADenial(f"decision {decision.rule_id} allows the call")
    return decision.sip_status


def reason_header(decision: Decision) -> str:
    """Reason header value (RFC 3326) naming the rule: ``SIP ;cause=403 ;text="cos.premium"``."""
    status = _refusal(decision)
    return f"SIP ;cause={status} ;text={_quoted(decision.rule_id.value)}"


def warning_header(decision: Decision, agent: str = "softswitch") -> str:
    """Warning header value (RFC 3261 §20.43, code 399) with the reason and the rule id."""
    _refusal(decision)
    return f"399 {agent} {_quoted(f'{decision.reason} ({decision.rule_id.value})')}"
