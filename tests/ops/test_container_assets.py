"""Containerfile, compose file and deployment notes (no container engine runs here)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.ops.assets import DASHBOARD, DEPLOY, PROMETHEUS, ROOT

yaml = pytest.importorskip("yaml")

CONTAINERFILE = DEPLOY / "container" / "Containerfile"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return data


def instructions() -> list[tuple[str, str]]:
    text = CONTAINERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def test_image_is_python_311_slim_and_runs_unprivileged() -> None:
    steps = instructions()
    assert all(rest.startswith("python:3.11-slim") for word, rest in steps if word == "FROM")
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_image_checks_its_health_and_exposes_sip_and_metrics() -> None:
    steps = dict(instructions())
    assert "/healthz" in steps["HEALTHCHECK"]
    assert "urllib" in steps["HEALTHCHECK"]
    assert set(steps["EXPOSE"].split()) >= {"5060/udp", "5060/tcp", "9060/tcp"}


def test_image_copies_files_that_exist() -> None:
    for word, rest in instructions():
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _ = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source


def test_compose_runs_the_four_services() -> None:
    services = compose()["services"]
    assert set(services) >= {"softswitch", "postgres", "prometheus", "grafana"}
    build = services["softswitch"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == CONTAINERFILE.resolve()


def test_compose_publishes_sip_and_sets_the_advertised_host() -> None:
    switch = compose()["services"]["softswitch"]
    ports = switch.get("ports", [])
    assert "5060:5060/udp" in ports and "5060:5060/tcp" in ports
    assert "SWITCH_SIP__ADVERTISED_HOST" in switch["environment"]
    assert switch["environment"]["SWITCH_DATABASE__URL"].startswith("postgresql+psycopg://")


def test_compose_mounts_existing_monitoring_files() -> None:
    services = compose()["services"]
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), source
    grafana_mounts = [v.split(":") for v in services["grafana"]["volumes"]]
    dashboard_target = next(t for s, t, *_ in grafana_mounts if s.endswith(DASHBOARD.name))
    provider = compose()["configs"]["grafana-dashboards"]["content"]
    path = re.search(r"path: (\S+)", provider)
    assert path is not None and path.group(1) in dashboard_target
    datasource = compose()["configs"]["grafana-datasource"]["content"]
    assert "type: prometheus" in datasource and "http://prometheus:9090" in datasource


def test_prometheus_scrapes_the_compose_service_on_the_metrics_port() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "softswitch")
    targets = [t for c in job["static_configs"] for t in c["targets"]]
    assert targets == ["softswitch:9060"]
    assert "alerts.yml" in config["rule_files"]


def test_deployment_notes_cover_the_nat_caveat() -> None:
    notes = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for needle in ("network_mode: host", "advertised_host", "systemctl", "docker compose"):
        assert needle in notes, needle
