"""Plain-dict views of stored rows: the shape of ``switchctl --json`` output.

Credentials are left out on purpose: HA1 values let anyone answer digest
challenges for the realm, so they never leave the database through the CLI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from provisioning.models import Account, AuditEntry, Device, Did, Extension


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "status": account.status.value,
        "main_number": account.main_number,
        "created_at": _time(account.created_at),
        "updated_at": _time(account.updated_at),
    }


def extension_view(extension: Extension) -> dict[str, Any]:
    return {
        "id": extension.id,
        "account": extension.account.name,
        "account_id": extension.account_id,
        "number": extension.number,
        "display_name": extension.display_name,
        "status": extension.status.value,
        "created_at": _time(extension.created_at),
        "updated_at": _time(extension.updated_at),
    }


def device_view(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "username": device.username,
        "account": device.extension.account.name,
        "extension": device.extension.number,
        "extension_id": device.extension_id,
        "realm": device.realm,
        "device_type": device.device_type.value,
        "user_agent_hint": device.user_agent_hint,
        "max_contacts": device.max_contacts,
        "status": device.status.value,
        "created_at": _time(device.created_at),
        "updated_at": _time(device.updated_at),
    }


def did_view(did: Did) -> dict[str, Any]:
    return {
        "id": did.id,
        "number": did.number,
        "account": did.account.name,
        "account_id": did.account_id,
        "extension": did.extension.number if did.extension is not None else None,
        "extension_id": did.extension_id,
        "status": did.status.value,
        "created_at": _time(did.created_at),
        "updated_at": _time(did.updated_at),
    }


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": _time(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "reason": entry.reason,
        "details": entry.details,
    }
