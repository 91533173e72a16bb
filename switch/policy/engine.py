"""Class-of-service policy: a CallContext in, a Decision out, in a fixed order.

1. Emergency and its 933 test, then the 711 relay and 988 crisis lines, are
   allowed whatever the account state, the other rules or missing data
   (E911-13, N11-01). They are flagged when the account is not in good standing.
2. Account or extension suspended or fraud-locked: everything else is refused
   (SUSP-05, FRAUD-02). Missing account data refuses with 503 (fail closed).
3. Embargoed destinations are refused, even with international enabled (INTL-08).
4. International needs the permission (off by default, INTL-01); the extension's
   ALLOW/DENY overrides the account (INTL-02). High-risk destinations need their
   own permission on top, resolved the same way.
5. Premium-rate and operator-assisted calls need the account's permission; an
   extension can only narrow it (DENY), never widen it (ABUSE-07, RATE-08).
6. Invalid numbers are refused: 484 Address Incomplete while digits are missing,
   404 Invalid Number otherwise. Off-net calls whose caller ID was refused are
   refused; a replaced caller ID lets the call through flagged (ABUSE-05).
   Everything else is allowed.

Evaluation reads only the context: no clock, database or file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from switch.policy.callerid import CallerIdOutcome, CallerIdStatus
from switch.policy.decision import Decision, RuleId
from switch.policy.destination import (
    INCOMPLETE_REASONS,
    Destination,
    DestinationClass,
    N11Service,
)


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    FRAUD_LOCKED = "fraud_locked"


class ExtensionStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    FRAUD_LOCKED = "fraud_locked"


class Override(StrEnum):
    """An extension's setting over its account's."""

    INHERIT = "inherit"
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class AccountPermissions:
    """Account class of service; every permission is off for a new account."""

    international: bool = False
    high_risk: bool = False
    premium: bool = False
    operator_assisted: bool = False


@dataclass(frozen=True, slots=True)
class ExtensionPermissions:
    """Extension class of service. ``premium`` and ``operator_assisted`` can only DENY."""

    international: Override = Override.INHERIT
    high_risk: Override = Override.INHERIT
    premium: Override = Override.INHERIT
    operator_assisted: Override = Override.INHERIT


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the proxy knows about one outgoing call.

    Extension fields are None for callers without an extension (a trunk); the
    account fields are required for anything but emergency and lifeline calls.
    ``caller_id`` is the result of ``check_caller_id`` for the call, if it ran.
    """

    destination: Destination
    account_status: AccountStatus | None = None
    account_permissions: AccountPermissions | None = None
    extension_status: ExtensionStatus | None = None
    extension_permissions: ExtensionPermissions | None = None
    caller_id: CallerIdOutcome | None = None


_LIFELINES = frozenset({N11Service.RELAY, N11Service.CRISIS_LINE})
_ON_NET = frozenset(
    {DestinationClass.INTERNAL, DestinationClass.FEATURE_CODE, DestinationClass.INVALID}
)


def _tags(*words: str) -> frozenset[str]:
    return frozenset(words)


_UNAVAILABLE = Decision.deny(
    RuleId.POLICY_UNAVAILABLE, 503, "Service Unavailable", _tags("policy_unavailable")
)
_ACCOUNT_DENIALS: Mapping[AccountStatus, Decision] = MappingProxyType(
    {
        AccountStatus.SUSPENDED: Decision.deny(
            RuleId.ACCOUNT_SUSPENDED, 403, "Account Suspended", _tags("account_suspended")
        ),
        AccountStatus.FRAUD_LOCKED: Decision.deny(
            RuleId.ACCOUNT_FRAUD_LOCKED, 403, "Account Locked", _tags("account_fraud_locked")
        ),
    }
)
_EXTENSION_DENIALS: Mapping[ExtensionStatus, Decision] = MappingProxyType(
    {
        ExtensionStatus.SUSPENDED: Decision.deny(
            RuleId.EXTENSION_SUSPENDED, 403, "Extension Suspended", _tags("extension_suspended")
        ),
        ExtensionStatus.FRAUD_LOCKED: Decision.deny(
            RuleId.EXTENSION_FRAUD_LOCKED, 403, "Extension Locked", _tags("extension_fraud_locked")
        ),
    }
)
_EMBARGOED = Decision.deny(RuleId.EMBARGOED, 403, "Embargoed Destination", _tags("embargoed"))
_NO_INTERNATIONAL = Decision.deny(
    RuleId.INTERNATIONAL, 403, "International Calling Not Enabled", _tags("international")
)
_NO_HIGH_RISK = Decision.deny(
    RuleId.HIGH_RISK, 403, "High-Risk Destination Not Enabled", _tags("international", "high_risk")
)
_NO_PREMIUM = Decision.deny(RuleId.PREMIUM, 403, "Premium Calls Not Enabled", _tags("premium"))
_NO_OPERATOR = Decision.deny(
    RuleId.OPERATOR_ASSISTED, 403, "Operator Calls Not Enabled", _tags("operator_assisted")
)
_INCOMPLETE = Decision.deny(RuleId.INCOMPLETE_NUMBER, 484, "Address Incomplete", _tags("invalid"))
_INVALID = Decision.deny(RuleId.INVALID_NUMBER, 404, "Invalid Number", _tags("invalid"))
_ALLOWED: Mapping[DestinationClass, Decision] = MappingProxyType(
    {cls: Decision.allow(RuleId.DEFAULT, tags=_tags(cls.value)) for cls in DestinationClass}
)


def evaluate(ctx: CallContext) -> Decision:
    """Decide one call; never raises (see the module docstring for the order)."""
    life_safety = _life_safety(ctx)
    if life_safety is not None:
        return life_safety
    try:
        return _evaluate(ctx, ctx.destination)
    except (AttributeError, TypeError, ValueError, KeyError):
        return _UNAVAILABLE  # malformed context: fail closed for anything that costs money


def _life_safety(ctx: object) -> Decision | None:
    """Rule 1. Reads the context defensively: nothing here may raise."""
    dest = getattr(ctx, "destination", None)
    if not isinstance(dest, Destination):
        return None
    if dest.dest_class is DestinationClass.EMERGENCY:
        rule, tag = RuleId.EMERGENCY, "emergency"
    elif dest.dest_class is DestinationClass.EMERGENCY_TEST:
        rule, tag = RuleId.EMERGENCY_TEST, "emergency_test"
    elif dest.dest_class is DestinationClass.N11 and dest.n11 in _LIFELINES:
        rule, tag = RuleId.LIFELINE, "lifeline"
    else:
        return None
    flags = _standing_flags(ctx)
    if not flags:
        return Decision.allow(rule, tags=_tags(tag))
    return Decision.flagged(rule, "Allowed (Life Safety)", frozenset({tag, *flags}))


def _standing_flags(ctx: object) -> tuple[str, ...]:
    """Why an always-allowed call deserves a flag in its record (never raises)."""
    try:
        account = getattr(ctx, "account_status", None)
        extension = getattr(ctx, "extension_status", None)
        flags: list[str] = []
        if account is None:
            flags.append("account_unknown")
        elif account != AccountStatus.ACTIVE:
            flags.append(f"account_{account}")
        if extension is not None and extension != ExtensionStatus.ACTIVE:
            flags.append(f"extension_{extension}")
        return tuple(flags)
    except Exception:  # a broken __str__ or similar: still route the call
        return ("context_unreadable",)


def _evaluate(ctx: CallContext, dest: Destination) -> Decision:
    standing = _standing(ctx)
    if standing is not None:
        return standing
    account = ctx.account_permissions
    if account is None:
        return _UNAVAILABLE
    extension = ctx.extension_permissions or _NO_OVERRIDES
    refusal = _class_of_service(dest, account, extension)
    if refusal is not None:
        return refusal
    if dest.dest_class is DestinationClass.INVALID:
        return _INCOMPLETE if dest.invalid_reason in INCOMPLETE_REASONS else _INVALID
    return _caller_id_rule(ctx.caller_id, dest)


_NO_OVERRIDES = ExtensionPermissions()


def _standing(ctx: CallContext) -> Decision | None:
    """Rule 2: account, then extension state."""
    status = ctx.account_status
    if status is None:
        return _UNAVAILABLE
    if status != AccountStatus.ACTIVE:
        return _ACCOUNT_DENIALS[AccountStatus(status)]
    ext_status = ctx.extension_status
    if ext_status is not None and ext_status != ExtensionStatus.ACTIVE:
        return _EXTENSION_DENIALS[ExtensionStatus(ext_status)]
    return None


def _resolve(override: Override, account: bool) -> bool:
    if override == Override.ALLOW:
        return True
    if override == Override.DENY:
        return False
    return account


def _class_of_service(
    dest: Destination, account: AccountPermissions, extension: ExtensionPermissions
) -> Decision | None:
    """Rules 3 to 5."""
    if dest.dest_class is DestinationClass.EMBARGOED:
        return _EMBARGOED
    if dest.international:
        if not _resolve(extension.international, account.international):
            return _NO_INTERNATIONAL
        if dest.high_risk and not _resolve(extension.high_risk, account.high_risk):
            return _NO_HIGH_RISK
    if dest.premium and not (account.premium and extension.premium != Override.DENY):
        return _NO_PREMIUM
    if dest.dest_class is DestinationClass.OPERATOR_ASSISTED and not (
        account.operator_assisted and extension.operator_assisted != Override.DENY
    ):
        return _NO_OPERATOR
    return None


def _caller_id_rule(outcome: CallerIdOutcome | None, dest: Destination) -> Decision:
    """Rule 6: off-net calls need a usable caller ID; internal calls do not."""
    if outcome is None or dest.dest_class in _ON_NET:
        return _ALLOWED[dest.dest_class]
    if outcome.status is CallerIdStatus.REJECTED:
        return outcome.decision
    if outcome.status is CallerIdStatus.REPLACED:
        return Decision.flagged(
            RuleId.CALLER_ID_REPLACED,
            "Caller ID Replaced",
            frozenset({dest.dest_class.value, "caller_id_replaced"}),
        )
    return _ALLOWED[dest.dest_class]
