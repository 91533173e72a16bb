"""Pieces shared by the per-entity operation modules."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Final, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from provisioning.audit import Actor, AuditAction, Changes, Entity, plain, record
from provisioning.errors import AlreadyExists
from provisioning.models import utcnow

_PG_UNIQUE_VIOLATION = "23505"


class Keep(Enum):
    """Marks an optional argument the caller did not give (None may mean "clear it")."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


class Tracked(Protocol):
    id: int
    updated_at: datetime


def is_unique_violation(exc: IntegrityError) -> bool:
    origin = exc.orig
    if getattr(origin, "sqlstate", None) == _PG_UNIQUE_VIOLATION:
        return True
    return "UNIQUE constraint failed" in str(origin)


def flush_unique(session: Session, conflict: str) -> None:
    """Flush; a unique-constraint race with another writer becomes :class:`AlreadyExists`."""
    try:
        session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise AlreadyExists(conflict) from exc
        raise


def created_fields(target: object, fields: tuple[str, ...]) -> Changes:
    return {field: {"old": None, "new": plain(getattr(target, field))} for field in fields}


def save_created(
    session: Session,
    actor: Actor,
    entity: Entity,
    target: Tracked,
    fields: tuple[str, ...],
    conflict: str,
) -> None:
    session.add(target)
    flush_unique(session, conflict)
    record(session, actor, AuditAction.CREATE, entity, target.id, created_fields(target, fields))


def save_changes(
    session: Session,
    actor: Actor,
    entity: Entity,
    target: Tracked,
    changes: Changes,
    *,
    action: AuditAction = AuditAction.UPDATE,
    conflict: str = "",
) -> None:
    """Stamp, flush and audit an update; nothing at all happens when nothing changed."""
    if not changes:
        return
    target.updated_at = utcnow()
    flush_unique(session, conflict or f"{entity.value} conflicts with an existing one")
    record(session, actor, action, entity, target.id, changes)
