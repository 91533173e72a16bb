"""Schema migrations, database pragmas and the append-only audit log, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from provisioning.audit import Actor, AuditAction, Entity, record
from provisioning.db import Database, current_revision, head_revision, migrate
from provisioning.models import Account, AccountStatus, all_tables
from provisioning.state import current_version

EXPECTED_TABLES = {
    "accounts",
    "extensions",
    "devices",
    "dids",
    "audit_log",
    "registrations",
    "provisioning_state",
}


def test_migrate_creates_schema_and_is_idempotent(db_url: str) -> None:
    assert migrate(db_url) == (None, head_revision())
    assert migrate(db_url) == (head_revision(), head_revision())
    database = Database.from_url(db_url)
    try:
        assert set(inspect(database.engine).get_table_names()) >= EXPECTED_TABLES
        assert current_revision(database) == head_revision()
        with database.reading() as session:
            assert current_version(session) == 0
    finally:
        database.dispose()


def test_migrated_schema_matches_models(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, all_tables()) == []


def test_lookup_columns_are_indexed(db: Database) -> None:
    inspector = inspect(db.engine)

    def indexed(table: str) -> set[str]:
        return {col for ix in inspector.get_indexes(table) for col in ix["column_names"] if col}

    assert "username" in indexed("devices")
    assert "number" in indexed("dids")
    assert "expires_at" in indexed("registrations")


def _audit_row(db: Database) -> None:
    with db.writing() as session:
        record(session, Actor("tester"), AuditAction.CREATE, Entity.ACCOUNT, 1, {"k": 1})


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"]
)
def test_audit_log_refuses_update_and_delete(db: Database, statement: str) -> None:
    _audit_row(db)
    with pytest.raises(DBAPIError, match="append-only"), db.writing() as session:
        session.execute(text(statement))
    with db.reading() as session:
        assert session.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["tester"]


def test_audit_log_refuses_truncate_on_postgresql(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE")
    _audit_row(db)
    with pytest.raises(DBAPIError, match="append-only"), db.writing() as session:
        session.execute(text("TRUNCATE audit_log"))


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.writing() as session:
        session.execute(
            text(
                "INSERT INTO extensions (account_id, number, status, created_at, updated_at) "
                "VALUES (999, '100', 'active', :t, :t)"
            ),
            {"t": datetime.now(UTC).replace(tzinfo=None)},
        )


def test_status_check_constraint(db: Database) -> None:
    with pytest.raises(IntegrityError), db.writing() as session:
        session.execute(
            text(
                "INSERT INTO accounts (name, status, created_at, updated_at) "
                "VALUES ('acme', 'bogus', :t, :t)"
            ),
            {"t": datetime.now(UTC).replace(tzinfo=None)},
        )


def test_sqlite_uses_wal_and_busy_timeout(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 1000
    db.dispose()


def test_timestamps_come_back_as_aware_utc(db: Database) -> None:
    # Written in UTC-5; read back as the same instant in UTC.
    written = datetime(2024, 3, 1, 7, 30, tzinfo=timezone(timedelta(hours=-5)))
    with db.writing() as session:
        session.add(
            Account(
                name="acme", status=AccountStatus.ACTIVE, created_at=written, updated_at=written
            )
        )
    with db.reading() as session:
        account = session.query(Account).one()
        assert account.created_at == written
        assert account.created_at.utcoffset() == timedelta(0)
        assert account.created_at.hour == 12


def test_migrate_command_is_idempotent(db_url: str, switchctl: Any) -> None:
    base = ["--database-url", db_url, "--json"]
    first = switchctl([*base, "migrate"])
    second = switchctl([*base, "migrate"])
    assert first.status == second.status == 0
    assert first.json() == {"before": None, "after": head_revision(), "changed": True}
    assert second.json()["changed"] is False


def test_schema_from_newer_software_is_refused(migrated_url: str, switchctl: Any) -> None:
    db = Database.from_url(migrated_url)
    with db.writing() as session:
        session.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    db.dispose()
    expected = (
        "database schema is at revision ffff, which this version of the software does not "
        "know; upgrade the software"
    )
    for command in ("migrate", "account"):
        argv = ["--database-url", migrated_url, command] + (
            ["list"] if command == "account" else []
        )
        result = switchctl(argv)
        assert (result.status, result.err) == (1, f"switchctl: error: {expected}\n")
