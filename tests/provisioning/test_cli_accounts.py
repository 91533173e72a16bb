"""``switchctl account ...`` and ``switchctl extension ...`` end to end, in-process."""

from __future__ import annotations

import pytest

from tests.provisioning.conftest import Run, assert_error


def test_account_lifecycle(cli: Run) -> None:
    created = cli("--json", "account", "create", "acme", "--main-number", "(202) 555-0100")
    assert created.status == 0, created.err
    account = created.json()
    assert (account["name"], account["status"], account["main_number"]) == (
        "acme",
        "active",
        "+12025550100",
    )
    cli("account", "create", "globex")

    listed = cli("account", "list", "--json").json()
    assert [a["name"] for a in listed] == ["acme", "globex"]

    by_id = cli("--json", "account", "show", str(account["id"])).json()
    assert by_id == cli("--json", "account", "show", "acme").json()

    updated = cli(
        "--json", "account", "update", "acme", "--name", "acme-corp", "--status", "suspended"
    ).json()
    assert (updated["name"], updated["status"]) == ("acme-corp", "suspended")
    assert updated["updated_at"] > account["updated_at"]

    cleared = cli("--json", "account", "update", "acme-corp", "--main-number", "").json()
    assert cleared["main_number"] is None

    disabled = cli("--json", "account", "disable", "acme-corp").json()
    assert disabled["status"] == "disabled"
    assert cli("--json", "account", "show", "acme-corp").json()["status"] == "disabled"


def test_account_text_output_is_readable(cli: Run) -> None:
    cli("account", "create", "acme")
    out = cli("account", "list").out.splitlines()
    assert out[0].split() == ["ID", "NAME", "STATUS", "MAIN_NUMBER"]
    assert out[1].split()[1:] == ["acme", "active", "-"]


def test_account_errors(cli: Run) -> None:
    assert_error(cli("account", "show", "acme"), "unknown account 'acme'")
    assert_error(cli("account", "disable", "42"), "unknown account '42'")
    cli("account", "create", "acme")
    assert_error(cli("account", "create", "acme"), "account 'acme' already exists")
    cli("account", "create", "globex")
    assert_error(
        cli("account", "update", "globex", "--name", "acme"), "account 'acme' already exists"
    )
    bad = cli("account", "create", "initech", "--main-number", "555-0100")
    assert_error(bad, "malformed number '555-0100': not a valid telephone number")
    assert cli("account", "show", "initech").status == 2  # nothing was created


def test_bad_status_is_a_usage_error(cli: Run) -> None:
    cli("account", "create", "acme")
    result = cli("account", "update", "acme", "--status", "sleeping")
    assert result.status == 2
    assert "invalid choice: 'sleeping'" in result.err


def test_extension_lifecycle(cli: Run) -> None:
    cli("account", "create", "acme")
    cli("account", "create", "globex")
    created = cli("--json", "extension", "create", "acme", "201", "--display-name", "Reception")
    assert created.status == 0, created.err
    assert created.json()["display_name"] == "Reception"
    # The same number in another account is a different extension.
    assert cli("extension", "create", "globex", "201").status == 0
    cli("extension", "create", "acme", "202")

    everything = cli("--json", "extension", "list").json()
    assert [(e["account"], e["number"]) for e in everything] == [
        ("acme", "201"),
        ("acme", "202"),
        ("globex", "201"),
    ]
    only_acme = cli("--json", "extension", "list", "--account", "acme").json()
    assert [e["number"] for e in only_acme] == ["201", "202"]

    shown = cli("--json", "extension", "show", "acme", "201").json()
    assert shown == created.json()

    updated = cli(
        "--json", "extension", "update", "acme", "201", "--number", "200", "--display-name", ""
    ).json()
    assert (updated["number"], updated["display_name"]) == ("200", None)
    assert cli("extension", "show", "acme", "201").status == 2

    disabled = cli("--json", "extension", "disable", "acme", "200").json()
    assert disabled["status"] == "disabled"
    reenabled = cli("--json", "extension", "update", "acme", "200", "--status", "active").json()
    assert reenabled["status"] == "active"


def test_extension_errors(cli: Run) -> None:
    assert_error(cli("extension", "create", "acme", "201"), "unknown account 'acme'")
    cli("account", "create", "acme")
    assert_error(
        cli("extension", "show", "acme", "201"), "unknown extension '201' in account 'acme'"
    )
    cli("extension", "create", "acme", "201")
    assert_error(
        cli("extension", "create", "acme", "201"),
        "extension '201' already exists in account 'acme'",
    )
    cli("extension", "create", "acme", "202")
    assert_error(
        cli("extension", "update", "acme", "202", "--number", "201"),
        "extension '201' already exists in account 'acme'",
    )
    assert_error(
        cli("extension", "create", "acme", "911"),
        "extension number '911' is reserved for emergency calls; nothing may route to it: "
        "instruct callers to hang up and dial 911 themselves",
    )


@pytest.mark.parametrize("position", ["before", "after"])
def test_global_options_work_before_or_after_the_command(cli: Run, position: str) -> None:
    cli("account", "create", "acme")
    argv = ["--json", "account", "list"] if position == "before" else ["account", "list", "--json"]
    assert cli(*argv).json()[0]["name"] == "acme"
