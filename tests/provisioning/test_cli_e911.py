"""E911 provisioning through ``switchctl``: sites, device locations with history, account
settings, emergency numbers refused, and what the switch loads from it.

One migrated database per backend serves the whole module (each test works in its own
account and usernames), which keeps the file fast; the migration-chain test uses a
fresh database of its own.
"""

from __future__ import annotations

import ipaddress
import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from provisioning.db import Database, alembic_config, head_revision, migrate
from provisioning.e911_models import DeviceLocationRow, LocationStatus
from provisioning.models import AuditEntry, Device
from switch.core.e911_types import LocationSource
from switch.core.locations import (
    AddressOrigin,
    FallbackOrigin,
    LocationState,
    load_locations,
    load_notification_targets,
)
from tests.provisioning.conftest import Result, Run, assert_error, run_main
from tests.support.databases import database_url

GOOD_ADDRESS = "123 north main street, Springfield, IL 62704"
HOME_ADDRESS = "9 elm street apt 4, Springfield, IL 62704"
PASSWORD = "Correct-Horse-Battery-9"
NOT_A_PLACE = "a post office box is not a physical location"
HANG_UP = "instruct callers to hang up and dial 911 themselves"
E911_TABLES = {
    "sites",
    "site_contacts",
    "device_locations",
    "emergency_notifications",
    "transfer_incidents",
}
ACCOUNT_COLUMNS = {
    "e911_enforcement",
    "moved_device_action",
    "transfer_911_action",
    "transfer_911_fee",
    "fallback_address",
}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def shared_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with database_url(request.param, tmp_path_factory.mktemp("e911")) as url:
        migrate(url)
        yield url


@pytest.fixture
def db(shared_url: str) -> Iterator[Database]:
    database = Database.from_url(shared_url)
    yield database
    database.dispose()


@pytest.fixture
def cli(shared_url: str, config_file: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str, actor: str = "tester") -> Result:
        base = ["--config", str(config_file), "--database-url", shared_url, "--actor", actor]
        return run_main(capsys, [*base, *argv])

    return run


@dataclass(frozen=True, slots=True)
class Tenant:
    """An account of its own in the shared database, with extensions 201 and 202."""

    cli: Run
    account: str
    tag: str

    def user(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def ok(self, *argv: str) -> Result:
        result = self.cli(*argv)
        assert result.status == 0, result.err
        return result

    def json(self, *argv: str) -> Any:
        return self.ok("--json", *argv).json()

    def device(self, name: str, extension: str, *location: str) -> str:
        username = self.user(name)
        self.ok("device", "create", self.account, extension, username, "--password", PASSWORD,
                *location)  # fmt: skip
        return username


@pytest.fixture
def tenant(cli: Run) -> Tenant:
    tag = secrets.token_hex(3)
    t = Tenant(cli, f"acme-{tag}", tag)
    t.ok("account", "create", t.account)
    t.ok("extension", "create", t.account, "201")
    t.ok("extension", "create", t.account, "202")
    return t


def _hq(t: Tenant, *extra: str) -> Any:
    return t.json("site", "create", t.account, "HQ", "--address", GOOD_ADDRESS, *extra)


def _rows(db: Database, username: str) -> list[DeviceLocationRow]:
    with db.reading() as session:
        device_id = session.scalars(select(Device.id).where(Device.username == username)).one()
        query = select(DeviceLocationRow).where(DeviceLocationRow.device_id == device_id)
        return list(session.scalars(query.order_by(DeviceLocationRow.id)))


def _device_id(db: Database, username: str) -> int:
    with db.reading() as session:
        return session.scalars(select(Device.id).where(Device.username == username)).one()


# -- sites -----------------------------------------------------------------------------------


def test_site_address_is_normalized_and_validated(tenant: Tenant) -> None:
    view = _hq(tenant, "--network", "192.0.2.77/24", "--backup-network", "198.51.100.7")
    assert view["address"] == "123 N MAIN ST, SPRINGFIELD, IL 62704"
    assert view["civic_address"] == {
        "country": "US", "A1": "IL", "A3": "SPRINGFIELD", "PRD": "N", "RD": "MAIN",
        "STS": "ST", "HNO": "123", "PC": "62704",
    }  # fmt: skip
    assert (view["networks"], view["backup_networks"]) == (["192.0.2.0/24"], ["198.51.100.7/32"])
    listed = tenant.json("site", "list", "--account", tenant.account)
    assert [s["name"] for s in listed] == ["HQ"]
    shown = tenant.json("site", "show", tenant.account, "HQ")
    assert shown["address"] == view["address"]


BAD_ADDRESSES = [
    ("123 Main St, Springfield, IL", "PC: ZIP code is missing"),
    ("Main St, Springfield, IL 62704", "HNO: house number is missing"),
    ("123 Main St, Springfield, ZZ 62704", "A1: not a US state or territory code"),
    ("PO Box 12, Springfield, IL 62704", f"POBOX: {NOT_A_PLACE}"),
    ("P.O. Box 77, Springfield, IL 62704", f"POBOX: {NOT_A_PLACE}"),
]


def test_bad_site_address_names_the_field(tenant: Tenant) -> None:
    for address, message in BAD_ADDRESSES:
        result = tenant.cli("site", "create", tenant.account, "HQ", "--address", address)
        assert_error(result, f"invalid address: {message}")
    assert tenant.json("site", "list", "--account", tenant.account) == []


def test_site_names_are_unique_per_account(tenant: Tenant) -> None:
    _hq(tenant)
    result = tenant.cli("site", "create", tenant.account, "HQ", "--address", GOOD_ADDRESS)
    assert_error(result, f"site 'HQ' already exists in account '{tenant.account}'")


def test_site_contacts_add_list_remove(tenant: Tenant) -> None:
    _hq(tenant)
    a = tenant.account
    tenant.ok("site", "contact", "add", a, "HQ", "--webhook", "https://hooks.example.net/911")
    tenant.ok("site", "contact", "add", a, "HQ", "--email", "desk@example.net", "--name", "Desk")
    tenant.ok("site", "contact", "add", a, "HQ", "--sip", "202")
    listed = tenant.json("site", "contact", "list", a, "HQ")
    assert [(c["kind"], c["target"]) for c in listed] == [
        ("webhook", "https://hooks.example.net/911"),
        ("email", "desk@example.net"),
        ("sip", "202"),
    ]
    tenant.ok("site", "contact", "remove", a, "HQ", "--email", "desk@example.net")
    assert len(tenant.json("site", "contact", "list", a, "HQ")) == 2
    bad_url = tenant.cli("site", "contact", "add", a, "HQ", "--webhook", "ftp://x.example")
    assert_error(bad_url, "invalid webhook URL 'ftp://x.example': give an http:// or https:// URL")
    unknown = tenant.cli("site", "contact", "add", a, "HQ", "--sip", "299")
    assert_error(unknown, f"unknown extension '299' in account '{a}'")


# -- device locations ------------------------------------------------------------------------


def test_device_create_requires_a_location(tenant: Tenant, db: Database) -> None:
    with db.reading() as session:
        audit_rows = session.scalar(select(func.count()).select_from(AuditEntry))
    username = tenant.user("alice")
    result = tenant.cli("device", "create", tenant.account, "201", username, "--password", PASSWORD)
    assert_error(
        result,
        "a device needs a location: give --site SITE [--floor F] [--unit U] [--room R], "
        '--address "123 Main St, Springfield, IL 62704" [--unit U], or --location-pending',
    )
    with db.reading() as session:
        assert session.scalar(select(Device.id).where(Device.username == username)) is None
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_rows


def test_location_pending_device_is_listed_until_set(tenant: Tenant, db: Database) -> None:
    bob = tenant.device("bob", "202", "--location-pending")
    a = tenant.account
    pending = tenant.json("location", "list", "--account", a, "--pending")
    assert [(r["username"], r["state"]) for r in pending] == [(bob, "pending")]
    assert tenant.json("location", "list", "--account", a, "--unconfirmed") == []
    tenant.ok("location", "set", bob, "--address", HOME_ADDRESS)
    assert tenant.json("location", "list", "--account", a) == []
    everything = tenant.json("location", "list", "--account", a, "--all")
    assert [r["state"] for r in everything] == ["validated"]


def test_multi_unit_site_needs_floor_unit_or_room(tenant: Tenant, db: Database) -> None:
    _hq(tenant, "--multi-unit")
    username = tenant.user("alice")
    argv = ("device", "create", tenant.account, "201", username, "--password", PASSWORD)
    result = tenant.cli(*argv, "--site", "HQ")
    assert_error(
        result, "invalid address: UNIT: site has several units: a unit, floor or room is required"
    )
    tenant.ok(*argv, "--site", "HQ", "--floor", "3rd floor", "--room", "Room 301")
    view = tenant.json("location", "show", username)
    assert view["address"] == "123 N MAIN ST, FL 3, RM 301, SPRINGFIELD, IL 62704"
    assert (view["site"], view["floor"], view["room"], view["state"]) == (
        "HQ",
        "3",
        "301",
        "validated",
    )
    moved = tenant.cli("location", "set", username, "--site", "HQ")
    assert moved.status == 2 and "UNIT: site has several units" in moved.err
    assert len(_rows(db, username)) == 1


def test_location_history_keeps_one_current_row(tenant: Tenant, db: Database) -> None:
    _hq(tenant)
    alice = tenant.device("alice", "201", "--site", "HQ")
    tenant.ok("location", "set", alice, "--address", HOME_ADDRESS)
    tenant.ok("location", "set", alice, "--site", "HQ", "--unit", "suite 400")
    rows = _rows(db, alice)
    assert len(rows) == 3
    assert [r.valid_to is None for r in rows] == [False, False, True]
    for older, newer in itertools.pairwise(rows):
        assert older.valid_to == newer.valid_from
        assert older.valid_from <= older.valid_to
    assert rows[1].address is not None and rows[1].site_id is None
    assert (rows[2].site_id, rows[2].unit) == (rows[0].site_id, "STE 400")
    history = tenant.json("location", "show", alice, "--history")
    assert [h["location_id"] for h in history] == [r.id for r in rows]
    assert [h["valid_to"] is None for h in history] == [False, False, True]


def test_a_second_current_row_is_refused_by_the_database(tenant: Tenant, db: Database) -> None:
    alice = tenant.device("alice", "201", "--location-pending")
    row = _rows(db, alice)[0]
    with pytest.raises(IntegrityError), db.writing() as session:
        session.add(DeviceLocationRow(device_id=row.device_id, status=LocationStatus.PENDING))


def test_site_address_change_opens_new_location_rows(tenant: Tenant, db: Database) -> None:
    _hq(tenant)
    alice = tenant.device("alice", "201", "--site", "HQ", "--floor", "2")
    tenant.ok(
        "site", "update", tenant.account, "HQ", "--address", "500 Oak Ave, Springfield, IL 62704"
    )
    rows = _rows(db, alice)
    assert [r.valid_to is None for r in rows] == [False, True]
    assert (rows[1].site_id, rows[1].floor) == (rows[0].site_id, "2")
    view = tenant.json("location", "show", alice)
    assert view["address"] == "500 OAK AVE, FL 2, SPRINGFIELD, IL 62704"


def test_site_in_use_cannot_be_disabled_or_made_multi_unit(tenant: Tenant) -> None:
    _hq(tenant)
    alice = tenant.device("alice", "201", "--site", "HQ")
    assert_error(
        tenant.cli("site", "update", tenant.account, "HQ", "--status", "disabled"),
        "site 'HQ' is the registered location of 1 device(s); "
        "move them first ('switchctl location set')",
    )
    refused = tenant.cli("site", "update", tenant.account, "HQ", "--multi-unit", "on")
    assert refused.status == 2 and "have no floor, unit or room" in refused.err
    tenant.ok("location", "set", alice, "--site", "HQ", "--room", "12")
    tenant.ok("site", "update", tenant.account, "HQ", "--multi-unit", "on")


def test_confirm_marks_unconfirmed_location_validated(tenant: Tenant, db: Database) -> None:
    bob = tenant.device("bob", "202", "--address", HOME_ADDRESS)
    with db.writing() as session:  # what the switch does when bob registers from elsewhere
        session.execute(
            update(DeviceLocationRow)
            .where(DeviceLocationRow.device_id == _device_id(db, bob))
            .values(status=LocationStatus.UNCONFIRMED)
        )
    listed = tenant.json("location", "list", "--account", tenant.account, "--unconfirmed")
    assert [r["username"] for r in listed] == [bob]
    view = tenant.json("location", "confirm", bob, "--network", "203.0.113.9")
    assert (view["state"], view["confirmed_networks"]) == ("validated", ["203.0.113.9/32"])
    assert view["confirmed_by"] == "tester"
    assert tenant.json("location", "list", "--account", tenant.account) == []
    pending = tenant.device("carol", "201", "--location-pending")
    assert_error(
        tenant.cli("location", "confirm", pending),
        f"device {pending!r} has no registered location to confirm; "
        "register one with 'switchctl location set'",
    )


# -- emergency numbers -----------------------------------------------------------------------


def test_emergency_numbers_cannot_be_usernames(tenant: Tenant) -> None:
    for number in ("911", "9911", "1911", "933", "112"):
        result = tenant.cli(
            "device", "create", tenant.account, "201", number, "--password", PASSWORD,
            "--location-pending",
        )  # fmt: skip
        assert_error(
            result, f"{number!r} is an emergency number and cannot be a device username; {HANG_UP}"
        )
    assert tenant.json("location", "list", "--account", tenant.account, "--all") == []


def test_emergency_numbers_cannot_be_extensions_dids_or_contacts(tenant: Tenant) -> None:
    _hq(tenant)
    for number in ("911", "9911", "933"):
        assert tenant.cli("extension", "create", tenant.account, number).status == 2
    for number in ("911", "+1911", "112"):
        assert tenant.cli("did", "create", number, tenant.account).status == 2
    assert_error(
        tenant.cli("site", "contact", "add", tenant.account, "HQ", "--sip", "911"),
        f"'911' is an emergency number and cannot be a notification target; {HANG_UP}",
    )


# -- account settings ------------------------------------------------------------------------


def test_e911_settings_defaults_and_changes(tenant: Tenant) -> None:
    a = tenant.account
    shown = tenant.json("e911", "settings", a)
    assert shown == {
        "account": a,
        "account_id": shown["account_id"],
        "e911_enforcement": "enforce",
        "moved_device_action": "restrict",
        "transfer_911_action": "allow_and_charge",
        "transfer_911_fee": "150.00",
        "fallback_address": None,
        "fallback_civic_address": None,
    }
    changed = tenant.json(
        "e911", "settings", a, "--e911-enforcement", "warn", "--moved-device-action", "alert",
        "--transfer-911-action", "refuse", "--transfer-911-fee", "99.5",
        "--fallback-address", "1 Main St, Springfield, IL 62704",
    )  # fmt: skip
    assert changed["e911_enforcement"] == "warn"
    assert (changed["moved_device_action"], changed["transfer_911_action"]) == ("alert", "refuse")
    assert changed["transfer_911_fee"] == "99.50"
    assert changed["fallback_address"] == "1 MAIN ST, SPRINGFIELD, IL 62704"
    assert_error(
        tenant.cli("e911", "settings", a, "--transfer-911-fee", "1.234"),
        "invalid fee '1.234': 0 to 99999.99, at most two decimals",
    )
    assert_error(
        tenant.cli("e911", "settings", a, "--fallback-address", "1 Main St, Springfield, IL"),
        "invalid address: PC: ZIP code is missing",
    )
    cleared = tenant.json("e911", "settings", a, "--fallback-address", "")
    assert cleared["fallback_address"] is None


# -- what the switch loads -------------------------------------------------------------------


def test_switch_loads_locations_and_contacts(tenant: Tenant, db: Database) -> None:
    a = tenant.account
    _hq(tenant, "--network", "192.0.2.0/24", "--backup-network", "198.51.100.0/28")
    tenant.ok("site", "contact", "add", a, "HQ", "--webhook", "https://hooks.example.net/911")
    tenant.ok("site", "contact", "add", a, "HQ", "--sip", "202")
    tenant.ok("e911", "settings", a, "--fallback-address", "1 Main St, Springfield, IL 62704")
    desk = tenant.device("desk", "201", "--site", "HQ", "--floor", "4", "--room", "410")
    home = tenant.device("home", "202", "--address", HOME_ADDRESS)
    tenant.ok("location", "confirm", home, "--network", "203.0.113.9")
    lobby = tenant.device("lobby", "202", "--site", "HQ", "--location-pending")
    loose = tenant.device("loose", "201", "--location-pending")
    with db.writing() as session:  # a device from before E911 provisioning: no row at all
        session.execute(
            delete(DeviceLocationRow).where(DeviceLocationRow.device_id == _device_id(db, loose))
        )

    locations = load_locations(db.engine)
    ids = {name: _device_id(db, name) for name in (desk, home, lobby, loose)}

    at_desk = locations[ids[desk]]
    assert (at_desk.status, at_desk.origin) == (LocationState.VALIDATED, AddressOrigin.SITE)
    assert at_desk.address is not None
    assert (at_desk.address.hno, at_desk.address.rd, at_desk.address.flr) == ("123", "MAIN", "4")
    assert at_desk.address.room == "410" and at_desk.validated
    assert at_desk.networks == (
        ipaddress.ip_network("192.0.2.0/24"),
        ipaddress.ip_network("198.51.100.0/28"),
    )
    assert at_desk.confirmed_from("198.51.100.3") is True  # the LTE backup counts as the site
    assert at_desk.confirmed_from("203.0.113.9") is False
    emergency = at_desk.for_emergency()
    assert emergency is not None and emergency.source is LocationSource.DEVICE
    assert emergency.location_id == _rows(db, desk)[-1].id

    at_home = locations[ids[home]]
    assert (at_home.origin, at_home.site_id) == (AddressOrigin.DEVICE, None)
    assert at_home.address is not None and at_home.address.unit == "APT 4"
    assert at_home.confirmed_from("203.0.113.9") is True
    assert at_home.confirmed_from("192.0.2.1") is False
    assert at_home.fallback_origin is FallbackOrigin.ACCOUNT

    in_lobby = locations[ids[lobby]]
    assert (in_lobby.status, in_lobby.address) == (LocationState.PENDING, None)
    assert in_lobby.fallback_origin is FallbackOrigin.SITE and in_lobby.fallback is not None
    assert in_lobby.fallback.rd == "MAIN" and in_lobby.site_id == at_desk.site_id
    fallback = in_lobby.for_emergency()
    assert fallback is not None and fallback.source is LocationSource.SITE

    missing = locations[ids[loose]]
    assert (missing.status, missing.location_id) == (LocationState.MISSING, None)
    assert missing.fallback is not None and missing.fallback.hno == "1"
    account_fallback = missing.for_emergency()
    assert account_fallback is not None and account_fallback.source is LocationSource.ACCOUNT

    assert at_desk.site_id is not None
    contacts = load_notification_targets(db.engine)[at_desk.site_id]
    assert (contacts.site_name, contacts.account_id) == ("HQ", at_desk.account_id)
    assert contacts.webhooks == ("https://hooks.example.net/911",)
    assert (contacts.emails, contacts.sip_extensions) == ((), ("202",))


# -- migrations ------------------------------------------------------------------------------


def test_migration_chain_upgrades_and_downgrades(db_url: str) -> None:
    database = Database.from_url(db_url)
    try:
        with database.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0003")
            now = datetime(2024, 7, 1).isoformat(" ")
            conn.execute(
                text(
                    "INSERT INTO accounts (name, status, created_at, updated_at) "
                    "VALUES ('old', 'active', :t, :t)"
                ),
                {"t": now},
            )
        with database.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        inspector = inspect(database.engine)
        assert set(inspector.get_table_names()) >= E911_TABLES
        with database.engine.connect() as conn:
            defaults = conn.execute(
                text(
                    "SELECT e911_enforcement, moved_device_action, transfer_911_action, "
                    "transfer_911_fee, fallback_address FROM accounts WHERE name = 'old'"
                )
            ).one()
        assert tuple(defaults) == ("enforce", "restrict", "allow_and_charge", "150.00", None)

        with database.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0003")
        inspector = inspect(database.engine)
        assert not set(inspector.get_table_names()) & E911_TABLES
        assert not {c["name"] for c in inspector.get_columns("accounts")} & ACCOUNT_COLUMNS

        with database.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
            command.downgrade(alembic_config(conn), "base")
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        assert migrate(db_url) == (None, head_revision())
    finally:
        database.dispose()
