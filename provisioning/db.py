"""Engines, sessions and schema migrations for the provisioning database.

SQLite gets WAL (readers never wait for the writer), enforced foreign keys and
a busy timeout. Its driver's own transaction handling is switched off so that
write transactions can start with ``BEGIN IMMEDIATE``: taking the write lock up
front avoids the deadlock of two readers both trying to upgrade to writers.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session

from provisioning.errors import DatabaseUnavailable, InvalidInput, SchemaOutOfDate

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
# Any constant works; it only has to be the same for every migrating process.
_PG_MIGRATION_LOCK = 0x5F5C7A11
_BEGIN_OPTION = "sqlite_begin"


def parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(f"invalid database URL: {exc}") from exc


def _ensure_sqlite_folder(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    try:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot reach database: {exc}") from exc


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event, not the driver, decide when transactions start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``; extra keyword arguments go to ``create_engine``."""
    parsed = parse_url(url) if isinstance(url, str) else url
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        _ensure_sqlite_folder(parsed)
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise InvalidInput(f"unsupported database URL: {exc}") from exc
    if is_sqlite:
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def describe_failure(exc: BaseException) -> str:
    """The first line of a driver error, without SQLAlchemy's boilerplate."""
    origin = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(origin).splitlines() if line.strip()]
    return lines[0] if lines else type(origin).__name__


@dataclass(slots=True)
class Database:
    """One engine plus the two kinds of unit of work the provisioning code needs."""

    engine: Engine

    @classmethod
    def from_url(cls, url: str | URL, **kwargs: Any) -> Database:
        return cls(make_engine(url, **kwargs))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def probe(self) -> None:
        """Open and close one connection; raise :class:`DatabaseUnavailable` if that fails."""
        try:
            with self.engine.connect():
                pass
        except DBAPIError as exc:
            raise DatabaseUnavailable(f"cannot reach database: {describe_failure(exc)}") from exc

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any exception."""
        bind = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code: no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


def _is_known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except (RevisionError, CommandError):
        return False


def _newer_schema(revision: str) -> SchemaOutOfDate:
    return SchemaOutOfDate(
        f"database schema is at revision {revision}, which this version of the software "
        "does not know; upgrade the software"
    )


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current_schema(db: Database) -> None:
    """Raise :class:`SchemaOutOfDate` unless the database is at the latest migration."""
    current = current_revision(db)
    if current == head_revision():
        return
    if current is None:
        raise SchemaOutOfDate("database is not initialised; run 'switchctl migrate'")
    if not _is_known(current):
        raise _newer_schema(current)
    raise SchemaOutOfDate(
        f"database schema is at revision {current}, expected {head_revision()}; "
        "run 'switchctl migrate'"
    )


def migrate(target: str | URL | Database) -> tuple[str | None, str]:
    """Upgrade the database to the latest revision; returns (before, after). Idempotent."""
    db = target if isinstance(target, Database) else Database.from_url(target)
    try:
        db.probe()
        bind = db.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with bind.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Two processes migrating at once would both try to create the tables.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            before = MigrationContext.configure(connection).get_current_revision()
            if before is not None and not _is_known(before):
                raise _newer_schema(before)
            command.upgrade(alembic_config(connection), "head")
        return before, head_revision()
    finally:
        if db is not target:
            db.dispose()
