"""Checks on operator input: names, extension numbers, phone numbers, SIP usernames
and device passwords."""

from __future__ import annotations

import re
import secrets

import phonenumbers

from provisioning.errors import InvalidInput, InvalidNumber, WeakPassword

DEFAULT_REGION = "US"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
# Digit-only passwords are what SIP scanners brute-force first; allow them only when long.
MIN_DIGITS_ONLY_LENGTH = 12
GENERATED_PASSWORD_LENGTH = 20
# No look-alike characters: generated passwords get read aloud and typed on keypads.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"

_ACCOUNT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,63}")
# RFC 3261 "user" unreserved characters minus escapes; ':' would break HA1's framing.
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~+-]{0,63}")
_EXTENSION = re.compile(r"[0-9]{2,15}")
# Dial strings the switch must route to emergency services, never to a user.
RESERVED_EXTENSIONS = frozenset({"911", "9911", "1911", "99911", "933", "112", "999"})

# The handful that SIP brute-force tools try first; length rules catch the rest.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "0123456789",
        "123456789012",
        "1111111111",
        "0000000000",
        "password123",
        "password1234",
        "passw0rd123",
        "qwertyuiop",
        "qwerty12345",
        "qwerty123456",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "asdfghjkl1",
        "zaq12wsxcde",
        "iloveyou123",
        "administrator",
        "admin12345",
        "changeme123",
        "letmein123",
        "welcome123",
        "sipphone123",
        "voip123456",
        "abcdefghij",
        "abcd123456",
        "abc1234567",
        "trustno1234",
        "football123",
        "baseball123",
        "monkey12345",
        "dragon12345",
        "sunshine123",
        "princess123",
        "superman123",
    }
)


def validate_account_name(name: str) -> str:
    if not _ACCOUNT_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid account name {name!r}: start with a letter; letters, digits, '.', '_', "
            "'-' only; at most 64 characters"
        )
    return name


def validate_extension_number(number: str) -> str:
    if not _EXTENSION.fullmatch(number):
        raise InvalidInput(f"invalid extension number {number!r}: use 2 to 15 digits")
    if number in RESERVED_EXTENSIONS:
        raise InvalidInput(
            f"extension number {number!r} is reserved for emergency calls; nothing may route "
            "to it: instruct callers to hang up and dial 911 themselves"
        )
    return number


def validate_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise InvalidInput(
            f"invalid username {username!r}: letters, digits, '.', '_', '~', '+', '-' only; "
            "at most 64 characters"
        )
    return username


def normalise_number(text: str, region: str = DEFAULT_REGION) -> str:
    """The E.164 form (``+15551234567``) of a telephone number; national forms use ``region``."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        # str() reads "(1) The string supplied did not seem to be a phone number."
        reason = str(exc).split(") ", 1)[-1].rstrip(".")
        raise InvalidNumber(f"malformed number {text!r}: {reason}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"malformed number {text!r}: not a valid telephone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def password_problem(password: str, username: str, extension: str) -> str | None:
    """Why ``password`` is too weak for this device, or None if it is acceptable."""
    lowered = password.lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"shorter than {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"longer than {MAX_PASSWORD_LENGTH} characters"
    if any(not ch.isprintable() or ch.isspace() for ch in password):
        return "contains spaces or control characters"
    if username and username.lower() in lowered:
        return "contains the username"
    if extension and extension in password:
        return "contains the extension number"
    if password.isdigit() and len(password) < MIN_DIGITS_ONLY_LENGTH:
        return f"only digits and shorter than {MIN_DIGITS_ONLY_LENGTH}"
    if lowered in COMMON_PASSWORDS:
        return "a commonly used password"
    if len(set(password)) <= 2:
        return "repeats one or two characters"
    return None


def check_password(password: str, username: str, extension: str) -> str:
    problem = password_problem(password, username, extension)
    if problem is not None:
        raise WeakPassword(f"weak password: {problem}")
    return password


def generate_password(username: str, extension: str) -> str:
    """A random password that passes :func:`check_password` for this device."""
    while True:
        candidate = "".join(
            secrets.choice(_PASSWORD_ALPHABET) for _ in range(GENERATED_PASSWORD_LENGTH)
        )
        if password_problem(candidate, username, extension) is None:
            return candidate
