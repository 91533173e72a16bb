"""Making a database unreachable for one engine, and waiting for the writer to catch up."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from provisioning.db import make_engine


class Outage:
    """While ``down``, every new connection of ``engine`` fails like a refused connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.down = False
        self.hang: threading.Event | None = None
        event.listen(engine, "do_connect", self._connect)

    def _connect(self, dialect: Any, _record: Any, _args: Any, _params: Any) -> None:
        if self.hang is not None:
            self.hang.wait(10)
        if self.down:
            raise dialect.loaded_dbapi.OperationalError("connection refused (simulated)")

    def begin(self) -> None:
        self.down = True
        self.engine.dispose()  # pooled connections would outlive the outage

    def end(self) -> None:
        self.down = False


def writer_engine(url: str, **kwargs: Any) -> Engine:
    """A second engine on the test database, so that checks do not share its fate."""
    return make_engine(url, **kwargs)


def unreachable_engine(url: str, folder: Path) -> Engine:
    """An engine of the same kind whose database cannot be reached at all."""
    if url.startswith("sqlite"):
        # A plain engine does not create the missing folder, so opening the file fails.
        return create_engine(f"sqlite:///{folder / 'missing' / 'switch.db'}")
    return create_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
