"""Alembic environment: runs on the connection handed over by ``provisioning.db.migrate``.

Run from the ``alembic`` command line it falls back to ``sqlalchemy.url`` from
the configuration, so developers can still use ``alembic revision``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from provisioning.db import make_engine
from provisioning.models import all_tables


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=all_tables(),
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
