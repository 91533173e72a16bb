from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import database_url
from tests.support.switch_process import SwitchProcess

ALICE = ("alice-201", "Correct-Horse-Battery-9")
BOB = ("bob-202", "Staple-Orbit-Lantern-4")
# The registered E911 address of the test account's site (loopback counts as on site).
HQ_ADDRESS = "1600 Pennsylvania Ave NW, Washington, DC 20500"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


def provision(switch: SwitchProcess) -> SwitchProcess:
    """Account acme, extensions 201/202 and one device each."""
    switch.ctl("migrate")
    switch.ctl("account", "create", "acme", "--main-number", "+12025550100")
    switch.ctl("site", "create", "acme", "hq", "--address", HQ_ADDRESS, "--network", "127.0.0.0/8")
    for (username, password), number in ((ALICE, "201"), (BOB, "202")):
        switch.ctl("extension", "create", "acme", number)
        switch.ctl(
            "device",
            "create",
            "acme",
            number,
            username,
            "--password",
            password,
            "--site",
            "hq",
            "--floor",
            "2",
            "--room",
            number,
        )
    return switch


@pytest.fixture
def provisioned(tmp_path: Path, db_url: str) -> Iterator[SwitchProcess]:
    """A switch (not yet started) with account acme, extensions 201/202 and one device each.

    Whatever a test starts is stopped afterwards, even when the test fails half-way.
    """
    switch = provision(SwitchProcess(tmp_path, db_url))
    try:
        yield switch
    finally:
        switch.stop()


@pytest.fixture
def running(provisioned: SwitchProcess) -> Iterator[SwitchProcess]:
    provisioned.start()
    try:
        yield provisioned
    finally:
        provisioned.stop()
