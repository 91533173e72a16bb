"""The demo setup: one account with two softphone extensions, ready to register.

Only HA1 digests are stored, so the only way to hand out working credentials
is to set new passwords; every run therefore resets them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from provisioning.accounts import create_account, update_account
from provisioning.audit import Actor
from provisioning.devices import create_device, update_device
from provisioning.errors import AlreadyExists, NotFound
from provisioning.extensions import create_extension, update_extension
from provisioning.lookup import find_account, find_device, find_extension
from provisioning.models import AccountStatus, DeviceType, Status
from provisioning.validation import generate_password

DEMO_ACCOUNT = "demo"
DEMO_EXTENSIONS = ("1001", "1002")


@dataclass(frozen=True, slots=True)
class DemoCredential:
    extension: str
    username: str
    password: str


def _ensure_account(session: Session, actor: Actor) -> None:
    try:
        find_account(session, DEMO_ACCOUNT)
    except NotFound:
        create_account(session, actor, DEMO_ACCOUNT)
    else:
        update_account(session, actor, DEMO_ACCOUNT, status=AccountStatus.ACTIVE)


def _ensure_extension(session: Session, actor: Actor, number: str) -> None:
    try:
        find_extension(session, find_account(session, DEMO_ACCOUNT), number)
    except NotFound:
        create_extension(session, actor, DEMO_ACCOUNT, number, display_name=f"Demo {number}")
    else:
        update_extension(session, actor, DEMO_ACCOUNT, number, status=Status.ACTIVE)


def _ensure_device(session: Session, actor: Actor, number: str, realm: str) -> DemoCredential:
    username = number
    password = generate_password(username, number)
    try:
        device = find_device(session, username)
    except NotFound:
        create_device(
            session,
            actor,
            DEMO_ACCOUNT,
            number,
            username,
            password,
            realm=realm,
            device_type=DeviceType.SOFTPHONE,
        )
    else:
        owner = device.extension
        if owner.number != number or owner.account.name != DEMO_ACCOUNT:
            raise AlreadyExists(
                f"device username {username!r} is used by extension {owner.number!r} of "
                f"account {owner.account.name!r}; cannot set up the demo"
            )
        update_device(
            session, actor, username, password=password, realm=realm, status=Status.ACTIVE
        )
    return DemoCredential(extension=number, username=username, password=password)


def ensure_demo(session: Session, actor: Actor, realm: str) -> list[DemoCredential]:
    """Create what is missing, re-enable what was disabled, and reset the passwords."""
    _ensure_account(session, actor)
    credentials = []
    for number in DEMO_EXTENSIONS:
        _ensure_extension(session, actor, number)
        credentials.append(_ensure_device(session, actor, number, realm))
    return credentials
