"""Extension operations: numbers unique within their account."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.audit import Actor, AuditAction, Entity, apply_changes
from provisioning.common import KEEP, Keep, save_changes, save_created
from provisioning.errors import AlreadyExists
from provisioning.lookup import find_account, find_extension
from provisioning.models import Account, Extension, Status, utcnow
from provisioning.validation import validate_extension_number

_CREATED_FIELDS = ("account_id", "number", "display_name", "status")


def _exists_message(account: Account, number: str) -> str:
    return f"extension {number!r} already exists in account {account.name!r}"


def _check_number_free(session: Session, account: Account, number: str) -> None:
    taken = session.scalar(
        select(Extension.id).where(Extension.account_id == account.id, Extension.number == number)
    )
    if taken is not None:
        raise AlreadyExists(_exists_message(account, number))


def create_extension(
    session: Session,
    actor: Actor,
    account_ref: str,
    number: str,
    *,
    display_name: str | None = None,
) -> Extension:
    account = find_account(session, account_ref)
    validate_extension_number(number)
    _check_number_free(session, account, number)
    now = utcnow()
    extension = Extension(
        account=account,
        number=number,
        display_name=display_name or None,
        status=Status.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    save_created(
        session,
        actor,
        Entity.EXTENSION,
        extension,
        _CREATED_FIELDS,
        _exists_message(account, number),
    )
    return extension


def list_extensions(session: Session, account_ref: str | None = None) -> list[Extension]:
    query = select(Extension).join(Extension.account).order_by(Account.name, Extension.number)
    if account_ref is not None:
        query = query.where(Extension.account_id == find_account(session, account_ref).id)
    return list(session.scalars(query))


def update_extension(
    session: Session,
    actor: Actor,
    account_ref: str,
    number: str,
    *,
    new_number: str | None = None,
    display_name: str | Keep | None = KEEP,
    status: Status | None = None,
) -> Extension:
    """Change the given fields; ``display_name=None`` clears it."""
    account = find_account(session, account_ref)
    extension = find_extension(session, account, number)
    values: dict[str, object] = {}
    if new_number is not None and new_number != extension.number:
        validate_extension_number(new_number)
        _check_number_free(session, account, new_number)
        values["number"] = new_number
    if not isinstance(display_name, Keep):
        values["display_name"] = display_name or None
    if status is not None:
        values["status"] = status
    changes = apply_changes(extension, values)
    save_changes(
        session,
        actor,
        Entity.EXTENSION,
        extension,
        changes,
        conflict=_exists_message(account, new_number or number),
    )
    return extension


def disable_extension(session: Session, actor: Actor, account_ref: str, number: str) -> Extension:
    extension = find_extension(session, find_account(session, account_ref), number)
    changes = apply_changes(extension, {"status": Status.DISABLED})
    save_changes(session, actor, Entity.EXTENSION, extension, changes, action=AuditAction.DISABLE)
    return extension
