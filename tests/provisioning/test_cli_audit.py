"""Every change leaves an audit row (who, what, why) and bumps the provisioning version."""

from __future__ import annotations

import getpass
import json

import pytest
from sqlalchemy import func, select

from provisioning.db import Database
from provisioning.models import AuditEntry, Device
from provisioning.state import current_version
from tests.provisioning.conftest import Run

PASSWORD = "Correct-Horse-Battery-9"


def _version(db: Database) -> int:
    with db.reading() as session:
        return current_version(session)


def _audit_count(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_each_change_is_audited_and_bumps_the_version(cli: Run, db: Database) -> None:
    commands = [
        ("account", "create", "acme"),
        ("extension", "create", "acme", "201"),
        ("device", "create", "--location-pending", "acme", "201", "alice", "--password", PASSWORD),
        ("did", "create", "+12025550142", "acme", "--extension", "201"),
        ("account", "update", "acme", "--main-number", "+12025550100"),
        ("device", "update", "alice", "--max-contacts", "2"),
        ("did", "disable", "+12025550142"),
        ("extension", "disable", "acme", "201"),
    ]
    for number, argv in enumerate(commands, start=1):
        assert cli(*argv).status == 0
        assert (_version(db), _audit_count(db)) == (number, number)

    entries = cli("--json", "audit", "list").json()
    assert [(e["action"], e["entity"]) for e in entries] == [
        ("disable", "extension"),
        ("disable", "did"),
        ("update", "device"),
        ("update", "account"),
        ("create", "did"),
        ("create", "device"),
        ("create", "extension"),
        ("create", "account"),
    ]
    assert {e["actor"] for e in entries} == {"tester"}
    assert entries[3]["details"] == {"main_number": {"old": None, "new": "+12025550100"}}
    assert entries[2]["details"] == {"max_contacts": {"old": 3, "new": 2}}


def test_no_change_means_no_audit_row(cli: Run, db: Database) -> None:
    cli("account", "create", "acme")
    before = (_version(db), _audit_count(db))
    assert cli("account", "update", "acme", "--status", "active").status == 0
    assert cli("account", "update", "acme").status == 0
    cli("account", "disable", "acme")
    cli("account", "disable", "acme")
    assert (_version(db), _audit_count(db)) == (before[0] + 1, before[1] + 1)


def test_failed_change_leaves_no_trace(cli: Run, db: Database) -> None:
    cli("account", "create", "acme")
    cli("extension", "create", "acme", "201")
    before = (_version(db), _audit_count(db))
    assert (
        cli(
            "device",
            "create",
            "--location-pending",
            "acme",
            "201",
            "alice",
            "--password",
            "alice-201",
        ).status
        == 2
    )
    assert cli("account", "create", "acme").status == 2
    assert (_version(db), _audit_count(db)) == before


def test_actor_and_reason(cli: Run, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("account", "create", "acme", "--reason", "new customer", actor="carol")
    monkeypatch.setenv("SWITCHCTL_ACTOR", "dave")
    cli("account", "create", "globex", actor=None)
    monkeypatch.delenv("SWITCHCTL_ACTOR")
    cli("account", "create", "initech", actor=None)
    entries = cli("--json", "audit", "list", "--entity", "account").json()
    assert [(e["actor"], e["reason"]) for e in entries] == [
        (getpass.getuser(), None),
        ("dave", None),
        ("carol", "new customer"),
    ]


def test_audit_never_holds_passwords_or_ha1(cli: Run, db: Database) -> None:
    cli("account", "create", "acme")
    cli("extension", "create", "acme", "201")
    created = cli(
        "--json",
        "device",
        "create",
        "--location-pending",
        "acme",
        "201",
        "alice",
        "--generate-password",
    )
    cli("device", "update", "alice", "--password", PASSWORD)
    demo = cli("--json", "demo").json()
    secrets = [created.json()["password"], PASSWORD]
    secrets += [c["password"] for c in demo["credentials"]]
    with db.reading() as session:
        details = session.scalars(select(AuditEntry.details)).all()
        for device in session.scalars(select(Device)):
            secrets += [device.ha1_md5, device.ha1_sha256]
    assert len(details) > 5 and len(secrets) == 10
    text = json.dumps(details)
    assert [secret for secret in secrets if secret in text] == []


def test_audit_list_filters_and_limits(cli: Run) -> None:
    cli("account", "create", "acme")
    for number in ("201", "202", "203"):
        cli("extension", "create", "acme", number)
    limited = cli("--json", "audit", "list", "--limit", "2").json()
    assert [e["details"]["number"]["new"] for e in limited] == ["203", "202"]
    only = cli("--json", "audit", "list", "--entity", "account").json()
    assert [e["entity"] for e in only] == ["account"]
    text = cli("audit", "list").out.splitlines()
    assert text[0].split()[:5] == ["ID", "AT", "ACTOR", "ACTION", "ENTITY"]
    assert len(text) == 5
