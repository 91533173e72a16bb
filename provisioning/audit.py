"""The audit trail: who changed what, when and why.

Rows are only inserted. Details hold changed fields as old/new pairs; secrets
never get there (a password change is recorded as the fact that it changed).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.models import AuditEntry, utcnow
from provisioning.state import bump_version

ACTOR_ENV = "SWITCHCTL_ACTOR"
DEFAULT_AUDIT_LIMIT = 50
SECRET_FIELDS = frozenset({"password", "ha1_md5", "ha1_sha256"})
PASSWORD_CHANGED = "changed"


class AuditAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DISABLE = "disable"


class Entity(StrEnum):
    ACCOUNT = "account"
    EXTENSION = "extension"
    DEVICE = "device"
    DID = "did"
    ALERT = "abuse_alert"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, and optionally why."""

    name: str
    reason: str | None = None


def resolve_actor_name(explicit: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """``--actor``, else ``$SWITCHCTL_ACTOR``, else the operating-system user."""
    if explicit:
        return explicit
    from_env = environ.get(ACTOR_ENV, "").strip()
    if from_env:
        return from_env
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


# field -> {"old": .., "new": ..}; "password" -> "changed".
Changes = dict[str, Any]


def plain(value: object) -> Any:
    """A JSON-friendly form of a column value."""
    if isinstance(value, Enum):
        return value.value
    return value


def apply_changes(target: object, values: Mapping[str, object]) -> Changes:
    """Set the attributes that differ; return them as ``{field: {"old": .., "new": ..}}``."""
    changes: Changes = {}
    for field, new in values.items():
        old = getattr(target, field)
        if plain(old) != plain(new):
            setattr(target, field, new)
            changes[field] = {"old": plain(old), "new": plain(new)}
    return changes


def _scrub(details: Mapping[str, Any]) -> dict[str, Any]:
    # Defence in depth: callers already leave secrets out.
    cleaned: dict[str, Any] = {}
    for key, value in details.items():
        if key == "password":
            cleaned[key] = PASSWORD_CHANGED
        elif key not in SECRET_FIELDS:
            cleaned[key] = value
    return cleaned


def record(
    session: Session,
    actor: Actor,
    action: AuditAction,
    entity: Entity,
    entity_id: int | None,
    details: Mapping[str, Any],
) -> AuditEntry:
    """Add an audit row and bump the provisioning version, in the caller's transaction."""
    entry = AuditEntry(
        at=utcnow(),
        actor=actor.name,
        action=action.value,
        entity=entity.value,
        entity_id=entity_id,
        reason=actor.reason,
        details=_scrub(details),
    )
    session.add(entry)
    bump_version(session)
    return entry


def list_entries(
    session: Session, *, entity: str | None = None, limit: int = DEFAULT_AUDIT_LIMIT
) -> list[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    return list(session.scalars(query))
