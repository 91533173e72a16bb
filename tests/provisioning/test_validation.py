"""Input checks: passwords, numbers, names and the audit actor."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.audit import resolve_actor_name
from provisioning.errors import InvalidInput, InvalidNumber, WeakPassword
from provisioning.validation import (
    check_password,
    generate_password,
    normalise_number,
    password_problem,
    validate_account_name,
    validate_extension_number,
    validate_username,
)


@pytest.mark.parametrize(
    ("password", "username", "extension"),
    [
        ("Sh0rt!pw", "alice", "100"),  # shorter than 10
        ("alice", "alice", "100"),  # equal to the username (and short)
        ("alice-Secret-77", "alice", "100"),  # contains the username
        ("xxALICEyy-Secret", "alice", "100"),  # ... whatever the case
        ("Secret-100-Horse", "alice", "100"),  # contains the extension
        ("83920174655", "alice", "100"),  # digits only, 11 long
        ("Password123", "alice", "100"),  # common
        ("correct horse battery", "alice", "100"),  # spaces
        ("abababababab", "bob", "200"),  # two characters repeated
    ],
)
def test_weak_passwords_are_rejected(password: str, username: str, extension: str) -> None:
    with pytest.raises(WeakPassword, match=r"^weak password: "):
        check_password(password, username, extension)


@pytest.mark.parametrize("password", ["Correct-Horse-Battery-9", "tr0ub4dor&3xyz", "839201746553"])
def test_reasonable_passwords_are_accepted(password: str) -> None:
    assert check_password(password, "alice", "100") == password


usernames = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,10}", fullmatch=True)
extensions = st.from_regex(r"[0-9]{2,6}", fullmatch=True)


@settings(max_examples=50, deadline=None)
@given(username=usernames, extension=extensions)
def test_generated_passwords_pass_the_checks(username: str, extension: str) -> None:
    password = generate_password(username, extension)
    assert password_problem(password, username, extension) is None
    assert len(password) >= 16


def test_generated_passwords_differ() -> None:
    assert len({generate_password("alice", "100") for _ in range(20)}) == 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(415) 555-2671", "+14155552671"),
        ("415.555.2671", "+14155552671"),
        ("+1 415 555 2671", "+14155552671"),
        ("+44 20 7183 8750", "+442071838750"),
    ],
)
def test_numbers_are_normalised_to_e164(text: str, expected: str) -> None:
    assert normalise_number(text) == expected


@pytest.mark.parametrize("text", ["", "hello", "555-0100", "+1 415 555", "12"])
def test_malformed_numbers_are_rejected(text: str) -> None:
    with pytest.raises(InvalidNumber, match=r"^malformed number "):
        normalise_number(text)


@pytest.mark.parametrize("number", ["911", "112", "1a0", "1", "1234567890123456"])
def test_bad_extension_numbers_are_rejected(number: str) -> None:
    with pytest.raises(InvalidInput):
        validate_extension_number(number)


@pytest.mark.parametrize("username", ["al:ice", "al ice", "", "-alice", "a" * 65, "bob@host"])
def test_bad_usernames_are_rejected(username: str) -> None:
    with pytest.raises(InvalidInput):
        validate_username(username)


@pytest.mark.parametrize("name", ["123", "", "acme corp", "a" * 65, "-acme"])
def test_bad_account_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidInput):
        validate_account_name(name)


def test_actor_prefers_option_then_environment_then_os_user() -> None:
    assert resolve_actor_name("carol", {"SWITCHCTL_ACTOR": "dave"}) == "carol"
    assert resolve_actor_name(None, {"SWITCHCTL_ACTOR": "dave"}) == "dave"
    os_user = resolve_actor_name(None, {})
    assert os_user and os_user not in ("carol", "dave")
