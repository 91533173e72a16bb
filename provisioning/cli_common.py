"""What every ``switchctl`` command handler gets: settings, database, actor and output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy.orm import Session

from provisioning.audit import Actor, resolve_actor_name
from provisioning.db import Database, require_current_schema
from provisioning.errors import InvalidInput
from switch.config import Settings, load_settings

PROG = "switchctl"


@dataclass(slots=True)
class CliContext:
    args: argparse.Namespace
    out: TextIO = field(default_factory=lambda: sys.stdout)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    _settings: Settings | None = None
    _database: Database | None = None

    @property
    def as_json(self) -> bool:
        return bool(self.args.json)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.args.config)
        return self._settings

    def database(self, *, check_schema: bool = True) -> Database:
        """The database, connected once; by default it must be fully migrated."""
        if self._database is None:
            url = self.args.database_url or self.settings().database_url
            database = Database.from_url(url)
            self._database = database
            database.probe()
            if check_schema:
                require_current_schema(database)
        return self._database

    def actor(self) -> Actor:
        return Actor(name=resolve_actor_name(self.args.actor), reason=self.args.reason)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with self.database().writing() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self.database().reading() as session:
            yield session

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()

    # Output ---------------------------------------------------------------

    def emit_json(self, data: object) -> None:
        json.dump(data, self.out, indent=2, sort_keys=False, default=str)
        self.out.write("\n")

    def emit_record(self, view: dict[str, Any], headline: str | None = None) -> None:
        if self.as_json:
            self.emit_json(view)
            return
        if headline:
            self.out.write(headline + "\n")
        width = max(len(key) for key in view)
        for key, value in view.items():
            self.out.write(f"{key.ljust(width)}  {_cell(value)}\n")

    def emit_rows(self, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
        if self.as_json:
            self.emit_json(list(rows))
            return
        self.out.write(render_table(rows, columns))

    def read_password(self, value: str | None) -> str | None:
        """``--password -`` reads the password from standard input (keeps it out of ``ps``)."""
        if value != "-":
            return value
        line = self.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidInput("no password on standard input")
        return line


Handler = Callable[[CliContext], int]


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "".join(line.rstrip() + "\n" for line in lines)


def add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The global options, accepted before or after the subcommand.

    Sub-parsers get them with SUPPRESS defaults so that an option given before
    the subcommand is not reset by the sub-parser's default.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--config",
        metavar="FILE",
        default=default(None),
        help="settings file (TOML); default $SWITCH_CONFIG",
    )
    group.add_argument(
        "--database-url",
        metavar="URL",
        default=default(None),
        help="SQLAlchemy database URL; overrides the settings",
    )
    group.add_argument(
        "--actor",
        metavar="NAME",
        default=default(None),
        help="who is making the change (audit log); default $SWITCHCTL_ACTOR or the OS user",
    )
    group.add_argument(
        "--reason",
        metavar="TEXT",
        default=default(None),
        help="why the change is made (audit log)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="machine-readable JSON output",
    )


def command_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    help_text: str,
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    add_global_options(parser, suppress=True)
    parser.set_defaults(handler=handler)
    return parser


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value
