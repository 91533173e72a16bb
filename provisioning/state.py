"""The provisioning version: one integer a running switch polls to know when to reload.

Every provisioning change bumps it inside its own transaction, so a reader that
sees the new number also sees the change.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from provisioning.models import ProvisioningState, utcnow

STATE_ROW_ID = 1


def bump_version(session: Session) -> None:
    session.execute(
        update(ProvisioningState)
        .where(ProvisioningState.id == STATE_ROW_ID)
        .values(version=ProvisioningState.version + 1, updated_at=utcnow())
    )


def current_version(bind: Session | Connection) -> int:
    """The current version; cheap enough to poll every few seconds."""
    version = bind.execute(
        select(ProvisioningState.version).where(ProvisioningState.id == STATE_ROW_ID)
    ).scalar_one()
    return int(version)
