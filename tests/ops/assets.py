"""Paths of the deployment assets and the metric names a fresh switch exposes."""

from __future__ import annotations

import re
from pathlib import Path

from switch.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "softswitch-dashboard.json"

METRIC_NAME = re.compile(r"\bsoftswitch_[a-z0-9_]+")


def exposed_names() -> set[str]:
    """Every sample name (with _total, _bucket, _info, ... suffixes) of a new registry."""
    registry = Metrics().registry
    return {sample.name for family in registry.collect() for sample in family.samples}


def names_in(text: str) -> set[str]:
    return set(METRIC_NAME.findall(text))
