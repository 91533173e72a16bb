"""Finding entities by the names operators type; unknown ones raise :class:`NotFound`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.errors import NotFound
from provisioning.models import Account, Device, Did, Extension
from provisioning.validation import normalise_number


def find_account(session: Session, name_or_id: str) -> Account:
    """By name, or by numeric id (account names always start with a letter)."""
    if name_or_id.isdigit():
        account = session.get(Account, int(name_or_id))
    else:
        account = session.scalar(select(Account).where(Account.name == name_or_id))
    if account is None:
        raise NotFound(f"unknown account {name_or_id!r}")
    return account


def find_extension(session: Session, account: Account, number: str) -> Extension:
    extension = session.scalar(
        select(Extension).where(Extension.account_id == account.id, Extension.number == number)
    )
    if extension is None:
        raise NotFound(f"unknown extension {number!r} in account {account.name!r}")
    return extension


def find_device(session: Session, username: str) -> Device:
    device = session.scalar(select(Device).where(Device.username == username))
    if device is None:
        raise NotFound(f"unknown device {username!r}")
    return device


def find_did(session: Session, number: str) -> Did:
    e164 = normalise_number(number)
    did = session.scalar(select(Did).where(Did.number == e164))
    if did is None:
        raise NotFound(f"unknown DID {e164!r}")
    return did
