"""DID (inbound telephone number) operations: numbers are stored in E.164."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.audit import Actor, AuditAction, Entity, apply_changes
from provisioning.common import KEEP, Keep, save_changes, save_created
from provisioning.errors import AlreadyExists
from provisioning.lookup import find_account, find_did, find_extension
from provisioning.models import Account, Did, Extension, Status, utcnow
from provisioning.validation import normalise_number

_CREATED_FIELDS = ("number", "account_id", "extension_id", "status")


def _exists_message(number: str) -> str:
    return f"DID {number!r} already exists"


def create_did(
    session: Session,
    actor: Actor,
    number: str,
    account_ref: str,
    *,
    extension: str | None = None,
) -> Did:
    """Add a DID routed to ``extension`` (a number in the same account) or to the account."""
    e164 = normalise_number(number)
    account = find_account(session, account_ref)
    target = find_extension(session, account, extension) if extension else None
    if session.scalar(select(Did.id).where(Did.number == e164)) is not None:
        raise AlreadyExists(_exists_message(e164))
    now = utcnow()
    did = Did(
        number=e164,
        account=account,
        extension=target,
        status=Status.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    save_created(session, actor, Entity.DID, did, _CREATED_FIELDS, _exists_message(e164))
    return did


def list_dids(session: Session, account_ref: str | None = None) -> list[Did]:
    query = select(Did).join(Did.account).order_by(Account.name, Did.number)
    if account_ref is not None:
        query = query.where(Did.account_id == find_account(session, account_ref).id)
    return list(session.scalars(query))


def update_did(
    session: Session,
    actor: Actor,
    number: str,
    *,
    account_ref: str | None = None,
    extension: str | Keep | None = KEEP,
    status: Status | None = None,
) -> Did:
    """Move the DID to another account and/or extension; ``extension=None`` routes it to
    the account. Moving accounts without naming an extension clears the extension."""
    did = find_did(session, number)
    account = find_account(session, account_ref) if account_ref else did.account
    target: Extension | None
    if isinstance(extension, Keep):
        target = did.extension if account.id == did.account_id else None
    else:
        target = find_extension(session, account, extension) if extension else None
    values: dict[str, object] = {
        "account_id": account.id,
        "extension_id": target.id if target is not None else None,
    }
    if status is not None:
        values["status"] = status
    changes = apply_changes(did, values)
    save_changes(session, actor, Entity.DID, did, changes)
    # The ids were written directly; reload the relationships from them when next read.
    session.expire(did, ["account", "extension"])
    return did


def disable_did(session: Session, actor: Actor, number: str) -> Did:
    did = find_did(session, number)
    changes = apply_changes(did, {"status": Status.DISABLED})
    save_changes(session, actor, Entity.DID, did, changes, action=AuditAction.DISABLE)
    return did
