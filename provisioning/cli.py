"""``switchctl``: the administration command line of the softswitch.

Command and option names are a stable interface: operators script against them.
Bad input ends with one ``switchctl: error: ...`` line on stderr and exit
status 2; a database that cannot be reached or is not migrated exits with 1.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from provisioning import (
    cli_accounts,
    cli_admin,
    cli_cdr,
    cli_cos,
    cli_detect,
    cli_devices,
    cli_dids,
    cli_e911,
    cli_extensions,
    cli_trace,
)
from provisioning.cli_common import PROG, CliContext, add_global_options
from provisioning.db import describe_failure
from provisioning.errors import ProvisioningError
from switch.config import ConfigError

EXIT_OK = 0
EXIT_UNAVAILABLE = 1
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Provision accounts, extensions, devices and DIDs of the softswitch.",
    )
    add_global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_admin.register(commands)
    cli_accounts.register(commands)
    cli_extensions.register(commands)
    cli_devices.register(commands)
    cli_dids.register(commands)
    cli_cdr.register(commands)
    cli_cos.register(commands)
    cli_e911.register(commands)
    cli_trace.register(commands)
    cli_detect.register(commands)
    return parser


@functools.cache
def _parser() -> argparse.ArgumentParser:
    # Parsing does not change a parser; building one costs more than a typical command.
    return build_parser()


def _fail(stderr: TextIO, message: str, status: int) -> int:
    # One line, whatever the driver put in its message.
    stderr.write(f"{PROG}: error: {' '.join(message.split())}\n")
    return status


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run one command; returns the exit status (argparse usage errors exit directly)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    ctx = CliContext(args=args, out=out, stdin=stdin or sys.stdin)
    try:
        status: int = args.handler(ctx)
    except ProvisioningError as exc:
        return _fail(err, str(exc), exc.exit_status)
    except ConfigError as exc:
        return _fail(err, str(exc), EXIT_BAD_INPUT)
    except SQLAlchemyError as exc:
        return _fail(err, f"database error: {describe_failure(exc)}", EXIT_UNAVAILABLE)
    finally:
        ctx.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
