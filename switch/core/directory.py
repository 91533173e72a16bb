"""In-memory view of provisioning that the packet path reads (no query per message).

The whole directory is rebuilt in a worker thread whenever the single
``provisioning_state.version`` row changes; readers swap to the new object at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from provisioning.models import Account, Device, Extension, ProvisioningState


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    id: int
    username: str
    realm: str
    ha1: dict[str, str] = field(repr=False)  # algorithm -> HA1 hex
    extension_id: int
    extension_number: str
    account_id: int
    max_contacts: int
    active: bool  # device, extension and account all enabled for registration

    def owns_aor_user(self, user: str | None) -> bool:
        """A device may register its own username or its extension number."""
        return user in (self.username, self.extension_number)


@dataclass(frozen=True, slots=True)
class Directory:
    version: int = -1
    devices: dict[str, DeviceRecord] = field(default_factory=dict)

    def device(self, username: str) -> DeviceRecord | None:
        return self.devices.get(username)


def read_version(engine: Engine) -> int:
    with Session(engine) as session:
        version = session.scalar(select(ProvisioningState.version))
    return int(version or 0)


def load_directory(engine: Engine) -> Directory:
    """Blocking: call from a worker thread."""
    with Session(engine) as session:
        version = int(session.scalar(select(ProvisioningState.version)) or 0)
        rows = session.execute(
            select(Device, Extension, Account)
            .join(Extension, Device.extension_id == Extension.id)
            .join(Account, Extension.account_id == Account.id)
        ).all()
        devices: dict[str, DeviceRecord] = {}
        for device, extension, account in rows:
            ha1 = {"MD5": device.ha1_md5, "SHA-256": device.ha1_sha256}
            devices[device.username] = DeviceRecord(
                id=device.id,
                username=device.username,
                realm=device.realm,
                ha1={k: v for k, v in ha1.items() if v},
                extension_id=extension.id,
                extension_number=extension.number,
                account_id=account.id,
                max_contacts=device.max_contacts,
                # A suspended account may still register: it must reach 911 and be called back.
                active=_status(device.status) == "active"
                and _status(extension.status) == "active"
                and _status(account.status) != "disabled",
            )
    return Directory(version, devices)


def _status(value: object) -> str:
    return str(getattr(value, "value", value))
