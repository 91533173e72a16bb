"""Log lines: JSON or text, the call context on every line, credentials never written."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning import cli
from switch.config import LogSettings
from switch.logs import bind_log_context, build_handler, log_context, redact

SECRET = "Zebra-Quartz-Mango-73"
REGISTER = (
    "REGISTER sip:test.softswitch SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
    'Authorization: Digest username="alice-201", realm="test.softswitch", '
    'nonce="abc", uri="sip:test.softswitch", response="0123456789abcdef0123456789abcdef"\r\n'
    'Proxy-Authorization: Digest username="alice-201", response="fedcba9876543210"\r\n'
    "Call-ID: a84b4c76e66710\r\n"
    "Content-Length: 0\r\n"
)


class Capture:
    """The switch's real handler on a fresh logger, writing into a string."""

    def __init__(self, fmt: str) -> None:
        self.stream = io.StringIO()
        self.handler = build_handler(LogSettings(level="DEBUG", format=fmt), self.stream)
        self.logger = logging.getLogger(f"tests.logs.{fmt}.{id(self)}")
        self.logger.handlers[:] = [self.handler]
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def entries(self) -> list[dict[str, str]]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def json_log() -> Capture:
    return Capture("json")


@pytest.fixture
def text_log() -> Capture:
    return Capture("text")


def test_json_lines_carry_call_id_and_account_inside_the_context(json_log: Capture) -> None:
    json_log.logger.info("before")
    with log_context(call_id="a84b4c76e66710@pc33", account="acme"):
        json_log.logger.info("routing %s", "INVITE")
    json_log.logger.info("after")
    before, during, after = json_log.entries()
    assert "call_id" not in before and "account" not in before
    assert during["call_id"] == "a84b4c76e66710@pc33" and during["account"] == "acme"
    assert during["msg"] == "routing INVITE" and during["level"] == "info"
    assert during["logger"] == json_log.logger.name
    assert "call_id" not in after


def test_context_learnt_mid_message_lasts_until_the_message_is_done(json_log: Capture) -> None:
    with log_context(call_id="c1"):
        json_log.logger.info("challenge")
        bind_log_context(account="acme")
        json_log.logger.info("authenticated")
    json_log.logger.info("idle")
    first, second, third = json_log.entries()
    assert (first.get("account"), second.get("account")) == (None, "acme")
    assert second["call_id"] == "c1" and "call_id" not in third and "account" not in third


def test_text_lines_show_the_context(text_log: Capture) -> None:
    with log_context(call_id="xyz@host", account=None):
        text_log.logger.warning("no route")
    line = text_log.text.strip()
    assert line.endswith("[call_id=xyz@host]: no route")
    assert " WARNING " in line and "account=" not in line


async def test_concurrent_tasks_keep_their_own_call_id(json_log: Capture) -> None:
    async def handle(call_id: str) -> None:
        with log_context(call_id=call_id):
            json_log.logger.info("start")
            await asyncio.sleep(0)
            json_log.logger.info("end")

    await asyncio.gather(handle("one"), handle("two"))
    by_call: dict[str, list[str]] = {}
    for entry in json_log.entries():
        by_call.setdefault(entry["call_id"], []).append(entry["msg"])
    assert by_call == {"one": ["start", "end"], "two": ["start", "end"]}


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_authorization_values_are_redacted_and_the_rest_kept(fmt: str) -> None:
    capture = Capture(fmt)
    capture.logger.info("received\n%s", REGISTER)
    text = capture.entries()[0]["msg"] if fmt == "json" else capture.text
    assert "0123456789abcdef" not in text and "fedcba9876543210" not in text
    assert 'username="alice-201"' not in text
    assert "Authorization: Digest [redacted]" in text
    assert "Proxy-Authorization: Digest [redacted]" in text
    # Only the credential lines go: the headers after them are still there.
    assert "Call-ID: a84b4c76e66710" in text and "Content-Length: 0" in text


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (f"device update password={SECRET} realm=x", "realm=x"),
        (f"settings: nonce_secret: {SECRET}, port 5060", "port 5060"),
        (f'body {{"username": "alice", "password": "{SECRET}"}}', '"username": "alice"'),
        (f"argv: switchctl device update alice --password {SECRET} --json", "--json"),
        (f"database postgresql+psycopg://switch:{SECRET}@db:5432/sw down", "@db:5432/sw"),
        (f"PASSWORD='{SECRET}' next", "next"),
    ],
)
def test_password_fragments_are_redacted(line: str, kept: str) -> None:
    cleaned = redact(line)
    assert SECRET not in cleaned
    assert "[redacted]" in cleaned and kept in cleaned


def test_exception_text_is_redacted(json_log: Capture) -> None:
    try:
        raise RuntimeError(f"connect failed: password={SECRET}")
    except RuntimeError:
        json_log.logger.exception("database down")
    [entry] = json_log.entries()
    assert "RuntimeError" in entry["exc"] and SECRET not in entry["exc"]


def test_lines_without_credentials_are_unchanged() -> None:
    line = "SIP/2.0 401 Unauthorized from udp:127.0.0.1:5070 (WWW-Authenticate sent)"
    assert redact(line) == line


@pytest.fixture
def everything_logged() -> Iterator[io.StringIO]:
    """The root logger at DEBUG through the switch's handler, with SQLAlchemy's statement
    log on (statements and their parameters), as someone debugging might set it."""
    stream = io.StringIO()
    root = logging.getLogger()
    sql = logging.getLogger("sqlalchemy.engine")
    saved = (root.handlers[:], root.level, sql.level)
    root.handlers[:] = [build_handler(LogSettings(level="DEBUG", format="json"), stream)]
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.handlers[:], root_level, sql_level = saved
        root.setLevel(root_level)
        sql.setLevel(sql_level)


def test_password_given_to_switchctl_never_reaches_the_log(
    tmp_path: Path, everything_logged: io.StringIO
) -> None:
    url = f"sqlite:///{tmp_path / 'switch.db'}"
    base = ["--database-url", url, "--actor", "tester"]
    out, err = io.StringIO(), io.StringIO()
    steps = [
        ["migrate"],
        ["account", "create", "acme"],
        ["extension", "create", "acme", "201"],
        [
            "device",
            "create",
            "acme",
            "201",
            "alice-201",
            "--password",
            SECRET,
            "--location-pending",
        ],
        ["device", "update", "alice-201", "--password", SECRET + "x"],
    ]
    for step in steps:
        assert cli.main([*base, *step], stdout=out, stderr=err) == 0, err.getvalue()
    logged = everything_logged.getvalue()
    # The statements that store the device were logged with their parameters ...
    assert "INSERT INTO devices" in logged and "UPDATE devices" in logged
    # ... and yet the password appears nowhere (only its digests are ever stored).
    assert SECRET not in logged
