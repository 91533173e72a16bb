"""`softswitch`: run the switch until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from switch import __version__
from switch.config import ConfigError, Settings, load_settings
from switch.logs import setup_logging

log = logging.getLogger("switch")
# Bounded shutdown: ringing calls and open transactions get this long before the switch exits.
DRAIN_SECONDS = 8.0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="softswitch", description="Run the SIP softswitch.")
    parser.add_argument("--config", help="TOML configuration file (default: $SWITCH_CONFIG)")
    parser.add_argument("--version", action="version", version=f"softswitch {__version__}")
    return parser.parse_args(argv)


async def _serve(settings: Settings) -> None:
    from provisioning.db import migrate
    from switch.core.service import SwitchService

    await asyncio.to_thread(migrate, settings.database_url)
    service = SwitchService(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await service.start()
    log.info("softswitch %s ready on %s", __version__, ", ".join(service.transports.bound))
    await stop.wait()
    log.info("stopping: refusing new calls, finishing the others")
    await service.drain(DRAIN_SECONDS)
    await service.stop()
    log.info("stopped")


def _run(coroutine_factory: object) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine_factory)  # type: ignore[arg-type]
    else:
        uvloop.run(coroutine_factory)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"softswitch: error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log)
    try:
        _run(_serve(settings))
    except OSError as exc:
        print(f"softswitch: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
