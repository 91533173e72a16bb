"""``switchctl alert`` over alerts the detectors raised, and ``switchctl detect replay``
over CDR exports: dialler traffic is reported, an honest office is not."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from provisioning.db import Database
from provisioning.detect_models import AbuseAlert
from provisioning.models import AuditEntry
from provisioning.state import current_version
from switch.cdr.export import write_csv
from switch.cdr.record import CallRecord, Direction, Disposition
from switch.core.guard_store import alert_row
from switch.detect import (
    Alert,
    DetectConfig,
    DetectionEngine,
    DetectorKind,
    Level,
    Subject,
    SubjectKind,
)
from tests.provisioning.conftest import Result, Run, assert_error

START = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # a Tuesday afternoon: business hours
THRESHOLDS = DetectConfig().autodial


@dataclass(frozen=True)
class Office:
    account_id: int
    extension_id: int
    device_id: int


def dialler(office: Office, calls: int, *, start: datetime = START) -> list[CallRecord]:
    """Sequential numbers every 3 s, answered for a second or not at all."""
    records = []
    for n in range(calls):
        begin = start + timedelta(seconds=3 * n)
        answered = n % 3 != 0
        records.append(
            CallRecord(
                call_id=f"dial-{office.extension_id}-{n}",
                start_time=begin,
                direction=Direction.OUTBOUND,
                account_id=office.account_id,
                extension_id=office.extension_id,
                device_id=office.device_id,
                destination=f"+1202555{1000 + n:04d}",
                destination_class="local",
                answer_time=begin + timedelta(seconds=1) if answered else None,
                end_time=begin + timedelta(seconds=2 if answered else 1),
                disposition=Disposition.ANSWERED if answered else Disposition.NO_ANSWER,
            )
        )
    return records


def receptionist(office: Office, calls: int) -> list[CallRecord]:
    """Busy but human: scattered numbers, irregular gaps, conversations of minutes."""
    records, at = [], START
    for n in range(calls):
        at += timedelta(seconds=40 + (n * 37) % 90)
        records.append(
            CallRecord(
                call_id=f"talk-{n}",
                start_time=at,
                direction=Direction.OUTBOUND,
                account_id=office.account_id,
                extension_id=office.extension_id,
                device_id=office.device_id,
                destination=f"+1{(7_035_550_000 + n * 7_919_123) % 10**10:010d}",
                destination_class="domestic_long_distance",
                answer_time=at + timedelta(seconds=8),
                end_time=at + timedelta(seconds=8 + 150 + (n * 53) % 200),
                disposition=Disposition.ANSWERED,
            )
        )
    return records


def write(path: Path, records: list[CallRecord]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_csv(records, handle)
    return path


def store(db: Database, alert: Alert, actions: list[str]) -> int:
    """Insert an alert the way the running switch does."""
    with db.writing() as session:
        row = alert_row(alert, actions, secrets.token_hex(16))
        session.add(row)
        session.flush()
        return row.id


def detected(office: Office) -> list[Alert]:
    """What the real detectors raise over a dialler session of this office."""
    engine = DetectionEngine(DetectConfig())
    found = engine.replay(dialler(office, THRESHOLDS.min_attempts + 10))
    return [a for a in found if a.subject.kind is SubjectKind.EXTENSION]


def ban_alert() -> Alert:
    return Alert(
        DetectorKind.BRUTE_FORCE,
        Level.CRITICAL,
        Subject(SubjectKind.SOURCE, "192.0.2.7"),
        1_772_546_340.0,
        1_772_546_400.0,
        {"failures": 20.0},
        ("alice",),
        "20 failed authentications in 60 s from 192.0.2.7",
    )


def version(db: Database) -> int:
    with db.reading() as session:
        return current_version(session)


def audit_rows(db: Database) -> list[AuditEntry]:
    with db.reading() as session:
        query = select(AuditEntry).where(AuditEntry.entity == "abuse_alert")
        return list(session.scalars(query.order_by(AuditEntry.id)))


@pytest.fixture
def acme(cli: Run) -> Office:
    assert cli("account", "create", "acme").status == 0
    assert cli("account", "create", "globex").status == 0
    account_id = cli("--json", "account", "show", "acme").json()["id"]
    return Office(account_id, 11, 21)


def test_list_filters_by_account_detector_and_state(cli: Run, db: Database, acme: Office) -> None:
    [dial] = [a for a in detected(acme) if a.level is Level.CRITICAL]
    dial_id = store(db, dial, ["restriction 1: throttle extension 11"])
    ban_id = store(db, ban_alert(), ["banned source 192.0.2.7 for 3600 s"])

    rows = cli("--json", "alert", "list").json()
    assert [r["id"] for r in rows] == [ban_id, dial_id]  # newest first
    assert rows[1]["subject"] == f"extension {acme.extension_id}"
    assert {r["state"] for r in rows} == {"open"}
    assert [r["id"] for r in cli("--json", "alert", "list", "--account", "acme").json()] == [
        dial_id
    ]
    assert cli("--json", "alert", "list", "--account", "globex").json() == []
    only_bans = cli("--json", "alert", "list", "--detector", "brute_force").json()
    assert [r["id"] for r in only_bans] == [ban_id]
    assert [r["id"] for r in cli("--json", "alert", "list", "--limit", "1").json()] == [ban_id]

    assert cli("alert", "ack", str(ban_id)).status == 0
    assert [r["id"] for r in cli("--json", "alert", "list", "--open").json()] == [dial_id]
    table = cli("alert", "list").out.splitlines()
    assert table[0].split() == ["ID", "AT", "DETECTOR", "LEVEL", "SUBJECT", "ACCOUNT_ID", "STATE"]
    assert "acknowledged" in table[1] and "open" in table[2]
    assert_error(cli("alert", "list", "--account", "initech"), "unknown account 'initech'")


def test_show_gives_the_evidence_by_id_or_uid(cli: Run, db: Database, acme: Office) -> None:
    [dial] = [a for a in detected(acme) if a.level is Level.CRITICAL]
    alert_id = store(db, dial, ["restriction 1: throttle extension 11"])
    view = cli("--json", "alert", "show", str(alert_id)).json()
    assert view["detector"] == "autodial" and view["level"] == "critical"
    assert view["account"] == "acme"
    assert view["evidence"] == list(dial.evidence)
    assert view["figures"]["attempts"] == dial.figures["attempts"]
    assert view["window_start"].startswith("2026-03-03T14:00:00")
    assert view["window_seconds"] == pytest.approx(dial.window_end - dial.window_start)
    by_uid = cli("--json", "alert", "show", view["uid"]).json()
    assert by_uid["id"] == alert_id

    text = cli("alert", "show", str(alert_id)).out
    assert f"evidence ({len(dial.evidence)}):" in text
    assert f"  {dial.evidence[0]}\n" in text
    assert_error(cli("alert", "show", "999"), "unknown alert '999'")


def test_explain_says_what_was_seen_the_thresholds_and_the_actions(
    cli: Run, db: Database, acme: Office
) -> None:
    [dial] = [a for a in detected(acme) if a.level is Level.CRITICAL]
    alert_id = store(db, dial, ["restriction 1: throttle extension 11 (503, Retry-After 300 s)"])
    text = cli("alert", "explain", str(alert_id)).out
    assert f"Alert {alert_id} (autodial, critical)" in text
    assert "of account acme" in text
    assert dial.explanation.rstrip(".") in text
    assert f"critical at {THRESHOLDS.critical_score}" in text
    assert f"once {THRESHOLDS.min_attempts} attempts" in text
    assert "throttle extension 11" in text
    assert f"switchctl alert lift {alert_id}" in text
    assert "\n" not in text.rstrip("\n")  # one paragraph

    cli("alert", "lift", str(alert_id))
    after = cli("--json", "alert", "explain", str(alert_id)).json()["explanation"]
    assert "Lifted by tester" in after and "switchctl alert lift" not in after

    ban_id = store(db, ban_alert(), [])
    text = cli("alert", "explain", str(ban_id)).out
    assert "20 failures from one source in 60 s ban it for 3600 s" in text
    assert "nothing was restricted" in text


def test_ack_is_audited_once(cli: Run, db: Database, acme: Office) -> None:
    alert_id = store(db, ban_alert(), ["banned source 192.0.2.7 for 3600 s"])
    before = version(db)
    result = cli("--reason", "looked at it", "alert", "ack", str(alert_id))
    assert result.status == 0 and "acknowledged alert" in result.out
    view = cli("--json", "alert", "show", str(alert_id)).json()
    assert view["acknowledged_by"] == "tester" and view["acknowledged_at"]
    assert view["state"] == "acknowledged" and view["lifted_at"] is None
    [entry] = audit_rows(db)
    assert (entry.action, entry.entity_id, entry.actor) == ("update", alert_id, "tester")
    assert entry.reason == "looked at it"
    assert entry.details["acknowledged_by"] == {"old": None, "new": "tester"}
    assert version(db) == before + 1
    again = cli("alert", "ack", str(alert_id))
    assert again.status == 2 and "already acknowledged by tester" in again.err
    assert len(audit_rows(db)) == 1


def test_lift_marks_the_alert_bumps_the_version_and_is_audited(
    cli: Run, db: Database, acme: Office
) -> None:
    [dial] = [a for a in detected(acme) if a.level is Level.CRITICAL]
    alert_id = store(db, dial, ["restriction 4: throttle extension 11"])
    before = version(db)
    result = cli("alert", "lift", str(alert_id), actor="oncall")
    assert result.status == 0
    assert "the switch lifts what it restricted" in result.out
    assert version(db) == before + 1  # the switch reloads, and lifts the throttle
    with db.reading() as session:
        row = session.get(AbuseAlert, alert_id)
        assert row is not None
        assert row.lifted_by == "oncall" and row.lifted_at is not None
    [entry] = audit_rows(db)
    assert entry.details["lifted_by"] == {"old": None, "new": "oncall"}
    assert entry.details["actions"] == ["restriction 4: throttle extension 11"]
    assert entry.details["subject"] == "extension 11"
    again = cli("alert", "lift", str(alert_id))
    assert again.status == 2 and "already lifted by oncall" in again.err
    assert version(db) == before + 1

    warning_id = store(db, ban_alert(), [])
    assert "it had restricted nothing" in cli("alert", "lift", str(warning_id)).out


def test_replay_reports_the_dialler_and_not_the_receptionist(
    cli: Run, tmp_path: Path, acme: Office
) -> None:
    front = Office(acme.account_id, 12, 22)
    records = dialler(acme, 40) + receptionist(front, 60)
    export = write(tmp_path / "calls.csv", records)

    report = cli("--json", "detect", "replay", str(export)).json()
    assert report["records"] == len(records)
    subjects = {(a["detector"], a["subject"]) for a in report["alerts"]}
    assert ("autodial", f"extension {acme.extension_id}") in subjects
    assert not any(a["subject"] == f"extension {front.extension_id}" for a in report["alerts"])
    [critical] = [
        a
        for a in report["alerts"]
        if a["subject"] == f"extension {acme.extension_id}" and a["level"] == "critical"
    ]
    assert critical["figures"]["sequential_share"] >= THRESHOLDS.sequential_share[1]
    assert critical["evidence"][-1].startswith("dial-")

    text = cli("detect", "replay", str(export)).out
    assert f"autodial     extension {acme.extension_id}" in text
    assert "figures: attempts=" in text
    assert text.endswith(f"alert(s) over {len(records)} call record(s) in {export}\n")


def test_replay_keeps_to_the_time_range(cli: Run, tmp_path: Path, acme: Office) -> None:
    export = write(tmp_path / "calls.csv", dialler(acme, 40))
    # The dialling starts at 14:00 and lasts two minutes.
    before = cli("--json", "detect", "replay", str(export), "--to", "2026-03-03T14:00:00").json()
    assert before["alerts"] == [] and before["to"] == "2026-03-03T14:00:00.000Z"
    late = cli("--json", "detect", "replay", str(export), "--from", "2026-03-03T14:01:30").json()
    assert late["alerts"] == []  # too few attempts left for the minimum sample
    whole = cli(
        "--json", "detect", "replay", str(export), "--from", "2026-03-03", "--to", "2026-03-04"
    ).json()
    assert any(a["detector"] == "autodial" for a in whole["alerts"])


def test_replay_refuses_what_is_not_an_export(cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,number\nalice,201\n", encoding="utf-8")
    result = cli("detect", "replay", str(bad))
    assert result.status == 2 and result.err.startswith(f"switchctl: error: {bad}:")
    missing = cli("detect", "replay", str(tmp_path / "missing.csv"))
    assert missing.status == 2 and "cannot read" in missing.err
    export = write(tmp_path / "calls.csv", [])
    result = cli("detect", "replay", str(export), "--from", "2026-03-04", "--to", "2026-03-03")
    assert_error(result, "--to must be later than --from")


def test_replay_needs_no_database(switchctl: Callable[[list[str]], Result], tmp_path: Path) -> None:
    export = write(tmp_path / "calls.csv", dialler(Office(1, 11, 21), 40))
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = switchctl(["--database-url", unreachable, "detect", "replay", str(export)])
    assert result.status == 0, result.err
    assert "autodial" in result.out
