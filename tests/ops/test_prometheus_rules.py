"""Alert rules: promtool accepts them, their unit tests pass, and they use real metrics."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest

from tests.ops.assets import PROMETHEUS, exposed_names, names_in

yaml = pytest.importorskip("yaml")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail(
            "promtool is missing: install Debian's 'prometheus' package "
            "(apt-get install prometheus, or deploy/bootstrap.sh dev)"
        )
    return subprocess.run(
        [tool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60, check=False
    )


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", duration))


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    for args in (("check", "rules", "alerts.yml"), ("check", "config", "prometheus.yml")):
        result = promtool(*args)
        assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_pass() -> None:
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_shown_to_fire_and_to_stay_quiet() -> None:
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text(encoding="utf-8"))
    cases = [case for group in tests["tests"] for case in group["alert_rule_test"]]
    fired = {c["alertname"] for c in cases if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    names = {rule["alert"] for rule in rules()}
    assert names - fired == set()
    assert names - quiet == set()


def test_rules_carry_severity_and_operator_text() -> None:
    for rule in rules():
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert rule["annotations"]["description"].strip(), rule["alert"]
        if rule["labels"]["severity"] == "critical":
            # A critical page must not wait: pending at most one minute.
            assert seconds(rule.get("for", "0s")) <= 60, rule["alert"]


def test_the_alerts_an_operator_needs_exist() -> None:
    exprs = {rule["alert"]: rule["expr"] for rule in rules()}
    joined = "\n".join(exprs.values())
    assert 'class="emergency"' in joined
    assert 'notification="failed"' in joined
    assert "softswitch_registrar_registered_devices offset 15m" in joined
    assert "softswitch_cdr_spool_records" in joined
    assert "softswitch_cdr_write_failures_total" in joined
    assert "softswitch_auth_failures_total" in joined
    assert 'level="critical"' in joined
    assert 'up{job="softswitch"} == 0' in joined


def test_alerts_use_only_metrics_the_switch_exposes() -> None:
    used = names_in((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))
    assert used, "no softswitch metric found in alerts.yml"
    assert used - exposed_names() == set()
