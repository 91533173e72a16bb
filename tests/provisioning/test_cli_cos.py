"""``switchctl cos``, ``callerid``, ``lists load``, ``dialplan check`` and the dialling
options of ``account update``, end to end in-process on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from provisioning.cos import effective_permissions
from provisioning.db import Database, alembic_config
from provisioning.models import Account, CosOverride, Extension
from switch.policy import (
    AccountPermissions,
    AccountStatus,
    CallContext,
    Destination,
    DestinationClass,
    ExtensionPermissions,
    Override,
    evaluate,
)
from tests.provisioning.conftest import TEST_LISTEN, TEST_REALM, Run, assert_error, run_main

LONDON = "011442079460000"
PERMISSIONS = ("international", "high_risk", "premium", "operator_assisted")
HIGH_RISK_CSV = (
    "# operator list\n"
    "country_code,national_prefix,area,label\n"
    "252,,SO,Somalia\n"
    "44,70,GB,UK personal numbers\n"
)


@pytest.fixture
def acme(cli: Run) -> Run:
    """Account acme (main number +12025550100) with extensions 201 and 202."""
    for argv in (
        ("account", "create", "acme", "--main-number", "+12025550100"),
        ("extension", "create", "acme", "201"),
        ("extension", "create", "acme", "202"),
    ):
        assert cli(*argv).status == 0
    return cli


def _audit(cli: Run) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = cli("--json", "audit", "list").json()
    return entries


def test_cos_show_and_set_on_account_and_extension(acme: Run) -> None:
    # A new account and its extensions may call nothing that costs money.
    account = acme("--json", "cos", "show", "acme").json()
    assert {name: account[name] for name in PERMISSIONS} == dict.fromkeys(PERMISSIONS, False)
    assert (account["fraud_lock"], account["caller_id_mode"]) == (False, "replace")
    assert (account["outside_line_prefix"], account["home_area_code"]) == (None, None)
    extension = acme("--json", "cos", "show", "acme", "201").json()
    assert {name: extension[name] for name in PERMISSIONS} == dict.fromkeys(PERMISSIONS, "inherit")
    assert not any(extension[f"effective_{name}"] for name in PERMISSIONS)
    assert (extension["suspended"], extension["fraud_lock"]) == (False, False)

    done = acme("--reason", "ticket 42", "--json", "cos", "set", "acme", "--international", "on")
    assert done.status == 0, done.err
    assert done.json()["international"] is True
    [entry, *_] = _audit(acme)
    assert (entry["actor"], entry["reason"], entry["entity"]) == ("tester", "ticket 42", "account")
    assert entry["details"] == {"international": {"old": False, "new": True}}

    denied = acme("--json", "cos", "set", "acme", "--extension", "201", "--international", "deny")
    assert denied.json()["international"] == "deny"
    assert denied.json()["effective_international"] is False
    sibling = acme("--json", "cos", "show", "acme", "202").json()
    assert sibling["effective_international"] is True
    [entry, *_] = _audit(acme)
    assert entry["entity"] == "extension"
    assert entry["details"] == {"international": {"old": "inherit", "new": "deny"}}

    text_out = acme("cos", "set", "acme", "--premium", "on", "--operator", "on").out
    assert text_out.startswith("updated class of service of account acme\n")
    assert "premium              on\n" in text_out
    assert "operator_assisted    on\n" in text_out

    locked = acme("--json", "cos", "set", "acme", "--extension", "202", "--suspended", "on")
    assert (locked.json()["suspended"], locked.json()["fraud_lock"]) == (True, False)

    # Setting what is already set changes nothing and leaves no audit row.
    before = len(_audit(acme))
    acme("cos", "set", "acme", "--high-risk", "off")
    acme("cos", "set", "acme", "--extension", "201", "--high-risk", "inherit")
    assert len(_audit(acme)) == before


BAD_COS_SET: tuple[tuple[tuple[str, ...], str], ...] = (
    (("--international", "allow"), "--international takes on or off here, not 'allow'"),
    (
        ("--extension", "201", "--high-risk", "on"),
        "--high-risk takes inherit, allow or deny for an extension",
    ),
    (
        ("--extension", "201", "--premium", "allow"),
        "an extension cannot allow premium calls on its own: use inherit or deny, "
        "and enable them for the account",
    ),
    ((), "nothing to change: give at least one setting"),
    (
        ("--suspended", "on"),
        "--suspended is for extensions; suspend an account with "
        "'account update --status suspended'",
    ),
    (("--extension", "299", "--premium", "deny"), "unknown extension '299' in account 'acme'"),
)


def test_cos_set_refuses_bad_input(acme: Run) -> None:
    before = len(_audit(acme))
    for argv, message in BAD_COS_SET:
        assert_error(acme("cos", "set", "acme", *argv), message)
    assert len(_audit(acme)) == before
    assert acme("--json", "cos", "show", "acme", "201").json()["premium"] == "inherit"
    assert_error(acme("cos", "show", "nobody"), "unknown account 'nobody'")
    assert_error(acme("callerid", "list", "nobody"), "unknown account 'nobody'")
    assert_error(acme("dialplan", "check", "nobody", "201", "911"), "unknown account 'nobody'")


_DESTINATIONS = {
    "international": Destination("x", "x", DestinationClass.INTERNATIONAL, international=True),
    "high_risk": Destination(
        "x", "x", DestinationClass.INTERNATIONAL_HIGH_RISK, international=True, high_risk=True
    ),
    "premium": Destination("x", "x", DestinationClass.PREMIUM, premium=True),
    "operator_assisted": Destination("x", "x", DestinationClass.OPERATOR_ASSISTED),
}


def test_effective_permissions_agree_with_the_policy_engine() -> None:
    """``cos show`` must tell operators what the switch will actually decide."""
    for granted, overrides in itertools.product(
        itertools.product([False, True], repeat=4), itertools.product(list(CosOverride), repeat=4)
    ):
        account = Account(**dict(zip(PERMISSIONS, granted, strict=True)))
        extension = Extension(**dict(zip(PERMISSIONS, overrides, strict=True)))
        context = CallContext(
            _DESTINATIONS["international"],
            account_status=AccountStatus.ACTIVE,
            account_permissions=AccountPermissions(*granted),
            extension_permissions=ExtensionPermissions(*(Override(o.value) for o in overrides)),
        )
        shown = effective_permissions(account, extension)
        for name, destination in _DESTINATIONS.items():
            decision = evaluate(replace(context, destination=destination))
            assert shown[name] is decision.allowed, (name, granted, overrides, decision)


def test_account_update_sets_dialling_options(acme: Run) -> None:
    updated = acme(
        "--json",
        "account",
        "update",
        "acme",
        "--caller-id-mode",
        "reject",
        "--outside-line-prefix",
        "9",
        "--home-area-code",
        "212",
        "--fraud-lock",
        "on",
    )
    assert updated.status == 0, updated.err
    view = updated.json()
    assert (view["caller_id_mode"], view["outside_line_prefix"]) == ("reject", "9")
    assert (view["home_area_code"], view["fraud_lock"]) == ("212", True)
    assert acme("--json", "cos", "show", "acme").json()["fraud_lock"] is True
    [entry, *_] = _audit(acme)
    assert set(entry["details"]) == {
        "caller_id_mode",
        "outside_line_prefix",
        "home_area_code",
        "fraud_lock",
    }

    cleared = acme(
        "--json", "account", "update", "acme", "--outside-line-prefix", "", "--home-area-code", ""
    ).json()
    assert (cleared["outside_line_prefix"], cleared["home_area_code"]) == (None, None)
    assert cleared["caller_id_mode"] == "reject"


BAD_DIALLING = (
    (
        "--outside-line-prefix",
        "1",
        "invalid outside-line prefix '1': one or two digits, not starting with 1",
    ),
    (
        "--outside-line-prefix",
        "9x",
        "invalid outside-line prefix '9x': one or two digits, not starting with 1",
    ),
    ("--home-area-code", "911", "invalid home area code '911': a NANP area code such as 212"),
    ("--home-area-code", "12", "invalid home area code '12': a NANP area code such as 212"),
)


def test_account_update_refuses_bad_dialling_options(acme: Run) -> None:
    for option, value, message in BAD_DIALLING:
        assert_error(acme("account", "update", "acme", option, value), message)
    shown = acme("--json", "cos", "show", "acme").json()
    assert (shown["outside_line_prefix"], shown["home_area_code"]) == (None, None)


def test_verified_caller_numbers(acme: Run) -> None:
    added = acme("--json", "callerid", "add", "acme", "(212) 555-0111", "--note", "called back")
    assert added.status == 0, added.err
    assert (added.json()["number"], added.json()["note"]) == ("+12125550111", "called back")
    [entry, *_] = _audit(acme)
    assert entry["details"] == {
        "verified_number": {"old": None, "new": "+12125550111"},
        "note": {"old": None, "new": "called back"},
    }
    assert_error(
        acme("callerid", "add", "acme", "+12125550111"),
        "+12125550111 is already a verified number of account 'acme'",
    )
    acme("account", "create", "globex")
    acme("did", "create", "+12125550199", "globex")
    assert_error(
        acme("callerid", "add", "acme", "+12125550199"),
        "+12125550199 is a DID of account 'globex'",
    )
    listed = acme("--json", "callerid", "list", "acme").json()
    assert [row["number"] for row in listed] == ["+12125550111"]
    assert acme("--json", "cos", "show", "acme").json()["verified_numbers"] == ["+12125550111"]

    removed = acme("callerid", "remove", "acme", "2125550111")
    assert removed.out == "removed verified number +12125550111 from account acme\n"
    assert acme("--json", "callerid", "list", "acme").json() == []
    assert _audit(acme)[0]["details"] == {"verified_number": {"old": "+12125550111", "new": None}}
    assert_error(
        acme("callerid", "remove", "acme", "+12125550111"),
        "+12125550111 is not a verified number of account 'acme'",
    )


def _check(cli: Run, *argv: str) -> dict[str, Any]:
    result = cli("--json", "dialplan", "check", *argv)
    assert result.status == 0, result.err
    view: dict[str, Any] = result.json()
    return view


def test_dialplan_check_follows_class_of_service(acme: Run) -> None:
    refused = _check(acme, "acme", "201", LONDON)
    assert (refused["class"], refused["e164"], refused["region"]) == (
        "international",
        "+442079460000",
        "GB",
    )
    assert (refused["verdict"], refused["rule"], refused["sip_status"]) == (
        "deny",
        "cos.international",
        403,
    )
    assert refused["reason"] == "International Calling Not Enabled"

    acme("cos", "set", "acme", "--extension", "201", "--international", "allow")
    # Enabled, but the account owns no number to send as caller ID yet.
    no_number = _check(acme, "acme", "201", LONDON)
    assert (no_number["rule"], no_number["sip_status"]) == ("callerid.missing", 403)
    acme("did", "create", "+12025550100", "acme")
    allowed = _check(acme, "acme", "201", LONDON, "--caller-id", "+12025550100")
    assert (allowed["verdict"], allowed["rule"], allowed["sip_status"]) == (
        "allow",
        "default.allow",
        None,
    )
    assert (allowed["caller_id_status"], allowed["caller_id_sent"]) == ("owned", "+12025550100")
    spoofed = _check(acme, "acme", "201", LONDON, "--caller-id", "+13105550199")
    assert (spoofed["verdict"], spoofed["rule"]) == ("allow_flagged", "callerid.replaced")
    assert spoofed["caller_id_sent"] == "+12025550100"
    assert _check(acme, "acme", "202", LONDON)["rule"] == "cos.international"

    text_out = acme("dialplan", "check", "acme", "202", LONDON).out
    assert "rule                 cos.international\n" in text_out
    assert "sip_status           403\n" in text_out


def test_dialplan_check_uses_dialling_habits_and_locks(acme: Run) -> None:
    acme("account", "update", "acme", "--outside-line-prefix", "9", "--home-area-code", "212")
    local = _check(acme, "acme", "201", "95550123")
    assert (local["class"], local["e164"]) == ("local", "+12125550123")
    assert _check(acme, "acme", "201", "9011442079460000")["rule"] == "cos.international"
    assert _check(acme, "acme", "201", "9911")["class"] == "emergency"

    # Locks refuse everything but emergency calls.
    acme("cos", "set", "acme", "--extension", "202", "--suspended", "on")
    assert _check(acme, "acme", "202", "2125550123")["rule"] == "extension.suspended"
    assert _check(acme, "acme", "201", "2125550123")["rule"] != "extension.suspended"
    acme("cos", "set", "acme", "--extension", "201", "--fraud-lock", "on")
    assert _check(acme, "acme", "201", "2125550123")["rule"] == "extension.fraud_locked"
    acme("account", "update", "acme", "--fraud-lock", "on")
    locked = _check(acme, "acme", "201", "2125550123")
    assert (locked["rule"], locked["reason"]) == ("account.fraud_locked", "Account Locked")
    emergency = _check(acme, "acme", "202", "911")
    assert (emergency["class"], emergency["verdict"], emergency["rule"]) == (
        "emergency",
        "allow_flagged",
        "emergency",
    )
    assert_error(
        acme("dialplan", "check", "acme", "299", "911"), "unknown extension '299' in account 'acme'"
    )


def _settings_file(folder: Path, high_risk_list: Path | None = None) -> Path:
    path = folder / "listed.toml"
    policy = f'[policy]\nhigh_risk_list = "{high_risk_list.as_posix()}"\n' if high_risk_list else ""
    path.write_text(
        f'data_dir = "{(folder / "var").as_posix()}"\n'
        f'[sip]\nrealm = "{TEST_REALM}"\nlisten = ["{TEST_LISTEN}"]\n' + policy,
        encoding="utf-8",
    )
    return path


def test_lists_load_checks_and_installs_the_file(
    migrated_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mine.csv"
    source.write_text(HIGH_RISK_CSV, encoding="utf-8")
    installed = tmp_path / "var" / "policy" / "high_risk.csv"

    def load(config: Path, *argv: str) -> Any:
        base = ["--config", str(config), "--database-url", migrated_url, "--actor", "ops"]
        return run_main(capsys, [*base, *argv])

    plain = _settings_file(tmp_path)
    loaded = load(
        plain, "--reason", "new carrier list", "lists", "load", "--high-risk", str(source)
    )
    assert loaded.status == 0, loaded.err
    assert loaded.out.splitlines() == [
        f"loaded 2 high_risk entries into {installed}",
        f'  to use it, set policy.high_risk_list = "{installed}" (or '
        "SWITCH_POLICY__HIGH_RISK_LIST) and restart the switch",
    ]
    assert installed.read_text(encoding="utf-8") == HIGH_RISK_CSV
    [entry] = load(plain, "--json", "audit", "list").json()
    assert (entry["actor"], entry["reason"], entry["entity"]) == (
        "ops",
        "new carrier list",
        "policy_list",
    )
    assert entry["details"]["entries"] == 2

    configured = _settings_file(tmp_path, installed)
    again = load(configured, "--json", "lists", "load", "--high-risk", str(source)).json()
    assert [(item["list"], item["entries"], item["in_use"]) for item in again] == [
        ("high_risk", 2, True)
    ]
    # The dry run reads the lists the settings name: +44 70 is now high-risk.
    load(configured, "account", "create", "acme")
    load(configured, "extension", "create", "acme", "201")
    check = load(configured, "--json", "dialplan", "check", "acme", "201", "011447012345678")
    assert check.json()["class"] == "international_high_risk"


def test_lists_load_refuses_a_bad_file_and_keeps_the_old_one(
    migrated_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _settings_file(tmp_path)
    installed = tmp_path / "var" / "policy" / "embargoed.csv"
    installed.parent.mkdir(parents=True)
    installed.write_text("old\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("country_code,national_prefix,area,label\n999,,XX,Nowhere\n", encoding="utf-8")

    def load(*argv: str) -> Any:
        base = ["--config", str(config), "--database-url", migrated_url]
        return run_main(capsys, [*base, "lists", "load", *argv])

    assert_error(
        load("--embargo", str(bad)), f"invalid embargo list: {bad}:2: unknown country code 999"
    )
    assert_error(
        load("--embargo", str(tmp_path / "missing.csv")),
        f"cannot read {tmp_path / 'missing.csv'}: No such file or directory",
    )
    assert_error(load(), "give --high-risk FILE, --embargo FILE or both")
    assert installed.read_text(encoding="utf-8") == "old\n"


def test_upgrade_to_0003_leaves_existing_rows_unprivileged(db_url: str) -> None:
    database = Database.from_url(db_url)
    try:
        with database.engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO accounts (name, status, created_at, updated_at) "
                    "VALUES ('old', 'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO extensions (account_id, number, status, created_at, updated_at) "
                    "VALUES (1, '201', 'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        with database.engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0003")
        with database.engine.connect() as connection:
            account = connection.execute(
                text(
                    "SELECT international, high_risk, premium, operator_assisted, fraud_lock, "
                    "caller_id_mode, outside_line_prefix, home_area_code FROM accounts"
                )
            ).one()
            extension = connection.execute(
                text(
                    "SELECT international, high_risk, premium, operator_assisted, suspended, "
                    "fraud_lock FROM extensions"
                )
            ).one()
        assert [bool(v) for v in account[:5]] == [False] * 5
        assert tuple(account[5:]) == ("replace", None, None)
        assert tuple(extension[:4]) == ("inherit",) * 4
        assert [bool(v) for v in extension[4:]] == [False, False]
    finally:
        database.dispose()
