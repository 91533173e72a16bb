"""Asks the policy engine about a call from a device, from the in-memory directory only.

Fail open for 911, fail closed for money: if anything here breaks, a call that looks
like an emergency call is still allowed and every other call gets 503.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from switch.policy import (
    AccountPermissions,
    AccountStatus,
    CallContext,
    CallerIdMode,
    CallerIdOutcome,
    Decision,
    Destination,
    DestinationClass,
    DialPlan,
    ExtensionPermissions,
    ExtensionStatus,
    PolicyLists,
    RuleId,
    Verdict,
    check_caller_id,
    classify,
    evaluate,
)

from .directory import AccountRecord, DeviceRecord, Directory, ExtensionRecord

log = logging.getLogger(__name__)

OFF_NET = frozenset(
    {
        DestinationClass.LOCAL,
        DestinationClass.DOMESTIC_LONG_DISTANCE,
        DestinationClass.TOLL_FREE,
        DestinationClass.PREMIUM,
        DestinationClass.OPERATOR_ASSISTED,
        DestinationClass.INTERNATIONAL,
        DestinationClass.INTERNATIONAL_HIGH_RISK,
        DestinationClass.N11,
    }
)
# Dialled forms that must reach an emergency route even if classification itself fails.
LAST_RESORT_EMERGENCY = frozenset({"911", "9911", "112", "999", "933"})
_FAILED = Decision(Verdict.DENY, RuleId.POLICY_UNAVAILABLE, "Service Unavailable", 503)


@dataclass(frozen=True, slots=True)
class Judgement:
    destination: Destination | None
    decision: Decision
    caller_id: CallerIdOutcome | None = None

    @property
    def emergency(self) -> bool:
        return self.destination is not None and self.destination.is_emergency


class PolicyGate:
    def __init__(self, lists: PolicyLists, default_region: str, domestic: frozenset[str]) -> None:
        self._lists = lists
        self._region = default_region
        self._domestic = domestic
        self._plans: dict[tuple[int, int], DialPlan] = {}

    def plan_for(self, account: AccountRecord, directory: Directory) -> DialPlan:
        key = (account.id, directory.version)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 10_000:
                self._plans.clear()
            numbers = frozenset(
                e.number for e in directory.extensions.values() if e.account_id == account.id
            )
            plan = DialPlan.build(
                country=self._region,
                home_area_code=account.home_area_code,
                outside_line_prefix=account.outside_line_prefix,
                domestic_regions=self._domestic,
                extensions=numbers,
            )
            self._plans[key] = plan
        return plan

    def is_emergency(self, dialled: str, account_id: int | None, directory: Directory) -> bool:
        """Would ``dialled`` reach emergency services from this account's phones?"""
        try:
            account = directory.accounts.get(account_id) if account_id is not None else None
            plan = (
                self.plan_for(account, directory)
                if account
                else DialPlan.build(country=self._region)
            )
            return classify(dialled, plan, self._lists).is_emergency
        except Exception:
            log.exception("classification failed")
            return "".join(ch for ch in dialled if ch.isdigit()) in LAST_RESORT_EMERGENCY

    def judge(
        self, dialled: str, presented: str | None, device: DeviceRecord, directory: Directory
    ) -> Judgement:
        try:
            return self._judge(dialled, presented, device, directory)
        except Exception:  # a policy bug must never block 911, nor let money through
            log.exception("policy evaluation failed")
            digits = "".join(ch for ch in dialled if ch.isdigit())
            if digits in LAST_RESORT_EMERGENCY:
                return Judgement(None, Decision(Verdict.ALLOW, RuleId.EMERGENCY, "Emergency"))
            return Judgement(None, _FAILED)

    def _judge(
        self, dialled: str, presented: str | None, device: DeviceRecord, directory: Directory
    ) -> Judgement:
        account = directory.accounts.get(device.account_id)
        extension = directory.extensions_by_id.get(device.extension_id)
        plan = (
            self.plan_for(account, directory) if account else DialPlan.build(country=self._region)
        )
        destination = classify(dialled, plan, self._lists)
        caller_id = None
        if account is not None and destination.dest_class in OFF_NET:
            caller_id = check_caller_id(
                presented,
                owned=account.dids,
                verified=account.verified_numbers,
                main_number=_main_number(account, extension),
                mode=CallerIdMode(account.caller_id_mode),
                region=self._region,
            )
        context = CallContext(
            destination=destination,
            account_status=AccountStatus(account.policy_status) if account else None,
            account_permissions=account.permissions if account else None,
            extension_status=ExtensionStatus(extension.policy_status) if extension else None,
            extension_permissions=extension.permissions if extension else None,
            caller_id=caller_id,
        )
        return Judgement(destination, evaluate(context), caller_id)


def _main_number(account: AccountRecord, extension: ExtensionRecord | None) -> str | None:
    """The number a phone's calls go out with when it presents none of its own."""
    if extension is not None and extension.dids:
        return extension.dids[0]
    return account.main_number


__all__ = ["AccountPermissions", "ExtensionPermissions", "Judgement", "PolicyGate"]
