"""Run as a child process: records calls while the database is unreachable, forever.

Prints each record id once ``flush`` has returned, i.e. once its operations
are fsync'd in the spool; the parent kills it with SIGKILL at some point.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from sqlalchemy import create_engine

from switch.cdr.writer import CdrWriter

from .records import finished, started


async def record_forever(data_dir: Path) -> None:
    logging.disable(logging.WARNING)  # every flush retries the database and would say so
    engine = create_engine(f"sqlite:///{data_dir / 'missing' / 'switch.db'}")
    writer = CdrWriter(engine, data_dir, retry_initial=60, recover=False)
    number = 0
    while True:
        records = [started(n) for n in range(number, number + 3)]
        number += 3
        for record in records:
            writer.open(record)
            writer.finish(finished(record))
        await writer.flush(timeout=5)
        sys.stdout.write("".join(f"{r.id}\n" for r in records))
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(record_forever(Path(sys.argv[1])))
