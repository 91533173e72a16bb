"""In-memory view of provisioning that the packet path reads (no query per message).

The whole directory is rebuilt in a worker thread whenever the single
``provisioning_state.version`` row changes; readers swap to the new object at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from provisioning.models import Account, Device, Did, Extension, ProvisioningState
from switch.policy import (
    AccountPermissions,
    AccountStatus,
    ExtensionPermissions,
    ExtensionStatus,
    Override,
)

from .locations import DeviceLocation, SiteContacts, load_locations, load_notification_targets


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
class ExtensionRecord:
    id: int
    account_id: int
    number: str
    display_name: str | None
    active: bool
    device_ids: tuple[int, ...]
    dids: tuple[str, ...]  # E.164 numbers routed to this extension
    permissions: ExtensionPermissions = field(default_factory=ExtensionPermissions)
    policy_status: str = "active"  # active, suspended, fraud_locked


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: int
    name: str
    status: str  # active, suspended, disabled
    main_number: str | None
    dids: frozenset[str]  # every E.164 number the account owns
    permissions: AccountPermissions = field(default_factory=AccountPermissions)
    policy_status: str = "active"  # active, suspended, fraud_locked (disabled counts as suspended)
    verified_numbers: frozenset[str] = frozenset()
    caller_id_mode: str = "replace"  # or "reject"
    outside_line_prefix: str | None = None
    home_area_code: str | None = None
    e911: AccountE911 = field(default_factory=lambda: AccountE911())


@dataclass(frozen=True, slots=True)
class AccountE911:
    """An account's E911 settings (see provisioning.models for their meaning)."""

    enforcement: str = "enforce"  # or "warn"
    moved_device_action: str = "restrict"  # or "alert"
    transfer_action: str = "allow_and_charge"  # or "refuse"
    transfer_fee: str = "150.00"


@dataclass(frozen=True, slots=True)
class DidRecord:
    number: str
    account_id: int
    extension_id: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class Directory:
    version: int = -1
    devices: dict[str, DeviceRecord] = field(default_factory=dict)
    extensions: dict[tuple[int, str], ExtensionRecord] = field(default_factory=dict)
    extensions_by_id: dict[int, ExtensionRecord] = field(default_factory=dict)
    accounts: dict[int, AccountRecord] = field(default_factory=dict)
    dids: dict[str, DidRecord] = field(default_factory=dict)
    # device id -> its registered E911 location; site id -> who is told of a 911 call
    locations: dict[int, DeviceLocation] = field(default_factory=dict)
    site_contacts: dict[int, SiteContacts] = field(default_factory=dict)

    def device(self, username: str) -> DeviceRecord | None:
        return self.devices.get(username)

    def extension(self, account_id: int, number: str) -> ExtensionRecord | None:
        return self.extensions.get((account_id, number))


def read_version(engine: Engine) -> int:
    with Session(engine) as session:
        version = session.scalar(select(ProvisioningState.version))
    return int(version or 0)


def load_directory(engine: Engine) -> Directory:
    """Blocking: call from a worker thread."""
    with Session(engine) as session:
        version = int(session.scalar(select(ProvisioningState.version)) or 0)
        accounts = list(session.scalars(select(Account)))
        extensions = list(session.scalars(select(Extension)))
        devices = list(session.scalars(select(Device)))
        dids = list(session.scalars(select(Did)))
        e911 = {
            a.id: AccountE911(
                enforcement=_status(a.e911_enforcement or "enforce"),
                moved_device_action=_status(a.moved_device_action or "restrict"),
                transfer_action=_status(a.transfer_911_action or "allow_and_charge"),
                transfer_fee=str(a.transfer_911_fee or "150.00"),
            )
            for a in accounts
        }
        directory = build_directory(version, accounts, extensions, devices, dids)
    accounts_with_e911 = {
        account_id: replace(record, e911=e911.get(account_id, AccountE911()))
        for account_id, record in directory.accounts.items()
    }
    return replace(
        directory,
        accounts=accounts_with_e911,
        locations=load_locations(engine),
        site_contacts=load_notification_targets(engine),
    )


def build_directory(
    version: int,
    accounts: list[Account],
    extensions: list[Extension],
    devices: list[Device],
    dids: list[Did],
) -> Directory:
    account_status = {a.id: _status(a.status) for a in accounts}
    did_records = {
        d.number: DidRecord(d.number, d.account_id, d.extension_id, _status(d.status) == "active")
        for d in dids
    }
    active_dids = [d for d in did_records.values() if d.active]
    ext_active = {e.id: _status(e.status) == "active" for e in extensions}
    ext_by_id = {e.id: e for e in extensions}
    device_records: dict[str, DeviceRecord] = {}
    for device in devices:
        extension = ext_by_id[device.extension_id]
        ha1 = {"MD5": device.ha1_md5, "SHA-256": device.ha1_sha256}
        device_records[device.username] = DeviceRecord(
            id=device.id,
            username=device.username,
            realm=device.realm,
            ha1={k: v for k, v in ha1.items() if v},
            extension_id=extension.id,
            extension_number=extension.number,
            account_id=extension.account_id,
            max_contacts=device.max_contacts,
            # A suspended account may still register: it must reach 911 and be called back.
            active=_status(device.status) == "active"
            and ext_active[extension.id]
            and account_status.get(extension.account_id) != "disabled",
        )
    extension_records: dict[int, ExtensionRecord] = {}
    for extension in extensions:
        extension_records[extension.id] = ExtensionRecord(
            id=extension.id,
            account_id=extension.account_id,
            number=extension.number,
            display_name=extension.display_name,
            active=ext_active[extension.id],
            device_ids=tuple(
                d.id
                for d in devices
                if d.extension_id == extension.id and _status(d.status) == "active"
            ),
            dids=tuple(sorted(d.number for d in active_dids if d.extension_id == extension.id)),
            permissions=_extension_permissions(extension),
            policy_status=_extension_policy_status(extension),
        )
    account_records = {
        a.id: _account_record(
            a,
            account_status[a.id],
            frozenset(d.number for d in active_dids if d.account_id == a.id),
        )
        for a in accounts
    }
    return Directory(
        version=version,
        devices=device_records,
        extensions={(e.account_id, e.number): e for e in extension_records.values()},
        extensions_by_id=extension_records,
        accounts=account_records,
        dids=did_records,
    )


def _account_record(account: Account, status: str, dids: frozenset[str]) -> AccountRecord:
    return AccountRecord(
        id=account.id,
        name=account.name,
        status=status,
        main_number=account.main_number,
        dids=dids,
        # bool(): rows built in memory and never flushed hold None, not the default.
        permissions=AccountPermissions(
            international=bool(account.international),
            high_risk=bool(account.high_risk),
            premium=bool(account.premium),
            operator_assisted=bool(account.operator_assisted),
        ),
        policy_status=_account_policy_status(status, bool(account.fraud_lock)),
        verified_numbers=frozenset(v.number for v in account.verified_numbers),
        caller_id_mode=_status(account.caller_id_mode or "replace"),
        outside_line_prefix=account.outside_line_prefix or None,
        home_area_code=account.home_area_code or _home_area_code(account.main_number),
    )


def _account_policy_status(status: str, fraud_lock: bool) -> str:
    """A fraud lock wins over the status; a disabled account counts as suspended."""
    if fraud_lock:
        return AccountStatus.FRAUD_LOCKED.value
    if status == "active":
        return AccountStatus.ACTIVE.value
    return AccountStatus.SUSPENDED.value


def _extension_policy_status(extension: Extension) -> str:
    # A disabled extension never gets here with a call: its devices cannot authenticate.
    if extension.fraud_lock:
        return ExtensionStatus.FRAUD_LOCKED.value
    if extension.suspended:
        return ExtensionStatus.SUSPENDED.value
    return ExtensionStatus.ACTIVE.value


def _extension_permissions(extension: Extension) -> ExtensionPermissions:
    def override(value: object) -> Override:
        return Override(_status(value or Override.INHERIT))  # unflushed rows hold None

    return ExtensionPermissions(
        international=override(extension.international),
        high_risk=override(extension.high_risk),
        premium=override(extension.premium),
        operator_assisted=override(extension.operator_assisted),
    )


def _home_area_code(main_number: str | None) -> str | None:
    """NANP accounts dial 7-digit numbers in the area code of their main number."""
    if main_number and main_number.startswith("+1") and len(main_number) == 12:
        return main_number[2:5]
    return None


def _status(value: object) -> str:
    return str(getattr(value, "value", value))
