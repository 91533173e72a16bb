"""``switchctl trace ...``: log every SIP message of one device for a while.

The running switch picks a change up at its next provisioning reload (a couple of
seconds) and stops tracing at ``until`` by itself. Starting and stopping are audited.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.audit import Actor, AuditAction
from provisioning.cli_common import CliContext, command_parser
from provisioning.errors import InvalidInput, NotFound
from provisioning.lookup import find_device
from provisioning.models import AuditEntry
from provisioning.state import bump_version
from provisioning.trace_models import SipTrace

AUDIT_ENTITY = "sip_trace"
DEFAULT_MINUTES = 15
MAX_MINUTES = 240
COLUMNS = ("id", "username", "until", "remaining_seconds", "created_by", "created_at")


def _audit(
    session: Session, actor: Actor, action: AuditAction, trace: SipTrace, **details: Any
) -> None:
    session.add(
        AuditEntry(
            at=datetime.now(UTC),
            actor=actor.name,
            action=action.value,
            entity=AUDIT_ENTITY,
            entity_id=trace.id,
            reason=actor.reason,
            details={"username": trace.username, **details},
        )
    )
    # The switch reloads traces with the rest of provisioning when the version moves.
    bump_version(session)


def start_trace(
    session: Session, actor: Actor, username: str, seconds: int, now: datetime
) -> SipTrace:
    """Trace ``username`` from ``now`` for ``seconds``; the device must exist."""
    device = find_device(session, username)
    trace = SipTrace(
        username=device.username,
        until=now + timedelta(seconds=seconds),
        created_by=actor.name,
        created_at=now,
    )
    session.add(trace)
    session.flush()
    _audit(
        session, actor, AuditAction.CREATE, trace, until=trace.until.isoformat(), seconds=seconds
    )
    return trace


def running_traces(session: Session, now: datetime, username: str | None = None) -> list[SipTrace]:
    query = select(SipTrace).where(SipTrace.until > now).order_by(SipTrace.id)
    if username is not None:
        query = query.where(SipTrace.username == username)
    return list(session.scalars(query))


def stop_trace(session: Session, actor: Actor, username: str, now: datetime) -> list[SipTrace]:
    """End every running trace of ``username`` now."""
    traces = running_traces(session, now, username)
    if not traces:
        raise NotFound(f"no running trace for {username!r}")
    for trace in traces:
        old = trace.until
        trace.until = now
        _audit(
            session,
            actor,
            AuditAction.UPDATE,
            trace,
            until={"old": old.isoformat(), "new": now.isoformat()},
        )
    return traces


def trace_view(trace: SipTrace, now: datetime) -> dict[str, Any]:
    return {
        "id": trace.id,
        "username": trace.username,
        "until": trace.until.isoformat(timespec="seconds"),
        "remaining_seconds": max(0, int((trace.until - now).total_seconds())),
        "created_by": trace.created_by,
        "created_at": trace.created_at.isoformat(timespec="seconds"),
    }


def _duration(args: argparse.Namespace) -> int:
    if args.seconds is not None:
        if not 1 <= args.seconds <= MAX_MINUTES * 60:
            raise InvalidInput(f"--seconds must be between 1 and {MAX_MINUTES * 60}")
        return int(args.seconds)
    minutes = DEFAULT_MINUTES if args.minutes is None else args.minutes
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(f"--minutes must be between 1 and {MAX_MINUTES}")
    return int(minutes) * 60


def _start(ctx: CliContext) -> int:
    seconds = _duration(ctx.args)
    now = datetime.now(UTC)
    with ctx.writing() as session:
        view = trace_view(start_trace(session, ctx.actor(), ctx.args.username, seconds, now), now)
    ctx.emit_record(view, f"tracing {view['username']} until {view['until']}")
    return 0


def _stop(ctx: CliContext) -> int:
    now = datetime.now(UTC)
    with ctx.writing() as session:
        views = [
            trace_view(t, now) for t in stop_trace(session, ctx.actor(), ctx.args.username, now)
        ]
    ctx.emit_record(views[-1], f"stopped tracing {ctx.args.username}")
    return 0


def _list(ctx: CliContext) -> int:
    now = datetime.now(UTC)
    with ctx.reading() as session:
        rows = [trace_view(t, now) for t in running_traces(session, now)]
    ctx.emit_rows(rows, COLUMNS)
    return 0


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("trace", help="log every SIP message of one device for a while")
    sub = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = command_parser(sub, "start", _start, "trace a device's SIP messages in the switch log")
    p.add_argument("username", metavar="USERNAME", help="the device's SIP username")
    duration = p.add_mutually_exclusive_group()
    duration.add_argument(
        "--minutes",
        metavar="N",
        type=_whole_number,
        help=f"how long (default {DEFAULT_MINUTES}, at most {MAX_MINUTES})",
    )
    duration.add_argument(
        "--seconds", metavar="N", type=_whole_number, help="how long, in seconds instead"
    )

    p = command_parser(sub, "stop", _stop, "stop tracing a device now")
    p.add_argument("username", metavar="USERNAME")

    command_parser(sub, "list", _list, "list the traces running now")
