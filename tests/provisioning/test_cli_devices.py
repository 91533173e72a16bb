"""``switchctl device ...``: credentials are stored as HA1 for the configured realm."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import select

from provisioning.db import Database
from provisioning.models import AuditEntry, Device
from tests.provisioning.conftest import TEST_REALM, Run, assert_error

PASSWORD = "Correct-Horse-Battery-9"


def _ha1(username: str, password: str, realm: str = TEST_REALM) -> tuple[str, str]:
    data = f"{username}:{realm}:{password}".encode()
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()


def _stored(db: Database, username: str) -> Device:
    with db.reading() as session:
        return session.scalars(select(Device).where(Device.username == username)).one()


@pytest.fixture
def acme(cli: Run) -> Run:
    cli("account", "create", "acme")
    cli("extension", "create", "acme", "201")
    cli("extension", "create", "acme", "202")
    return cli


def test_device_create_stores_ha1_for_the_realm(acme: Run, db: Database) -> None:
    result = acme(
        "--json",
        "device",
        "create",
        "--location-pending",
        "acme",
        "201",
        "alice",
        "--password",
        PASSWORD,
    )
    assert result.status == 0, result.err
    view = result.json()
    assert (view["username"], view["account"], view["extension"]) == ("alice", "acme", "201")
    assert (view["realm"], view["device_type"], view["max_contacts"]) == (
        TEST_REALM,
        "desk_phone",
        3,
    )
    assert PASSWORD not in result.out
    stored = _stored(db, "alice")
    assert (stored.ha1_md5, stored.ha1_sha256) == _ha1("alice", PASSWORD)
    assert stored.ha1_md5 not in result.out and stored.ha1_sha256 not in result.out


def test_generated_password_is_printed_once_and_works(acme: Run, db: Database) -> None:
    result = acme(
        "--json",
        "device",
        "create",
        "--location-pending",
        "acme",
        "202",
        "bob",
        "--generate-password",
        "--type",
        "softphone",
        "--max-contacts",
        "5",
    )
    view = result.json()
    assert (view["device_type"], view["max_contacts"]) == ("softphone", 5)
    assert _stored(db, "bob").ha1_sha256 == _ha1("bob", view["password"])[1]
    shown = acme("--json", "device", "show", "bob").json()
    assert "password" not in shown and view["password"] not in json.dumps(shown)


def test_password_can_come_from_stdin(acme: Run, db: Database) -> None:
    result = acme(
        "device",
        "create",
        "--location-pending",
        "acme",
        "201",
        "alice",
        "--password",
        "-",
        stdin=PASSWORD,
    )
    assert result.status == 0, result.err
    assert _stored(db, "alice").ha1_md5 == _ha1("alice", PASSWORD)[0]


def test_list_show_update_disable(acme: Run, db: Database) -> None:
    acme("device", "create", "--location-pending", "acme", "201", "alice", "--password", PASSWORD)
    acme("device", "create", "--location-pending", "acme", "202", "bob", "--password", PASSWORD)
    acme("account", "create", "globex")
    acme("extension", "create", "globex", "300")
    acme("device", "create", "--location-pending", "globex", "300", "carol", "--password", PASSWORD)

    assert [d["username"] for d in acme("--json", "device", "list").json()] == [
        "alice",
        "bob",
        "carol",
    ]
    only = acme("--json", "device", "list", "--account", "globex").json()
    assert [d["username"] for d in only] == ["carol"]
    assert all("ha1_md5" not in d and "ha1_sha256" not in d for d in only)

    new_password = "Staple-Orbit-Lantern-4"
    updated = acme(
        "--json",
        "device",
        "update",
        "alice",
        "--password",
        new_password,
        "--type",
        "ata",
        "--max-contacts",
        "1",
    ).json()
    assert (updated["device_type"], updated["max_contacts"]) == ("ata", 1)
    assert _stored(db, "alice").ha1_md5 == _ha1("alice", new_password)[0]

    disabled = acme("--json", "device", "disable", "bob").json()
    assert disabled["status"] == "disabled"
    assert acme("--json", "device", "show", "bob").json()["status"] == "disabled"


def test_password_reset_is_audited_without_secrets(acme: Run, db: Database) -> None:
    acme("device", "create", "--location-pending", "acme", "201", "alice", "--password", PASSWORD)
    generated = acme("--json", "device", "update", "alice", "--generate-password").json()
    stored = _stored(db, "alice")
    assert stored.ha1_md5 == _ha1("alice", generated["password"])[0]
    with db.reading() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.entity == "device")).all()
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].details == {"password": "changed"}
    dumped = json.dumps([e.details for e in entries])
    for secret in (PASSWORD, generated["password"], stored.ha1_md5, stored.ha1_sha256):
        assert secret not in dumped


WEAK = [
    ("alice", "shorter than 10 characters"),
    ("Alice-Secret-77", "contains the username"),
    ("Secret-201-Horse", "contains the extension number"),
    ("84739563857", "only digits and shorter than 12"),
    ("password123", "a commonly used password"),
]


def test_weak_passwords_are_refused(acme: Run) -> None:
    for password, why in WEAK:
        result = acme(
            "device", "create", "--location-pending", "acme", "201", "alice", "--password", password
        )
        assert_error(result, f"weak password: {why}")
    assert_error(acme("device", "show", "alice"), "unknown device 'alice'")
    acme("device", "create", "--location-pending", "acme", "201", "alice", "--password", PASSWORD)
    for password, why in WEAK:
        assert_error(
            acme("device", "update", "alice", "--password", password), f"weak password: {why}"
        )


def test_device_errors(acme: Run) -> None:
    assert_error(
        acme(
            "device", "create", "--location-pending", "nope", "201", "alice", "--password", PASSWORD
        ),
        "unknown account 'nope'",
    )
    assert_error(
        acme(
            "device", "create", "--location-pending", "acme", "299", "alice", "--password", PASSWORD
        ),
        "unknown extension '299' in account 'acme'",
    )
    acme("device", "create", "--location-pending", "acme", "201", "alice", "--password", PASSWORD)
    acme("account", "create", "globex")
    acme("extension", "create", "globex", "300")
    # Usernames are global: the registrar finds devices by username alone.
    assert_error(
        acme(
            "device",
            "create",
            "--location-pending",
            "globex",
            "300",
            "alice",
            "--password",
            PASSWORD,
        ),
        "device username 'alice' is already taken",
    )
    assert_error(
        acme("device", "update", "mallory", "--max-contacts", "2"), "unknown device 'mallory'"
    )
    assert_error(
        acme(
            "device", "create", "--location-pending", "acme", "202", "bo:b", "--password", PASSWORD
        ),
        "invalid username 'bo:b': letters, digits, '.', '_', '~', '+', '-' only; "
        "at most 64 characters",
    )


def test_password_option_is_required(switchctl: Any) -> None:
    result = switchctl(["device", "create", "--location-pending", "acme", "201", "alice"])
    assert result.status == 2
    assert "one of the arguments --password --generate-password is required" in result.err
