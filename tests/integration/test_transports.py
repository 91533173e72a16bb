"""The switch's transports on real sockets: TLS, IPv6, TCP framing, size limits, idle
connections, where UDP answers go (RFC 3261 §18, RFC 3581) and retransmission absorption.

One switch serves the whole module: UDP+TCP on 127.0.0.1, TLS on 127.0.0.1, UDP+TCP on [::1],
a 1 s stream idle timeout and the smallest allowed message size limit.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from provisioning.models import Registration
from switch.sip.digest_client import build_authorization
from switch.sip.framing import StreamFramer
from switch.sip.message import Response, parse_message
from tests.support.switch_process import REALM, SwitchProcess, free_port, options_probe

ALICE = ("alice-201", "Correct-Horse-Battery-9")
IDLE_TIMEOUT = 1.0
MAX_MESSAGE_SIZE = 1500  # the smallest the settings allow
WAIT = 2.0


def _bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(family, kind) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def _free_port_on_both() -> int:
    """A port free for UDP and TCP on both 127.0.0.1 and ::1."""
    for _ in range(50):
        port = free_port()
        if _bindable("::1", port):
            return port
    raise RuntimeError("no port free on both loopback addresses")


def _make_certificate(folder: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command is needed to make the test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class Ports:
    sip: int  # UDP and TCP on 127.0.0.1 and on ::1, as a dual-stack deployment would use
    tls: int
    v6_only: int  # a further UDP listener on ::1 with a port of its own


@pytest.fixture(scope="module")
def ports() -> Ports:
    sip = _free_port_on_both()
    v6_only = _free_port_on_both()
    return Ports(sip=sip, tls=free_port(), v6_only=v6_only)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def switch(
    tmp_path_factory: pytest.TempPathFactory, ports: Ports, certificate: tuple[Path, Path]
) -> Iterator[SwitchProcess]:
    folder = tmp_path_factory.mktemp("transports")
    process = SwitchProcess(folder, f"sqlite:///{folder / 'switch.db'}", port=ports.sip)
    process.ctl("migrate")
    process.ctl("account", "create", "acme", "--main-number", "+12025550100")
    process.ctl("extension", "create", "acme", "201")
    process.ctl(
        "device", "create", "acme", "201", ALICE[0], "--password", ALICE[1], "--location-pending"
    )
    v4 = f"{process.host}:{process.port}"
    process.extra_env.update(
        {
            "SWITCH_SIP__LISTEN": ",".join(
                [
                    f"udp:{v4}",
                    f"tcp:{v4}",
                    f"tls:{process.host}:{ports.tls}",
                    f"udp:[::1]:{ports.sip}",
                    f"tcp:[::1]:{ports.sip}",
                    f"udp:[::1]:{ports.v6_only}",
                ]
            ),
            "SWITCH_SIP__TLS_CERTIFICATE": str(certificate[0]),
            "SWITCH_SIP__TLS_PRIVATE_KEY": str(certificate[1]),
            "SWITCH_SIP__STREAM_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
            "SWITCH_SIP__MAX_MESSAGE_SIZE": str(MAX_MESSAGE_SIZE),
        }
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


# -- building and reading messages --------------------------------------------------------------


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def sip_request(
    method: str,
    uri: str,
    *,
    via: str,
    user: str = "probe",
    call_id: str | None = None,
    cseq: int = 1,
    branch: str | None = None,
    headers: tuple[str, ...] = (),
) -> bytes:
    """A request whose top Via is ``via`` (e.g. "UDP 127.0.0.1:5062;rport")."""
    branch = branch or f"z9hG4bK{uuid.uuid4().hex}"
    sent_by, _, params = via.partition(";")
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/{sent_by};branch={branch}{';' + params if params else ''}",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{REALM}>;tag={uuid.uuid4().hex[:8]}",
        f"To: <sip:{user}@{REALM}>",
        f"Call-ID: {call_id or uuid.uuid4().hex}",
        f"CSeq: {cseq} {method}",
        *headers,
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def as_response(data: bytes) -> Response:
    message = parse_message(data)
    assert isinstance(message, Response), data
    return message


class StreamReader:
    """Reads whole messages from a TCP or TLS socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._framer = StreamFramer()
        self._ready: list[bytes] = []

    def read(self, timeout: float = WAIT) -> bytes | None:
        """The next message or ping-pong bytes; None on timeout; b"" when the peer closed."""
        deadline = time.monotonic() + timeout
        while not self._ready:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                return None
            if not data:
                return b""
            self._ready += self._framer.feed(data)
        return self._ready.pop(0)

    def response(self, timeout: float = WAIT) -> Response:
        data = self.read(timeout)
        assert data, f"no response (got {data!r})"
        return as_response(data)


def authorization(challenge: Response, method: str, uri: str) -> str:
    """Answer the MD5 challenge of a 401 as alice."""
    offered = challenge.headers.get_all("WWW-Authenticate")
    value = next(v for v in offered if "MD5" in v)
    return "Authorization: " + build_authorization(
        value, method, uri, ALICE[0], ALICE[1], cnonce=uuid.uuid4().hex[:16]
    )


def stored_bindings(switch: SwitchProcess, count: int) -> list[Registration]:
    """The persisted registrations once there are ``count`` (the writer is asynchronous)."""
    engine = create_engine(switch.database_url)
    try:
        deadline = time.monotonic() + 5
        while True:
            with Session(engine) as session:
                rows = list(session.scalars(select(Registration)))
            if len(rows) == count or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)
    finally:
        engine.dispose()


def udp_socket(host: str = "127.0.0.1") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(WAIT)
    return sock


def udp_exchange(sock: socket.socket, data: bytes, target: tuple[str, int]) -> Response:
    sock.sendto(data, target)
    return as_response(sock.recv(65535))


def udp_register(
    sock: socket.socket, target: tuple[str, int], *, via: str, headers: tuple[str, ...]
) -> tuple[Response, bytes]:
    """REGISTER as alice and answer the challenge; the final answer and the bytes of the
    authenticated request."""
    uri = f"sip:{REALM}"
    call_id = uuid.uuid4().hex
    first = udp_exchange(
        sock,
        sip_request("REGISTER", uri, via=via, user=ALICE[0], call_id=call_id, headers=headers),
        target,
    )
    assert first.status == 401
    request = sip_request(
        "REGISTER",
        uri,
        via=via,
        user=ALICE[0],
        call_id=call_id,
        cseq=2,
        headers=(*headers, authorization(first, "REGISTER", uri)),
    )
    return udp_exchange(sock, request, target), request


def register_unbind_all(switch: SwitchProcess) -> None:
    """Remove alice's bindings so each test starts from none."""
    with udp_socket() as sock:
        via = f"UDP 127.0.0.1:{sock.getsockname()[1]};rport"
        done, _ = udp_register(
            sock, (switch.host, switch.port), via=via, headers=("Contact: *", "Expires: 0")
        )
    assert done.status == 200
    assert stored_bindings(switch, 0) == []


# -- TLS ---------------------------------------------------------------------------------------


def test_register_over_tls(
    switch: SwitchProcess, ports: Ports, certificate: tuple[Path, Path]
) -> None:
    register_unbind_all(switch)
    context = ssl.create_default_context(cafile=str(certificate[0]))
    uri = f"sip:{REALM}"
    with (
        socket.create_connection((switch.host, ports.tls), timeout=WAIT) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        local_port = tls.getsockname()[1]
        reader = StreamReader(tls)
        contact = f"Contact: <sip:{ALICE[0]}@127.0.0.1:{local_port};transport=tls>"
        via, call_id = f"TLS 127.0.0.1:{local_port}", uuid.uuid4().hex
        headers: tuple[str, ...] = (contact, "Expires: 600")
        tls.sendall(
            sip_request("REGISTER", uri, via=via, user=ALICE[0], call_id=call_id, headers=headers)
        )
        challenge = reader.response()
        assert challenge.status == 401
        headers += (authorization(challenge, "REGISTER", uri),)
        tls.sendall(
            sip_request(
                "REGISTER", uri, via=via, user=ALICE[0], call_id=call_id, cseq=2, headers=headers
            )
        )
        ok = reader.response()  # on the same connection
        assert ok.status == 200
        [listed] = ok.contacts
        assert str(listed.uri) == f"sip:{ALICE[0]}@127.0.0.1:{local_port};transport=tls"
        [binding] = stored_bindings(switch, 1)
        assert (binding.source_transport, binding.source_host, binding.source_port) == (
            "tls",
            "127.0.0.1",
            local_port,
        )


def test_tls_listener_refuses_a_client_that_does_not_trust_it(
    switch: SwitchProcess, ports: Ports
) -> None:
    context = ssl.create_default_context()  # system roots only: the test certificate fails
    with (
        socket.create_connection((switch.host, ports.tls), timeout=WAIT) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        context.wrap_socket(raw, server_hostname="127.0.0.1")
    assert options_probe(switch.host, switch.port) is not None


# -- IPv6 --------------------------------------------------------------------------------------


def test_options_over_udp_on_ipv6(switch: SwitchProcess, ports: Ports) -> None:
    with udp_socket("::1") as sock:
        port = sock.getsockname()[1]
        # The Via claims another address and port; rport asks for the real ones.
        request = sip_request(
            "OPTIONS", f"sip:[::1]:{ports.sip}", via="UDP [2001:db8::7]:5080;rport"
        )
        answer = udp_exchange(sock, request, ("::1", ports.sip))
    assert answer.status == 200
    via = answer.top_via
    assert via.params.get("received") == "::1"
    assert via.params.get("rport") == str(port)


def test_options_over_tcp_on_ipv6(switch: SwitchProcess, ports: Ports) -> None:
    with socket.create_connection(("::1", ports.sip), timeout=WAIT) as conn:
        port = conn.getsockname()[1]
        uri, via = f"sip:[::1]:{ports.sip}", f"TCP [::1]:{port};rport"
        conn.sendall(sip_request("OPTIONS", uri, via=via))
        answer = StreamReader(conn).response()
    assert answer.status == 200
    assert answer.top_via.params.get("rport") == str(port)
    assert answer.top_via.params.get("received") == "::1"


def test_every_listening_port_counts_as_local(switch: SwitchProcess, ports: Ports) -> None:
    with udp_socket("::1") as sock:
        port = sock.getsockname()[1]
        uri, via = f"sip:[::1]:{ports.v6_only}", f"UDP [::1]:{port};rport"
        request = sip_request("OPTIONS", uri, via=via)
        answer = udp_exchange(sock, request, ("::1", ports.v6_only))
    assert answer.status == 200


def test_register_with_an_ipv6_contact(switch: SwitchProcess, ports: Ports) -> None:
    register_unbind_all(switch)
    with udp_socket("::1") as sock:
        port = sock.getsockname()[1]
        ok, _ = udp_register(
            sock,
            ("::1", ports.sip),
            via=f"UDP [::1]:{port};rport",
            headers=(f"Contact: <sip:{ALICE[0]}@[::1]:{port}>", "Expires: 600"),
        )
    assert ok.status == 200
    assert [str(c.uri) for c in ok.contacts] == [f"sip:{ALICE[0]}@[::1]:{port}"]
    [binding] = stored_bindings(switch, 1)
    assert binding.contact == f"sip:{ALICE[0]}@[::1]:{port}"
    assert (binding.source_transport, binding.source_host, binding.source_port) == (
        "udp",
        "::1",
        port,
    )


# -- TCP framing -------------------------------------------------------------------------------


@pytest.fixture
def tcp(switch: SwitchProcess) -> Iterator[tuple[socket.socket, StreamReader]]:
    with socket.create_connection((switch.host, switch.port), timeout=WAIT) as conn:
        yield conn, StreamReader(conn)


def _options(switch: SwitchProcess, conn: socket.socket, call_id: str | None = None) -> bytes:
    port = conn.getsockname()[1]
    return sip_request(
        "OPTIONS", f"sip:{switch.host}:{switch.port}", via=f"TCP 127.0.0.1:{port}", call_id=call_id
    )


def test_message_split_into_small_writes_is_answered_once(
    switch: SwitchProcess, tcp: tuple[socket.socket, StreamReader]
) -> None:
    conn, reader = tcp
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = _options(switch, conn, call_id="split-1")
    for offset in range(0, len(data), 7):
        conn.sendall(data[offset : offset + 7])
        time.sleep(0.002)
    answer = reader.response()
    assert (answer.status, answer.call_id) == (200, "split-1")
    assert reader.read(timeout=0.3) is None  # nothing more


def test_two_messages_in_one_write_are_both_answered(
    switch: SwitchProcess, tcp: tuple[socket.socket, StreamReader]
) -> None:
    conn, reader = tcp
    pair = _options(switch, conn, call_id="pair-1") + _options(switch, conn, call_id="pair-2")
    conn.sendall(pair)
    answers = [reader.response(), reader.response()]
    assert sorted((a.status, a.call_id) for a in answers) == [(200, "pair-1"), (200, "pair-2")]


def test_keepalive_ping_gets_a_pong_and_the_connection_stays_usable(
    switch: SwitchProcess, tcp: tuple[socket.socket, StreamReader]
) -> None:
    conn, _ = tcp
    conn.sendall(b"\r\n\r\n")
    conn.settimeout(WAIT)
    assert conn.recv(16) == b"\r\n"
    conn.sendall(_options(switch, conn, call_id="after-ping"))
    answer = StreamReader(conn).response()
    assert (answer.status, answer.call_id) == (200, "after-ping")


def test_negative_content_length_closes_the_connection(
    switch: SwitchProcess, tcp: tuple[socket.socket, StreamReader]
) -> None:
    conn, reader = tcp
    conn.sendall(_options(switch, conn).replace(b"Content-Length: 0", b"Content-Length: -5"))
    assert reader.read() == b""
    assert options_probe(switch.host, switch.port) is not None


def _oversize_options(switch: SwitchProcess, via: str) -> bytes:
    padding = "X-Padding: " + "p" * (MAX_MESSAGE_SIZE + 100)
    return sip_request("OPTIONS", f"sip:{switch.host}:{switch.port}", via=via, headers=(padding,))


def test_oversize_datagram_gets_513(switch: SwitchProcess) -> None:
    # deploy/softswitch.example.toml: "Larger messages are answered 513 (UDP)".
    with udp_socket() as sock:
        port = sock.getsockname()[1]
        request = _oversize_options(switch, f"UDP 127.0.0.1:{port};rport")
        assert len(request) > MAX_MESSAGE_SIZE
        answer = udp_exchange(sock, request, (switch.host, switch.port))
    assert answer.status == 513
    assert options_probe(switch.host, switch.port) is not None


def test_oversize_stream_message_closes_the_connection(
    switch: SwitchProcess, tcp: tuple[socket.socket, StreamReader]
) -> None:
    conn, reader = tcp
    port = conn.getsockname()[1]
    conn.sendall(_oversize_options(switch, f"TCP 127.0.0.1:{port}"))
    assert reader.read() == b""
    assert options_probe(switch.host, switch.port) is not None


def test_idle_connection_is_closed_after_the_idle_timeout(switch: SwitchProcess) -> None:
    with socket.create_connection((switch.host, switch.port), timeout=WAIT) as conn:
        reader = StreamReader(conn)
        conn.sendall(_options(switch, conn, call_id="then-idle"))
        assert reader.response().status == 200
        answered = time.monotonic()
        assert reader.read(timeout=IDLE_TIMEOUT + 2) == b""
        assert time.monotonic() - answered >= IDLE_TIMEOUT * 0.9


def test_half_sent_message_is_dropped_with_its_connection(switch: SwitchProcess) -> None:
    """A sender that stalls mid-message holds a connection only until the idle timeout."""
    with socket.create_connection((switch.host, switch.port), timeout=WAIT) as conn:
        data = _options(switch, conn)
        conn.sendall(data[: len(data) // 2])
        reader = StreamReader(conn)
        assert reader.read(timeout=IDLE_TIMEOUT + 2) == b""


# -- where UDP answers go ----------------------------------------------------------------------


def _unanswered(sock: socket.socket) -> bool:
    sock.settimeout(0.3)
    try:
        sock.recv(65535)
    except TimeoutError:
        return True
    return False


def test_rport_answer_goes_to_the_source_port_not_the_via_port(switch: SwitchProcess) -> None:
    with udp_socket() as sender, udp_socket() as via_port_owner:
        via_port = via_port_owner.getsockname()[1]
        request = sip_request(
            "REGISTER", f"sip:{REALM}", via=f"UDP 127.0.0.1:{via_port};rport", user=ALICE[0]
        )
        answer = udp_exchange(sender, request, (switch.host, switch.port))
        assert answer.status == 401
        assert answer.top_via.params.get("rport") == str(sender.getsockname()[1])
        assert _unanswered(via_port_owner)


def test_without_rport_the_answer_goes_to_the_via_port(switch: SwitchProcess) -> None:
    with udp_socket() as sender, udp_socket() as via_port_owner:
        via_port = via_port_owner.getsockname()[1]
        request = sip_request(
            "REGISTER", f"sip:{REALM}", via=f"UDP 127.0.0.1:{via_port}", user=ALICE[0]
        )
        sender.sendto(request, (switch.host, switch.port))
        answer = as_response(via_port_owner.recv(65535))
        assert answer.status == 401
        assert _unanswered(sender)


def test_via_received_written_by_the_sender_does_not_redirect_the_answer(
    switch: SwitchProcess,
) -> None:
    with udp_socket() as sender:
        port = sender.getsockname()[1]
        # A forged received= must not make the switch send elsewhere (reflection).
        request = sip_request(
            "OPTIONS",
            f"sip:{switch.host}:{switch.port}",
            via=f"UDP 127.0.0.1:{port};received=127.0.0.9;rport",
        )
        answer = udp_exchange(sender, request, (switch.host, switch.port))
    assert answer.status == 200
    assert answer.top_via.params.get("received") == "127.0.0.1"


# -- retransmissions ---------------------------------------------------------------------------


def test_retransmitted_register_gets_the_same_answer_and_is_processed_once(
    switch: SwitchProcess,
) -> None:
    register_unbind_all(switch)
    with udp_socket() as sock:
        port = sock.getsockname()[1]
        target = (switch.host, switch.port)
        ok, request = udp_register(
            sock,
            target,
            via=f"UDP 127.0.0.1:{port};rport",
            headers=(f"Contact: <sip:{ALICE[0]}@127.0.0.1:{port}>", "Expires: 600"),
        )
        sock.sendto(request, target)  # the 200 was "lost": the phone sends the same bytes
        again = as_response(sock.recv(65535))
    assert ok.status == 200
    # Processing it twice would give 500 (same Call-ID and CSeq) or 401 (replayed nonce-count).
    assert (again.status, again.to.tag) == (200, ok.to.tag)
    assert again.headers == ok.headers  # the very same response, Date included
    assert len(stored_bindings(switch, 1)) == 1
