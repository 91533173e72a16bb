"""Fixtures for the provisioning tests: every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioning.cli import main
from provisioning.db import Database, migrate
from tests.support.databases import database_url

TEST_REALM = "tests.example.net"
TEST_LISTEN = "udp:192.0.2.10:5070"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file in a folder that does not exist yet, or a fresh
    PostgreSQL schema (skipped when unreachable, failed under CI=true)."""
    with database_url(request.param, tmp_path / "data") as url:
        yield url


@pytest.fixture
def migrated_url(db_url: str) -> str:
    migrate(db_url)
    return db_url


@pytest.fixture
def db(migrated_url: str) -> Iterator[Database]:
    """Direct access to the migrated test database, for checking what the CLI stored."""
    database = Database.from_url(migrated_url)
    yield database
    database.dispose()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "switch.toml"
    path.write_text(
        f'data_dir = "{(tmp_path / "var").as_posix()}"\n'
        "[sip]\n"
        f'realm = "{TEST_REALM}"\n'
        f'listen = ["{TEST_LISTEN}"]\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SWITCH_") and name != "SWITCH_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.delenv("SWITCHCTL_ACTOR", raising=False)


@dataclass(slots=True)
class Result:
    status: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Run = Callable[..., Result]


def assert_error(result: Result, message: str, status: int = 2) -> None:
    """Exactly one ``switchctl: error:`` line on stderr, nothing on stdout."""
    assert (result.status, result.out, result.err) == (status, "", f"switchctl: error: {message}\n")


def run_main(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Result:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse usage errors
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return Result(status, captured.out, captured.err)


@pytest.fixture
def switchctl(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], Result]:
    """Run ``switchctl`` in-process with exactly the given arguments."""
    return lambda argv: run_main(capsys, argv)


@pytest.fixture
def cli(
    migrated_url: str,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Run:
    """Run ``switchctl`` in-process against the migrated test database."""

    def run(*argv: str, stdin: str | None = None, actor: str | None = "tester") -> Result:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        base = ["--config", str(config_file), "--database-url", migrated_url]
        if actor is not None:
            base += ["--actor", actor]
        return run_main(capsys, [*base, *argv])

    return run
