"""Failures end with one ``switchctl: error:`` line and a meaningful exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from provisioning.db import migrate
from tests.provisioning.conftest import assert_error


def test_unreachable_postgresql_exits_1(switchctl: Any) -> None:
    result = switchctl(
        ["--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/test", "account", "list"]
    )
    assert result.status == 1
    assert result.out == ""
    assert result.err.startswith("switchctl: error: cannot reach database: ")
    assert result.err.count("\n") == 1


def test_unusable_sqlite_location_exits_1(switchctl: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    result = switchctl(["--database-url", f"sqlite:///{blocker}/x.db", "account", "list"])
    assert result.status == 1
    assert result.err.startswith("switchctl: error: cannot reach database: ")
    assert result.err.count("\n") == 1


def test_invalid_database_url_exits_2(switchctl: Any) -> None:
    result = switchctl(["--database-url", "not a url", "account", "list"])
    assert result.status == 2
    assert result.err.startswith("switchctl: error: invalid database URL")


def test_unmigrated_database_asks_for_migrate(switchctl: Any, db_url: str) -> None:
    assert_error(
        switchctl(["--database-url", db_url, "account", "list"]),
        "database is not initialised; run 'switchctl migrate'",
        status=1,
    )


def test_bad_config_file_exits_2(switchctl: Any, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[sip]\nrealm = 42\nbogus = true\n", encoding="utf-8")
    result = switchctl(["--config", str(config), "account", "list"])
    assert result.status == 2
    assert result.err.startswith("switchctl: error: setting sip.")
    assert result.err.count("\n") == 1


def test_unknown_command_is_an_argparse_error(switchctl: Any) -> None:
    result = switchctl(["account", "explode"])
    assert result.status == 2
    assert "invalid choice: 'explode'" in result.err


def _switchctl_command() -> list[str]:
    script = Path(sys.executable).parent / "switchctl"
    return [str(script)] if script.exists() else [sys.executable, "-m", "provisioning.cli"]


def test_real_process(tmp_path: Path) -> None:
    # Process plumbing (entry point, exit status, streams); both databases are covered
    # in-process. With no URL given, the database is a SQLite file in the data folder.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCH")}
    env |= {"SWITCH_DATA_DIR": str(tmp_path / "var"), "SWITCHCTL_ACTOR": "subprocess"}
    migrate(f"sqlite:///{tmp_path / 'var' / 'softswitch.db'}")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_switchctl_command(), *argv], env=env, capture_output=True, text=True, timeout=60
        )

    created = run("--json", "account", "create", "acme")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["name"] == "acme"

    failed = run("extension", "create", "nope", "201")
    assert (failed.returncode, failed.stdout) == (2, "")
    assert failed.stderr == "switchctl: error: unknown account 'nope'\n"
