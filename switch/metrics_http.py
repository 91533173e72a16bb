"""A tiny HTTP/1.1 server on the switch's own event loop: /metrics, /healthz, /readyz.

It runs beside the SIP traffic, so it never blocks and bounds what a client may cost:
the request head is at most ``MAX_HEAD_BYTES``, it must arrive within
``READ_TIMEOUT`` seconds, connections beyond ``MAX_CONNECTIONS`` are reset unanswered,
and every answer closes the connection (no keep-alive to track).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from http import HTTPStatus

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from switch.metrics import Metrics

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 8192
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MAX_CONNECTIONS = 64
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"

# Names the switch reports under /readyz; the callable may add others.
PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
READINESS_CHECKS = ("transports_bound", "database", "provisioning_loaded")

Readiness = Callable[[], Mapping[str, bool]]


class HttpRequestError(Exception):
    """The client's request cannot be served; ``status`` is the HTTP answer."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: HTTPStatus
    body: bytes
    content_type: str = TEXT
    allow: str | None = None

    @classmethod
    def text(cls, status: HTTPStatus, text: str | None = None) -> HttpResponse:
        return cls(status, ((text or status.phrase) + "\n").encode())

    def encode(self) -> bytes:
        lines = [
            f"HTTP/1.1 {self.status.value} {self.status.phrase}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            "Cache-Control: no-store",
            "Connection: close",
        ]
        if self.allow:
            lines.append(f"Allow: {self.allow}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + self.body


def parse_request_line(head: bytes) -> tuple[str, str]:
    """Method and path (query dropped) of a request head; raises ``HttpRequestError``."""
    line, _, _ = head.partition(b"\r\n")
    try:
        method, target, version = line.decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        raise HttpRequestError(HTTPStatus.BAD_REQUEST, "malformed request line") from None
    if not method.isalpha() or not version.startswith("HTTP/1."):
        raise HttpRequestError(HTTPStatus.BAD_REQUEST, "malformed request line")
    if not target.startswith("/"):
        raise HttpRequestError(HTTPStatus.BAD_REQUEST, "only origin-form targets are served")
    return method, target.partition("?")[0]


def readiness_response(readiness: Readiness) -> HttpResponse:
    """200 when every check passes, else 503; the JSON body lists each check."""
    payload: dict[str, object]
    try:
        checks = {name: bool(ok) for name, ok in readiness().items()}
    except Exception:  # a broken check means "not ready", never a crashed endpoint
        log.exception("readiness check raised")
        payload = {"status": "not ready", "checks": {}, "error": "readiness check raised"}
        ready = False
    else:
        ready = all(checks.values())
        payload = {"status": "ready" if ready else "not ready", "checks": checks}
    status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
    return HttpResponse(status, json.dumps(payload).encode() + b"\n", JSON)


def route(metrics: Metrics, readiness: Readiness, method: str, path: str) -> HttpResponse:
    """The answer to one parsed request."""
    if path not in PATHS:
        return HttpResponse.text(HTTPStatus.NOT_FOUND)
    if method != "GET":
        return HttpResponse(
            HTTPStatus.METHOD_NOT_ALLOWED, b"Method Not Allowed\n", TEXT, allow="GET"
        )
    if path == "/metrics":
        return HttpResponse(HTTPStatus.OK, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
    if path == "/healthz":
        # Answering at all proves the event loop turns.
        return HttpResponse.text(HTTPStatus.OK, "ok")
    return readiness_response(readiness)


class _Server:
    def __init__(self, metrics: Metrics, readiness: Readiness) -> None:
        self._metrics = metrics
        self._readiness = readiness
        self._active = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._active >= MAX_CONNECTIONS:
            # Under a flood, the cheapest answer is none: reset and free the slot at once.
            writer.transport.abort()
            return
        self._active += 1
        try:
            response = await self._answer(reader)
            if response is not None:
                writer.write(response.encode())
                async with asyncio.timeout(WRITE_TIMEOUT):
                    await writer.drain()
        except (ConnectionError, TimeoutError):
            pass  # the client went away or stopped reading: nothing left to tell it
        finally:
            self._active -= 1
            writer.close()
            with suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(WRITE_TIMEOUT):
                    await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> HttpResponse | None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            return HttpResponse.text(HTTPStatus.REQUEST_TIMEOUT)
        except asyncio.LimitOverrunError:
            return HttpResponse.text(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        except asyncio.IncompleteReadError:
            return None  # closed before finishing a request
        try:
            method, path = parse_request_line(head)
        except HttpRequestError as exc:
            return HttpResponse.text(exc.status, str(exc))
        return route(self._metrics, self._readiness, method, path)


async def start_http(
    metrics: Metrics, host: str, port: int, readiness: Readiness
) -> asyncio.Server:
    """Listen on ``host:port`` (port 0 picks one); close the returned server to stop."""
    server = _Server(metrics, readiness)
    # The reader's limit caps the buffered head: readuntil fails beyond it.
    return await asyncio.start_server(server.serve, host, port, limit=MAX_HEAD_BYTES)
