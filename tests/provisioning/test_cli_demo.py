"""``switchctl demo``: idempotent, and the credentials it prints really work."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from provisioning.db import Database
from provisioning.models import Account, Device, Extension
from tests.provisioning.conftest import TEST_REALM, Run


def _counts(db: Database) -> tuple[int, int, int]:
    with db.reading() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Account, Extension, Device)
        )


def _verifies(db: Database, username: str, password: str) -> bool:
    with db.reading() as session:
        device = session.scalars(select(Device).where(Device.username == username)).one()
    data = f"{username}:{device.realm}:{password}".encode()
    return (device.ha1_md5, device.ha1_sha256) == (
        hashlib.md5(data).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )


def test_demo_is_idempotent_and_prints_working_credentials(cli: Run, db: Database) -> None:
    first = cli("--json", "demo")
    assert first.status == 0, first.err
    report = first.json()
    assert report["realm"] == TEST_REALM
    assert report["registrar"] == {"transport": "udp", "host": "192.0.2.10", "port": 5070}
    assert [(c["extension"], c["username"]) for c in report["credentials"]] == [
        ("1001", "1001"),
        ("1002", "1002"),
    ]
    counts = _counts(db)
    assert counts == (1, 2, 2)

    second = cli("--json", "demo").json()
    assert _counts(db) == counts
    for old, new in zip(report["credentials"], second["credentials"], strict=True):
        assert old["password"] != new["password"]
        assert "1001" not in new["password"] and "1002" not in new["password"]
        assert _verifies(db, new["username"], new["password"])
        assert not _verifies(db, old["username"], old["password"])


def test_demo_reenables_what_was_disabled(cli: Run) -> None:
    cli("demo")
    cli("device", "disable", "1001")
    cli("account", "disable", "demo")
    cli("demo")
    assert cli("--json", "account", "show", "demo").json()["status"] == "active"
    assert cli("--json", "device", "show", "1001").json()["status"] == "active"


def test_demo_text_output(cli: Run) -> None:
    lines = cli("demo").out.splitlines()
    assert lines[1].split() == ["realm", TEST_REALM]
    assert lines[2].split() == ["registrar", "192.0.2.10:5070", "(udp)"]
    assert [line.split()[:4] for line in lines[3:]] == [
        ["extension", "1001:", "username", "1001"],
        ["extension", "1002:", "username", "1002"],
    ]


def test_demo_migrates_an_empty_database(db_url: str, config_file: Path, switchctl: Any) -> None:
    result = switchctl(["--config", str(config_file), "--database-url", db_url, "--json", "demo"])
    assert result.status == 0, result.err
    assert len(result.json()["credentials"]) == 2
