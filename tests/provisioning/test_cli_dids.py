"""``switchctl did ...``: numbers normalised to E.164 and routed to extensions."""

from __future__ import annotations

import pytest

from tests.provisioning.conftest import Run, assert_error


@pytest.fixture
def acme(cli: Run) -> Run:
    cli("account", "create", "acme")
    cli("extension", "create", "acme", "201")
    cli("extension", "create", "acme", "202")
    cli("account", "create", "globex")
    cli("extension", "create", "globex", "300")
    return cli


def test_did_lifecycle(acme: Run) -> None:
    created = acme("--json", "did", "create", "(202) 555-0142", "acme", "--extension", "201")
    assert created.status == 0, created.err
    did = created.json()
    assert (did["number"], did["account"], did["extension"]) == ("+12025550142", "acme", "201")
    acme("did", "create", "+1 202 555 0143", "globex")

    assert [d["number"] for d in acme("--json", "did", "list").json()] == [
        "+12025550142",
        "+12025550143",
    ]
    assert [d["number"] for d in acme("--json", "did", "list", "--account", "globex").json()] == [
        "+12025550143"
    ]
    # Any spelling of the number finds it.
    assert acme("--json", "did", "show", "202.555.0142").json() == did

    moved = acme("--json", "did", "update", "+12025550142", "--extension", "202").json()
    assert moved["extension"] == "202"
    to_account = acme("--json", "did", "update", "+12025550142", "--extension", "").json()
    assert (to_account["extension"], to_account["extension_id"]) == (None, None)
    other = acme(
        "--json", "did", "update", "+12025550142", "--account", "globex", "--extension", "300"
    ).json()
    assert (other["account"], other["extension"]) == ("globex", "300")

    disabled = acme("--json", "did", "disable", "+12025550142").json()
    assert disabled["status"] == "disabled"


def test_did_errors(acme: Run) -> None:
    assert_error(
        acme("did", "create", "555-01", "acme"),
        "malformed number '555-01': not a valid telephone number",
    )
    assert_error(
        acme("did", "create", "call me", "acme"),
        "malformed number 'call me': The string supplied did not seem to be a phone number",
    )
    assert_error(acme("did", "create", "+12025550142", "nope"), "unknown account 'nope'")
    # An extension of another account is not reachable through this account's DID.
    assert_error(
        acme("did", "create", "+12025550142", "acme", "--extension", "300"),
        "unknown extension '300' in account 'acme'",
    )
    acme("did", "create", "+12025550142", "acme")
    assert_error(
        acme("did", "create", "(202) 555-0142", "globex"), "DID '+12025550142' already exists"
    )
    assert_error(acme("did", "show", "+12025550199"), "unknown DID '+12025550199'")
