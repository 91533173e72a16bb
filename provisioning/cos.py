"""Class of service: what an account's and an extension's phones may call, how the
account dials, which caller IDs it may present, the operator's destination lists,
and the dial-plan dry run operators use when a customer calls in.

Every change is audited in the caller's transaction, like the other operations.
The running switch picks database changes up with its next provisioning reload
(it polls the version row); list files are read when the switch starts.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from provisioning.audit import Actor, AuditAction, Entity, apply_changes
from provisioning.common import KEEP, Keep, flush_unique, save_changes
from provisioning.errors import AlreadyExists, InvalidInput, NotFound
from provisioning.lookup import find_account, find_extension
from provisioning.models import (
    Account,
    AuditEntry,
    CallerIdMode,
    CosOverride,
    Did,
    Extension,
    VerifiedNumber,
    utcnow,
)
from provisioning.validation import normalise_number
from switch.config import Settings
from switch.core.directory import (
    AccountRecord,
    DeviceRecord,
    Directory,
    ExtensionRecord,
    load_directory,
)
from switch.core.policy_gate import Judgement, PolicyGate
from switch.policy import PolicyDataError, PolicyLists, load_policy_lists
from switch.policy.lists import EMBARGOED_FILE, HIGH_RISK_FILE

PERMISSIONS = ("international", "high_risk", "premium", "operator_assisted")
# An extension may only narrow these two (the account pays for them): inherit or deny.
NARROW_ONLY = frozenset({"premium", "operator_assisted"})
_PREFIX = re.compile(r"[02-9][0-9]?")  # a leading 1 would swallow 1+10-digit dialling
_AREA_CODE = re.compile(r"[2-9][0-9][0-9]")
_V = TypeVar("_V", bool, CosOverride)


# -- accounts and extensions ---------------------------------------------------------------


def _prefix(value: str | None) -> str | None:
    if not value:
        return None
    if not _PREFIX.fullmatch(value):
        raise InvalidInput(
            f"invalid outside-line prefix {value!r}: one or two digits, not starting with 1"
        )
    return value


def _area_code(value: str | None) -> str | None:
    if not value:
        return None
    if not _AREA_CODE.fullmatch(value) or value[1:] == "11":
        raise InvalidInput(f"invalid home area code {value!r}: a NANP area code such as 212")
    return value


def set_account_cos(
    session: Session,
    actor: Actor,
    account_ref: str,
    *,
    permissions: Mapping[str, bool] | None = None,
    fraud_lock: bool | None = None,
    caller_id_mode: CallerIdMode | None = None,
    outside_line_prefix: str | Keep | None = KEEP,
    home_area_code: str | Keep | None = KEEP,
) -> Account:
    """Change an account's class of service and dialling settings; ``None`` prefix or
    area code clears it (the area code then comes from the main number)."""
    account = find_account(session, account_ref)
    values: dict[str, object] = dict(_checked_names(permissions or {}))
    if fraud_lock is not None:
        values["fraud_lock"] = fraud_lock
    if caller_id_mode is not None:
        values["caller_id_mode"] = caller_id_mode
    if not isinstance(outside_line_prefix, Keep):
        values["outside_line_prefix"] = _prefix(outside_line_prefix)
    if not isinstance(home_area_code, Keep):
        values["home_area_code"] = _area_code(home_area_code)
    if not values:
        raise InvalidInput("nothing to change: give at least one setting")
    save_changes(session, actor, Entity.ACCOUNT, account, apply_changes(account, values))
    return account


def set_extension_cos(
    session: Session,
    actor: Actor,
    account_ref: str,
    number: str,
    *,
    permissions: Mapping[str, CosOverride] | None = None,
    suspended: bool | None = None,
    fraud_lock: bool | None = None,
) -> Extension:
    """Change an extension's overrides of its account's class of service, and its locks."""
    extension = find_extension(session, find_account(session, account_ref), number)
    values: dict[str, object] = dict(_checked_names(permissions or {}))
    for name in NARROW_ONLY:
        if values.get(name) == CosOverride.ALLOW:
            raise InvalidInput(
                f"an extension cannot allow {name.replace('_', '-')} calls on its own: "
                "use inherit or deny, and enable them for the account"
            )
    if suspended is not None:
        values["suspended"] = suspended
    if fraud_lock is not None:
        values["fraud_lock"] = fraud_lock
    if not values:
        raise InvalidInput("nothing to change: give at least one setting")
    save_changes(session, actor, Entity.EXTENSION, extension, apply_changes(extension, values))
    return extension


def _checked_names(permissions: Mapping[str, _V]) -> dict[str, _V]:
    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown:
        raise InvalidInput(f"unknown class-of-service setting {unknown[0]!r}")
    return dict(permissions)


def effective_permissions(account: Account, extension: Extension) -> dict[str, bool]:
    """What the extension's phones may call, by the policy engine's rules 4 and 5:
    international follows the extension's allow or deny, else the account; high-risk
    destinations need that and the high-risk permission, resolved the same way;
    premium and operator calls need the account and no deny on the extension."""
    result: dict[str, bool] = {}
    for name in PERMISSIONS:
        granted = bool(getattr(account, name))
        override = CosOverride(getattr(extension, name))
        if override is CosOverride.DENY:
            result[name] = False
        elif override is CosOverride.ALLOW and name not in NARROW_ONLY:
            result[name] = True
        else:
            result[name] = granted
    result["high_risk"] = result["high_risk"] and result["international"]
    return result


def account_cos_view(account: Account) -> dict[str, Any]:
    return {
        "account": account.name,
        "account_id": account.id,
        "status": account.status.value,
        "fraud_lock": account.fraud_lock,
        **{name: bool(getattr(account, name)) for name in PERMISSIONS},
        "caller_id_mode": account.caller_id_mode.value,
        "outside_line_prefix": account.outside_line_prefix,
        "home_area_code": account.home_area_code,
        "main_number": account.main_number,
        "verified_numbers": [v.number for v in account.verified_numbers],
    }


def extension_cos_view(extension: Extension) -> dict[str, Any]:
    account = extension.account
    effective = effective_permissions(account, extension)
    return {
        "account": account.name,
        "extension": extension.number,
        "extension_id": extension.id,
        "status": extension.status.value,
        "suspended": extension.suspended,
        "fraud_lock": extension.fraud_lock,
        "account_status": account.status.value,
        "account_fraud_lock": account.fraud_lock,
        **{name: CosOverride(getattr(extension, name)).value for name in PERMISSIONS},
        **{f"effective_{name}": effective[name] for name in PERMISSIONS},
    }


# -- verified caller numbers ---------------------------------------------------------------


def _verified_change(old: str | None, new: str | None, note: str | None) -> dict[str, Any]:
    changes: dict[str, Any] = {"verified_number": {"old": old, "new": new}}
    if note:
        changes["note"] = {"old": None, "new": note}
    return changes


def add_verified_number(
    session: Session, actor: Actor, account_ref: str, number: str, *, note: str | None = None
) -> VerifiedNumber:
    """Let the account present ``number`` as caller ID although it is not one of its DIDs."""
    account = find_account(session, account_ref)
    e164 = normalise_number(number)
    taken = f"{e164} is already a verified number of account {account.name!r}"
    if any(v.number == e164 for v in account.verified_numbers):
        raise AlreadyExists(taken)
    did = session.scalar(select(Did).where(Did.number == e164))
    if did is not None:
        raise InvalidInput(f"{e164} is a DID of account {did.account.name!r}")
    verified = VerifiedNumber(account=account, number=e164, note=note or None, created_at=utcnow())
    session.add(verified)
    flush_unique(session, taken)
    save_changes(session, actor, Entity.ACCOUNT, account, _verified_change(None, e164, note))
    return verified


def remove_verified_number(session: Session, actor: Actor, account_ref: str, number: str) -> str:
    """Remove a verified number; returns it in E.164."""
    account = find_account(session, account_ref)
    e164 = normalise_number(number)
    verified = next((v for v in account.verified_numbers if v.number == e164), None)
    if verified is None:
        raise NotFound(f"{e164} is not a verified number of account {account.name!r}")
    session.delete(verified)
    session.flush()
    session.expire(account, ["verified_numbers"])
    save_changes(session, actor, Entity.ACCOUNT, account, _verified_change(e164, None, None))
    return e164


def list_verified_numbers(session: Session, account_ref: str) -> list[VerifiedNumber]:
    return list(find_account(session, account_ref).verified_numbers)


def verified_view(verified: VerifiedNumber) -> dict[str, Any]:
    return {
        "account": verified.account.name,
        "number": verified.number,
        "note": verified.note,
        "created_at": verified.created_at.isoformat(),
    }


# -- operator destination lists ------------------------------------------------------------


class PolicyList(StrEnum):
    HIGH_RISK = "high_risk"
    EMBARGO = "embargo"

    @property
    def file_name(self) -> str:
        # The names of the shipped defaults, so an operator's copy reads the same.
        return HIGH_RISK_FILE if self is PolicyList.HIGH_RISK else EMBARGOED_FILE

    @property
    def setting(self) -> str:
        return "high_risk_list" if self is PolicyList.HIGH_RISK else "embargo_list"

    def configured(self, settings: Settings) -> Path | None:
        policy = settings.policy
        return policy.high_risk_list if self is PolicyList.HIGH_RISK else policy.embargo_list


POLICY_LIST_ENTITY = "policy_list"  # audit entity of list loads (not a database row)


@dataclass(frozen=True, slots=True)
class InstalledList:
    kind: PolicyList
    source: Path
    path: Path  # where the active copy now is
    entries: int
    in_use: bool  # the settings already point the switch at ``path``

    def view(self) -> dict[str, Any]:
        return {
            "list": self.kind.value,
            "source": str(self.source),
            "path": str(self.path),
            "entries": self.entries,
            "setting": f"policy.{self.kind.setting}",
            "in_use": self.in_use,
        }


def active_list_path(settings: Settings, kind: PolicyList) -> Path:
    return settings.data_dir / "policy" / kind.file_name


def _read_list(kind: PolicyList, source: Path) -> tuple[bytes, int]:
    """The file's bytes and its entry count, after the same checks the switch makes."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {source}: {exc.strerror or exc}") from exc
    try:
        if kind is PolicyList.HIGH_RISK:
            entries = len(load_policy_lists(high_risk=source).high_risk)
        else:
            entries = len(load_policy_lists(embargoed=source).embargoed)
    except PolicyDataError as exc:
        raise InvalidInput(f"invalid {kind.value} list: {exc}") from exc
    return data, entries


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` in one step: a running reader sees the old file or the new one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from exc


def install_policy_lists(
    session: Session, actor: Actor, settings: Settings, sources: Mapping[PolicyList, Path]
) -> list[InstalledList]:
    """Check every given file, then copy each into ``data_dir/policy`` as the active list.

    Nothing is copied unless all files pass. Each load is audited; the switch reads
    the lists at start, from the paths its ``policy`` settings name.
    """
    checked = [(kind, source, *_read_list(kind, source)) for kind, source in sources.items()]
    installed = []
    for kind, source, data, entries in checked:
        path = active_list_path(settings, kind)
        configured = kind.configured(settings)
        in_use = configured is not None and configured.resolve() == path.resolve()
        item = InstalledList(kind, source, path, entries, in_use)
        session.add(
            AuditEntry(
                at=utcnow(),
                actor=actor.name,
                action=AuditAction.UPDATE.value,
                entity=POLICY_LIST_ENTITY,
                entity_id=None,
                reason=actor.reason,
                details=item.view(),
            )
        )
        session.flush()  # the audit row is in before the file changes
        _replace_file(path, data)
        installed.append(item)
    return installed


# -- dial-plan dry run ---------------------------------------------------------------------


def policy_gate(settings: Settings, lists: PolicyLists | None = None) -> PolicyGate:
    """The gate the switch's proxy builds from the same settings."""
    policy = settings.policy
    if lists is None:
        try:
            lists = load_policy_lists(policy.high_risk_list, policy.embargo_list)
        except PolicyDataError as exc:
            raise InvalidInput(f"policy list: {exc}") from exc
    return PolicyGate(lists, settings.proxy.default_region, frozenset(policy.domestic_regions))


def _directory_account(directory: Directory, ref: str) -> AccountRecord:
    for account in directory.accounts.values():
        if account.name == ref or (ref.isdigit() and account.id == int(ref)):
            return account
    raise NotFound(f"unknown account {ref!r}")


def _probe_device(account: AccountRecord, extension: ExtensionRecord) -> DeviceRecord:
    # The gate reads only the account and extension of the device: any device will do.
    return DeviceRecord(
        id=0,
        username=f"dialplan-check-{extension.number}",
        realm="",
        ha1={},
        extension_id=extension.id,
        extension_number=extension.number,
        account_id=account.id,
        max_contacts=1,
        active=True,
    )


def check_dialling(
    engine: Engine,
    gate: PolicyGate,
    account_ref: str,
    extension_number: str,
    dialled: str,
    presented: str | None = None,
) -> dict[str, Any]:
    """Classify and judge ``dialled`` for a phone of the extension, as the switch would."""
    directory = load_directory(engine)
    account = _directory_account(directory, account_ref)
    extension = directory.extension(account.id, extension_number)
    if extension is None:
        raise NotFound(f"unknown extension {extension_number!r} in account {account.name!r}")
    judgement = gate.judge(dialled, presented, _probe_device(account, extension), directory)
    return judgement_view(account, extension, dialled, presented, judgement)


def judgement_view(
    account: AccountRecord,
    extension: ExtensionRecord,
    dialled: str,
    presented: str | None,
    judgement: Judgement,
) -> dict[str, Any]:
    destination, decision, caller_id = (
        judgement.destination,
        judgement.decision,
        judgement.caller_id,
    )
    return {
        "account": account.name,
        "extension": extension.number,
        "dialled": dialled,
        "class": destination.dest_class.value if destination else None,
        "e164": destination.e164 if destination else None,
        "region": destination.region if destination else None,
        "verdict": decision.verdict.value,
        "rule": decision.rule_id.value,
        "reason": decision.reason,
        "sip_status": decision.sip_status,
        "caller_id_presented": presented,
        "caller_id_status": caller_id.status.value if caller_id else None,
        "caller_id_sent": caller_id.sent if caller_id else None,
        "flags": sorted(decision.tags),
    }
