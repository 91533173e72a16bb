"""The /metrics, /healthz and /readyz endpoint over a real loopback socket."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from switch import metrics_http
from switch.metrics import Metrics
from switch.metrics_http import start_http

ALL_READY = {"transports_bound": True, "database": True, "provisioning_loaded": True}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Endpoint:
    def __init__(self, metrics: Metrics, port: int) -> None:
        self.metrics = metrics
        self.port = port
        self.checks: Mapping[str, bool] = dict(ALL_READY)

    async def raw(self, data: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(data)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return answer

    async def request(self, method: str, path: str, extra: str = "") -> Reply:
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n"
        return parse(await self.raw(head.encode()))


def parse(answer: bytes) -> Reply:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("ascii").split("\r\n")
    headers = {}
    for line in lines:
        name, _, val = line.partition(":")
        headers[name.strip().lower()] = val.strip()
    assert int(headers["content-length"]) == len(body)
    return Reply(int(status_line.split(" ")[1]), headers, body)


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    metrics = Metrics()
    holder: list[Endpoint] = []
    readiness: Callable[[], Mapping[str, bool]] = lambda: holder[0].checks  # noqa: E731
    server = await start_http(metrics, "127.0.0.1", 0, readiness)
    holder.append(Endpoint(metrics, server.sockets[0].getsockname()[1]))
    yield holder[0]
    server.close()
    await server.wait_closed()


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    raise AssertionError(f"{name}{labels} not exposed")


async def test_metrics_are_served_in_prometheus_text_format(endpoint: Endpoint) -> None:
    reply = await endpoint.request("GET", "/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"] == CONTENT_TYPE_LATEST
    assert reply.headers["connection"] == "close"
    names = {f.name for f in text_string_to_metric_families(reply.body.decode())}
    assert {
        "softswitch_sip_requests_received",
        "softswitch_calls",
        "softswitch_build_info",
    } <= names


async def test_counters_move_between_scrapes(endpoint: Endpoint) -> None:
    name = "softswitch_sip_requests_received_total"
    first = (await endpoint.request("GET", "/metrics")).body.decode()
    before = sample(first, name, method="INVITE", transport="udp")
    endpoint.metrics.request("INVITE", "udp")
    endpoint.metrics.request("INVITE", "udp")
    endpoint.metrics.call_setup(1.5)
    text = (await endpoint.request("GET", "/metrics?debug=1")).body.decode()
    assert sample(text, name, method="INVITE", transport="udp") == before + 2
    assert sample(text, "softswitch_call_setup_seconds_count") == 1


async def test_healthz_answers_ok(endpoint: Endpoint) -> None:
    reply = await endpoint.request("GET", "/healthz")
    assert (reply.status, reply.body) == (200, b"ok\n")


async def test_readyz_is_200_when_every_check_passes(endpoint: Endpoint) -> None:
    reply = await endpoint.request("GET", "/readyz")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert json.loads(reply.body) == {"status": "ready", "checks": ALL_READY}


async def test_readyz_is_503_when_a_check_fails(endpoint: Endpoint) -> None:
    endpoint.checks = {**ALL_READY, "database": False}
    reply = await endpoint.request("GET", "/readyz")
    assert reply.status == 503
    body = json.loads(reply.body)
    assert body["status"] == "not ready"
    assert body["checks"]["database"] is False
    assert body["checks"]["transports_bound"] is True


async def test_readyz_is_503_when_the_check_itself_raises(endpoint: Endpoint) -> None:
    class Broken(dict[str, bool]):
        def items(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("database driver exploded")

    endpoint.checks = Broken()
    reply = await endpoint.request("GET", "/readyz")
    assert reply.status == 503
    assert json.loads(reply.body)["status"] == "not ready"
    assert (await endpoint.request("GET", "/healthz")).status == 200


async def test_unknown_path_is_404_and_other_methods_405(endpoint: Endpoint) -> None:
    assert (await endpoint.request("GET", "/admin")).status == 404
    reply = await endpoint.request("POST", "/metrics", "Content-Length: 0\r\n")
    assert reply.status == 405
    assert reply.headers["allow"] == "GET"


async def test_malformed_request_line_is_400(endpoint: Endpoint) -> None:
    assert parse(await endpoint.raw(b"GET /metrics\r\n\r\n")).status == 400
    assert parse(await endpoint.raw(b"GET /metrics SPDY/3\r\n\r\n")).status == 400
    assert parse(await endpoint.raw(b"\xff\xfe / HTTP/1.1\r\n\r\n")).status == 400


async def test_oversize_request_is_refused_and_the_server_keeps_serving(
    endpoint: Endpoint,
) -> None:
    huge = b"GET /metrics HTTP/1.1\r\nX-Padding: " + b"a" * 9000 + b"\r\n\r\n"
    assert parse(await endpoint.raw(huge)).status == 431
    assert (await endpoint.request("GET", "/healthz")).status == 200


async def test_a_head_just_under_the_limit_is_served(endpoint: Endpoint) -> None:
    padding = "a" * (metrics_http.MAX_HEAD_BYTES - 200)
    assert (await endpoint.request("GET", "/healthz", f"X-Padding: {padding}\r\n")).status == 200


async def test_slow_client_gets_408(endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_http, "READ_TIMEOUT", 0.2)
    assert parse(await endpoint.raw(b"GET /metrics HTTP/1.1\r\n")).status == 408


async def test_connections_beyond_the_cap_are_reset_until_a_slot_frees(
    endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics_http, "MAX_CONNECTIONS", 1)
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    writer.write(b"GET /metrics HTTP/1.1\r\n")  # holds the only slot, unfinished
    await writer.drain()
    await asyncio.sleep(0.05)
    try:
        turned_away = await endpoint.raw(b"GET /healthz HTTP/1.1\r\n\r\n")
    except ConnectionResetError:
        turned_away = b""
    assert turned_away == b""
    writer.write(b"\r\n")
    assert parse(await asyncio.wait_for(reader.read(), 5)).status == 200
    writer.close()
    assert (await endpoint.request("GET", "/healthz")).status == 200


async def test_no_label_looks_like_a_phone_number_after_use(endpoint: Endpoint) -> None:
    m = endpoint.metrics
    for text in ("+12025550100", "8005550199", "bob-202", "INVITE", "udp"):
        m.request(text, text)
        m.response_sent(180, text)
        m.response_received(200, text)
        m.dropped(text)
        m.set_connections(text, 1)
        m.registration(text)
        m.auth_failure(text)
        m.set_active_calls(text, 1)
        m.call_ended(text, text)
        m.decision(text, text)
        m.emergency_call(text, text)
        m.detector_alert(text, text)
        m.db_error(text)
    text = (await endpoint.request("GET", "/metrics")).body.decode()
    values = {
        v
        for family in text_string_to_metric_families(text)
        for s in family.samples
        for k, v in s.labels.items()
        if k != "python_version"
    }
    assert "INVITE" in values
    assert [v for v in values if re.search(r"\+?\d{7,}", v)] == []
    assert "bob-202" not in values
