"""The Grafana dashboard: structure, data source variable, and valid PromQL on real metrics."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ops.assets import DASHBOARD, exposed_names, names_in

CONCERNS = (
    "SIP traffic",
    "Registrations",
    "Calls and setup latency",
    "Policy decisions",
    "Detectors",
    "Emergency calls",
    "CDR pipeline",
)
# Grafana's own variables, replaced by plausible values so promtool can parse the queries.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "6h", "$instance": ".*"}


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def expressions() -> list[str]:
    return [t["expr"] for p in panels() for t in p["targets"]]


def test_dashboard_is_a_classic_dashboard_with_a_datasource_variable() -> None:
    data = dashboard()
    assert 36 <= data["schemaVersion"] <= 41
    assert data["uid"] and data["title"]
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"


def test_one_row_per_concern() -> None:
    rows = [p["title"] for p in dashboard()["panels"] if p["type"] == "row"]
    assert [title for title in rows if title in CONCERNS] == list(CONCERNS)


def test_every_panel_queries_through_the_variable() -> None:
    for panel in panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


def test_panels_fit_the_grid_without_overlapping() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in dashboard()["panels"]:
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        cells = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & taken, panel["title"]
        taken |= cells


def test_dashboard_uses_only_metrics_the_switch_exposes() -> None:
    used = names_in("\n".join(expressions()))
    assert len(used) >= 15
    assert used - exposed_names() == set()


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: install Debian's 'prometheus' package")
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for number, expr in enumerate(expressions()):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        lines += [f"      - record: dashboard:query{number}", f"        expr: {json.dumps(expr)}"]
    rules = tmp_path / "dashboard_rules.yml"
    rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [tool, "check", "rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
