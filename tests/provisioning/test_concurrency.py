"""Writers running at once (two operators, or a script and the demo) all succeed, and the
provisioning version counts every change exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from provisioning.accounts import create_account, list_accounts
from provisioning.audit import Actor
from provisioning.db import Database
from provisioning.state import current_version

WRITERS = 4
CHANGES_EACH = 5


def test_concurrent_writers_all_commit(migrated_url: str) -> None:
    def writer(index: int) -> None:
        database = Database.from_url(migrated_url)
        try:
            for n in range(CHANGES_EACH):
                with database.writing() as session:
                    # Read first, then write: the pattern that deadlocks without BEGIN IMMEDIATE.
                    list_accounts(session)
                    create_account(session, Actor(f"writer{index}"), f"acct-{index}-{n}")
        finally:
            database.dispose()

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(writer, range(WRITERS)))

    database = Database.from_url(migrated_url)
    try:
        with database.reading() as session:
            assert len(list_accounts(session)) == WRITERS * CHANGES_EACH
            assert current_version(session) == WRITERS * CHANGES_EACH
    finally:
        database.dispose()
