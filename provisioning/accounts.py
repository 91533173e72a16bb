"""Account operations. Each change is audited in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.audit import Actor, AuditAction, Entity, apply_changes
from provisioning.common import KEEP, Keep, save_changes, save_created
from provisioning.errors import AlreadyExists
from provisioning.lookup import find_account
from provisioning.models import Account, AccountStatus, utcnow
from provisioning.validation import normalise_number, validate_account_name

_CREATED_FIELDS = ("name", "status", "main_number")


def _exists_message(name: str) -> str:
    return f"account {name!r} already exists"


def _check_name_free(session: Session, name: str) -> None:
    if session.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise AlreadyExists(_exists_message(name))


def create_account(
    session: Session, actor: Actor, name: str, *, main_number: str | None = None
) -> Account:
    validate_account_name(name)
    number = normalise_number(main_number) if main_number else None
    _check_name_free(session, name)
    now = utcnow()
    account = Account(
        name=name,
        status=AccountStatus.ACTIVE,
        main_number=number,
        created_at=now,
        updated_at=now,
    )
    save_created(session, actor, Entity.ACCOUNT, account, _CREATED_FIELDS, _exists_message(name))
    return account


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.name)))


def update_account(
    session: Session,
    actor: Actor,
    ref: str,
    *,
    name: str | None = None,
    main_number: str | Keep | None = KEEP,
    status: AccountStatus | None = None,
) -> Account:
    """Change the given fields; ``main_number=None`` clears the main number."""
    account = find_account(session, ref)
    values: dict[str, object] = {}
    if name is not None and name != account.name:
        validate_account_name(name)
        _check_name_free(session, name)
        values["name"] = name
    if not isinstance(main_number, Keep):
        values["main_number"] = normalise_number(main_number) if main_number else None
    if status is not None:
        values["status"] = status
    changes = apply_changes(account, values)
    save_changes(
        session,
        actor,
        Entity.ACCOUNT,
        account,
        changes,
        conflict=_exists_message(name or account.name),
    )
    return account


def disable_account(session: Session, actor: Actor, ref: str) -> Account:
    """Mark the account disabled; its extensions and devices keep their own status."""
    account = find_account(session, ref)
    changes = apply_changes(account, {"status": AccountStatus.DISABLED})
    save_changes(session, actor, Entity.ACCOUNT, account, changes, action=AuditAction.DISABLE)
    return account
