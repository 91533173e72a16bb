"""``switchctl alert ...`` and ``switchctl detect replay``: abuse alerts in operation.

``alert`` lists, shows, explains, acknowledges and lifts the alerts the switch stored;
a lift reaches the running switch at its next provisioning reload. ``detect replay``
runs the detectors over an exported CDR file (``switchctl cdr export``) without
touching the database, so thresholds can be judged on history before acting.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provisioning import alerts
from provisioning.cli_cdr import parse_when
from provisioning.cli_common import CliContext, command_parser, positive_int
from provisioning.errors import InvalidInput
from provisioning.lookup import find_account
from switch.cdr.export import CsvFormatError, format_time, read_csv
from switch.cdr.record import CallRecord
from switch.detect import Alert, DetectConfig, DetectionEngine, DetectorKind

LIST_COLUMNS = ("id", "at", "detector", "level", "subject", "account_id", "state")


# -- alert -------------------------------------------------------------------------------


def _list(ctx: CliContext) -> int:
    args = ctx.args
    with ctx.reading() as session:
        account_id = find_account(session, args.account).id if args.account else None
        wanted = alerts.AlertFilter(
            account_id=account_id,
            detector=DetectorKind(args.detector) if args.detector else None,
            open_only=args.open,
            limit=args.limit,
        )
        rows = [alerts.list_view(a) for a in alerts.list_alerts(session, wanted)]
    ctx.emit_rows(rows, LIST_COLUMNS)
    return 0


def _show(ctx: CliContext) -> int:
    with ctx.reading() as session:
        alert = alerts.find_alert(session, ctx.args.id)
        view = alerts.alert_view(alert, alerts.account_name(session, alert))
    if ctx.as_json:
        ctx.emit_json(view)
        return 0
    evidence = view.pop("evidence")
    ctx.emit_record(view)
    ctx.out.write(f"evidence ({len(evidence)}):\n")
    ctx.out.write("".join(f"  {item}\n" for item in evidence))
    return 0


def _explain(ctx: CliContext) -> int:
    with ctx.reading() as session:
        alert = alerts.find_alert(session, ctx.args.id)
        text = alerts.explain(
            alert, ctx.settings().detect, DetectConfig(), alerts.account_name(session, alert)
        )
        alert_id = alert.id
    if ctx.as_json:
        ctx.emit_json({"id": alert_id, "explanation": text})
    else:
        ctx.out.write(text + "\n")
    return 0


def _ack(ctx: CliContext) -> int:
    now = datetime.now(UTC)
    with ctx.writing() as session:
        alert = alerts.find_alert(session, ctx.args.id)
        alerts.acknowledge(session, ctx.actor(), alert, now)
        view = alerts.alert_view(alert)
    if ctx.as_json:
        ctx.emit_json(view)
    else:
        ctx.out.write(f"acknowledged alert {view['id']} ({view['detector']})\n")
    return 0


def _lift(ctx: CliContext) -> int:
    now = datetime.now(UTC)
    with ctx.writing() as session:
        alert = alerts.find_alert(session, ctx.args.id)
        alerts.lift(session, ctx.actor(), alert, now)
        view = alerts.alert_view(alert)
        restricted = alerts.restricts(alert)
    if ctx.as_json:
        ctx.emit_json({**view, "restricted": restricted})
    elif restricted:
        ctx.out.write(
            f"lifted alert {view['id']} ({view['detector']} on {view['subject_kind']} "
            f"{view['subject_id']}); the switch lifts what it restricted at its next "
            "provisioning reload\n"
        )
    else:
        ctx.out.write(f"lifted alert {view['id']} (it had restricted nothing)\n")
    return 0


# -- detect replay -----------------------------------------------------------------------


def _records(path: Path) -> Iterator[CallRecord]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            yield from read_csv(handle)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    except CsvFormatError as exc:
        raise InvalidInput(f"{path}: {exc}") from exc


def replay_view(alert: Alert) -> dict[str, Any]:
    return {
        "detector": alert.detector.value,
        "level": alert.level.value,
        "subject": str(alert.subject),
        "account_id": alert.account_id,
        "window_start": alerts.epoch_iso(alert.window_start),
        "window_end": alerts.epoch_iso(alert.window_end),
        "figures": dict(alert.figures),
        "evidence": list(alert.evidence),
        "explanation": alert.explanation,
    }


def _replay(ctx: CliContext) -> int:
    args = ctx.args
    start = parse_when(args.start, "--from") if args.start else None
    end = parse_when(args.end, "--to") if args.end else None
    if start is not None and end is not None and end <= start:
        raise InvalidInput("--to must be later than --from")
    records = list(_records(Path(args.file)))
    found = DetectionEngine(DetectConfig()).replay(
        records,
        start=start.timestamp() if start else None,
        end=end.timestamp() if end else None,
    )
    views = [replay_view(alert) for alert in found]
    if ctx.as_json:
        ctx.emit_json(
            {
                "file": args.file,
                "from": format_time(start) or None,
                "to": format_time(end) or None,
                "records": len(records),
                "alerts": views,
            }
        )
        return 0
    for view in views:
        ctx.out.write(
            f"{view['level']:<8}  {view['detector']:<11}  {view['subject']}  "
            f"{view['window_start']} .. {view['window_end']}\n"
        )
        figures = " ".join(f"{k}={v:g}" for k, v in view["figures"].items())
        ctx.out.write(f"  figures: {figures}\n  {view['explanation']}\n")
    ctx.out.write(f"{len(views)} alert(s) over {len(records)} call record(s) in {args.file}\n")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("alert", help="abuse alerts: list, explain, acknowledge, lift")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = command_parser(sub, "list", _list, "list abuse alerts, newest first")
    p.add_argument("--account", metavar="A", help="only this account's alerts (name or id)")
    p.add_argument("--detector", choices=[kind.value for kind in DetectorKind])
    p.add_argument(
        "--open", action="store_true", help="only alerts neither acknowledged nor lifted"
    )
    p.add_argument("--limit", type=positive_int, default=alerts.DEFAULT_LIMIT, metavar="N")

    p = command_parser(sub, "show", _show, "show one alert with its evidence")
    p.add_argument("id", metavar="ID", help="alert id (or the switch's uid)")
    p = command_parser(sub, "explain", _explain, "explain one alert in a paragraph")
    p.add_argument("id", metavar="ID")
    p = command_parser(sub, "ack", _ack, "acknowledge an alert")
    p.add_argument("id", metavar="ID")
    p = command_parser(sub, "lift", _lift, "lift the restrictions an alert caused in the switch")
    p.add_argument("id", metavar="ID")

    group = commands.add_parser("detect", help="abuse detectors over exported call records")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    when = "a date (YYYY-MM-DD) or ISO 8601 time; UTC unless it has an offset"
    p = command_parser(sub, "replay", _replay, "run the detectors over a CDR export (CSV)")
    p.add_argument("file", metavar="FILE.csv", help="a `switchctl cdr export` file")
    p.add_argument("--from", dest="start", metavar="WHEN", help=f"{when}; calls from then on")
    p.add_argument("--to", dest="end", metavar="WHEN", help=f"{when}; calls before then")
