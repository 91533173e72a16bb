"""Peers for the E911 tests: the emergency gateway (a SIPp UAS that checks the INVITE),
a webhook receiver and an SMTP sink for Kari's Law notices, and readers for what the
switch wrote (audit rows, location state)."""

from __future__ import annotations

import email
import email.policy
import json
import re
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Session

from e911.geolocation import cid_of, find_part, split_multipart
from e911.pidf import ParsedLocation, parse_pidf_lo
from provisioning.state import current_version
from tests.integration.calls import Traced, callee, explain, trace
from tests.support.sipp import BackgroundSipp, run_sipp
from tests.support.switch_process import SwitchProcess, free_port

WAIT = 8.0  # seconds, for anything the switch does in the background
_RELOADED = re.compile(r"provisioning reloaded at version (\d+)")
_Row = TypeVar("_Row", bound=DeclarativeBase)


# -- the emergency gateway ------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What e911_gateway.xml compares an emergency INVITE with (one injection line)."""

    callback: str
    hno: str
    rd: str
    floor: str = ""
    room: str = ""

    def row(self) -> list[str]:
        return [self.callback, self.hno, self.rd, self.floor, self.room]


def emergency_gateway(folder: Path, port: int, *calls: Expected) -> BackgroundSipp:
    """The E911 provider's SBC on ``port``, taking one call per ``Expected``."""
    return callee(
        "e911_gateway.xml",
        folder,
        port,
        injection=[c.row() for c in calls],
        calls=len(calls),
        timeout=15,
    )


def body_bytes(message: Traced) -> bytes:
    """The body as it was on the wire: the message log's lines back to CRLF."""
    _, _, body = message.text.partition("\n\n")
    return body.replace("\n", "\r\n").encode()


@dataclass(frozen=True)
class LocationByValue:
    location: ParsedLocation
    sdp: bytes


def location_of(invite: Traced) -> LocationByValue:
    """The PIDF-LO the Geolocation header points at, and the SDP beside it."""
    parts = split_multipart(invite.header("Content-Type"), body_bytes(invite))
    cid = cid_of(invite.header("Geolocation"))
    assert cid is not None, invite.header("Geolocation")
    pidf = find_part(parts, content_type="application/pidf+xml", content_id=cid)
    sdp = find_part(parts, content_type="application/sdp")
    assert pidf is not None and sdp is not None, [headers for headers, _ in parts]
    return LocationByValue(parse_pidf_lo(pidf), sdp)


# -- Kari's Law receivers -------------------------------------------------------------------


@dataclass
class _Inbox:
    """Things received by a server thread, waited for by the test."""

    items: list[Any] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def put(self, item: Any) -> None:
        with self.changed:
            self.items.append(item)
            self.changed.notify_all()

    def wait(self, count: int, timeout: float) -> list[Any]:
        """At least ``count`` items (all of them), or fewer once ``timeout`` has passed."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.items) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            return list(self.items)


@dataclass(frozen=True)
class Posted:
    path: str
    content_type: str
    body: dict[str, Any]


class WebhookSink:
    """An HTTP server on loopback that takes JSON POSTs and answers 204."""

    def __init__(self) -> None:
        inbox = self.inbox = _Inbox()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                inbox.put(Posted(self.path, self.headers.get("Content-Type", ""), json.loads(data)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep pytest's output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str = "/e911") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait(self, count: int = 1, timeout: float = WAIT) -> list[Posted]:
        return self.inbox.wait(count, timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: greeting, HELO/EHLO, MAIL, RCPT, DATA."""

    server: _SmtpServer

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        sender, recipients = "", list[str]()
        while line := self.rfile.readline(1000):
            verb = line[:4].decode(errors="replace").upper()
            argument = line[4:].decode(errors="replace").strip()
            if verb in ("HELO", "EHLO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                sender, recipients = argument.partition(":")[2].strip("<> "), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(argument.partition(":")[2].strip("<> "))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                message = self._read_data()
                self.server.inbox.put(Mail(sender, tuple(recipients), message))
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            else:
                self.reply("502 not implemented")

    def _read_data(self) -> EmailMessage:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)  # dot-unstuffing
        parsed = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    inbox: _Inbox


class SmtpSink:
    """A mail server on loopback that keeps every message it is given."""

    def __init__(self) -> None:
        self._server = _SmtpServer(("127.0.0.1", 0), _SmtpHandler)
        self._server.inbox = self.inbox = _Inbox()
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def wait(self, count: int = 1, timeout: float = WAIT) -> list[Mail]:
        return self.inbox.wait(count, timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def notice_sinks() -> Iterator[tuple[WebhookSink, SmtpSink]]:
    webhook, smtp = WebhookSink(), SmtpSink()
    try:
        yield webhook, smtp
    finally:
        webhook.close()
        smtp.close()


# -- what the switch wrote ------------------------------------------------------------------


def rows(
    database_url: str,
    model: type[_Row],
    *,
    until: Callable[[list[_Row]], bool] = bool,
    timeout: float = WAIT,
) -> list[_Row]:
    """Every row of ``model`` by id, once ``until`` holds (or the timeout passes)."""
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with Session(engine, expire_on_commit=False) as session:
                    query = select(model).order_by(*inspect(model).primary_key)
                    found = list(session.scalars(query))
            except (OperationalError, ProgrammingError):
                found = []
            if until(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.1)
    finally:
        engine.dispose()


def wait_reloaded(switch: SwitchProcess, timeout: float = WAIT) -> None:
    """Until the running switch has loaded the provisioning version now in the database."""
    engine = create_engine(switch.database_url)
    try:
        with engine.connect() as connection:
            wanted = current_version(connection)
    finally:
        engine.dispose()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = [int(v) for v in _RELOADED.findall(switch.log_text())]
        if seen and max(seen) >= wanted:
            return
        time.sleep(0.05)
    raise AssertionError(f"switch did not reload provisioning version {wanted}")


def location_state(switch: SwitchProcess, username: str) -> dict[str, Any]:
    shown = switch.ctl_json("location", "show", username)
    assert isinstance(shown, dict)
    return shown


def wait_location(
    switch: SwitchProcess, username: str, state: str, timeout: float = WAIT
) -> dict[str, Any]:
    """The device's location once ``location show`` says ``state``."""
    deadline = time.monotonic() + timeout
    while True:
        shown = location_state(switch, username)
        if shown["state"] == state or time.monotonic() > deadline:
            assert shown["state"] == state, shown
            return shown
        time.sleep(0.1)


def dial_final(
    switch: SwitchProcess, folder: Path, caller: tuple[str, str], dialled: str
) -> Traced:
    """One call that must end in a final failure (e911_uac_final.xml); that response."""
    result = run_sipp(
        "e911_uac_final.xml",
        f"{switch.host}:{switch.port}",
        folder,
        injection=[[caller[0]]],
        auth=caller,
        local_port=free_port(),
        timeout=10,
        rate=100,  # SIPp exits at the end of its rate period: 10 ms, not 1 s
        extra=["-s", dialled],
    )
    assert result.ok, explain(result)
    finals = [m for m in trace(result) if not m.sent and (m.status or 0) >= 200]
    return finals[-1]
