"""Logging set-up: readable text in development, one JSON object per line in production.

Every line carries the context of the SIP message being handled (``call_id``, ``account``)
when there is one: the dispatcher sets it with :class:`log_context` around each message,
and a handler filter copies it onto each record. Credentials are redacted from every
line: Authorization values, ``password=...`` fragments, ``--password X`` arguments and
passwords inside URLs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import TextIO

from switch.config import LogSettings

CONTEXT_FIELDS = ("call_id", "account")
REDACTED = "[redacted]"

# Cheap test first: most lines hold none of these words and skip the regexes below.
_SUSPECT = re.compile(r"authorization|passw|secret|://", re.IGNORECASE)
_CREDENTIALS = re.compile(r"((?:Proxy-)?Authorization\s*:\s*\S+)[^\r\n]*", re.IGNORECASE)
# key=value, key: value and "key": "value"; keys such as nonce_secret or db_password too.
_SECRET_FIELD = re.compile(
    r"""(["']?[\w-]*(?:password|passwd|secret)["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"'}]+)""",
    re.IGNORECASE,
)
_PASSWORD_FLAG = re.compile(r"(--password\s+)(\S+)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(@)", re.IGNORECASE)

_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("switch_log_context", default=_EMPTY)


def redact(text: str) -> str:
    """``text`` without credentials: Authorization headers keep only their scheme."""
    if _SUSPECT.search(text) is None:
        return text
    text = _CREDENTIALS.sub(rf"\1 {REDACTED}", text)
    text = _SECRET_FIELD.sub(rf"\1{REDACTED}", text)
    text = _PASSWORD_FLAG.sub(rf"\1{REDACTED}", text)
    return _URL_PASSWORD.sub(rf"\1{REDACTED}\3", text)


class log_context:
    """Adds fields to the log context until the block ends; ``None`` values are skipped.

    A class rather than a generator: it runs once per SIP message on the hot path.
    """

    __slots__ = ("_token", "_values")

    def __init__(self, **values: str | None) -> None:
        self._values = values
        self._token: Token[Mapping[str, str]] | None = None

    def __enter__(self) -> None:
        current = _context.get()
        merged = dict(current)
        for key, value in self._values.items():
            if value is not None:
                merged[key] = value
        self._token = _context.set(merged)

    def __exit__(self, *_exc: object) -> None:
        if self._token is not None:
            _context.reset(self._token)
            self._token = None


def bind_log_context(**values: str | None) -> None:
    """Add fields learnt while handling a message (say, the account once authenticated);
    they last until the enclosing :class:`log_context` ends."""
    merged = dict(_context.get())
    merged.update({k: v for k, v in values.items() if v is not None})
    _context.set(merged)


def current_log_context() -> Mapping[str, str]:
    return _context.get()


class ContextFilter(logging.Filter):
    """Copies the current log context onto each record (fields set by the caller win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _context_of(record: logging.LogRecord) -> dict[str, str]:
    found: dict[str, str] = {}
    for key in CONTEXT_FIELDS:
        value = getattr(record, key, None)
        if value is not None:
            found[key] = str(value)
    return found


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [call_id=.. account=..]: message``, credentials redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context = _context_of(record)
        record.context = (
            " [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]" if context else ""
        )
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; redaction happens before encoding, on the plain text."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        entry.update(_context_of(record))
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def build_handler(settings: LogSettings, stream: TextIO | None = None) -> logging.Handler:
    """The switch's log handler: format chosen by ``log.format``, context attached."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    return handler


def setup_logging(settings: LogSettings) -> None:
    root = logging.getLogger()
    root.handlers[:] = [build_handler(settings)]
    root.setLevel(settings.level.upper())
    # Migration chatter is noise at start-up unless someone is debugging.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
