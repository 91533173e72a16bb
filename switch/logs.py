"""Logging set-up: readable text in development, one JSON object per line in production.

Authorization values are redacted wherever they appear in a log line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

from switch.config import LogSettings

_CREDENTIALS = re.compile(r"((?:Proxy-)?Authorization\s*:\s*\S+)[^\r\n]*", re.IGNORECASE)


def redact(text: str) -> str:
    """Keep the scheme of an Authorization header line, drop everything after it."""
    return _CREDENTIALS.sub(r"\1 [redacted]", text)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "uthorization" in message:
            record.msg, record.args = redact(message), None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("call_id", "account"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(settings: LogSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    # Migration chatter is noise at start-up unless someone is debugging.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
