"""Every RFC 4475 and RFC 5118 torture message, sent to the running switch over real sockets.

The vectors live outside the project (``shared/sip-vectors`` beside the repository, or
``$SIP_VECTORS_DIR``); each folder's MANIFEST.md says how to send them and what a compliant
element does. The verdicts below transcribe those manifests; a test checks that every file the
manifests list has one, so a new vector cannot be skipped silently.

UDP messages go from 127.0.0.2 so that answers, which follow the Via (RFC 3261 §18.2.2) to the
packet's source address and the Via port, land on sockets this test owns. Stream messages each
use a fresh TCP connection. After every message a valid OPTIONS must get a 200 within a second.
"""

from __future__ import annotations

import os
import re
import selectors
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pytest

from switch.sip.framing import StreamFramer
from switch.sip.headers import canonical_name
from tests.support.switch_process import SwitchProcess, options_probe

VECTORS = Path(
    os.environ.get("SIP_VECTORS_DIR")
    or Path(__file__).resolve().parents[2].parent / "shared" / "sip-vectors"
)
LOCAL_DOMAINS = "example.com,example.net,example.org,company.com,chair-dnrc.example.com"
SENDER_HOST = "127.0.0.2"
WAIT = 1.0  # seconds an answer may take; silence that long counts as no answer
IDLE_TIMEOUT = 1.0  # the switch's sip.stream_idle_timeout in this module
REPEATS = 2


class Verdict(StrEnum):
    ACCEPT = "accept"  # parsed as well formed: any answer but 400/505
    REJECT = "reject"  # refused with one of ``statuses`` and a reason naming ``fault``
    STATUS = "status"  # one of ``statuses`` (policy answers: 416, 420, 483, 401 ...)
    DISCARD = "discard"  # no answer at all


@dataclass(frozen=True, slots=True)
class Expect:
    verdict: Verdict
    statuses: frozenset[int] = frozenset()
    fault: str = ""  # a word the 400 reason phrase must contain
    tcp: bool = False
    # No answer is also right: the message may be routed on (in-dialog requests) or, for a
    # message whose header section never ends, dropped.
    silence_ok: bool = False
    never: frozenset[int] = frozenset({400, 505})


def accept(*, tcp: bool = False, silence_ok: bool = False, never: tuple[int, ...] = ()) -> Expect:
    return Expect(
        Verdict.ACCEPT, tcp=tcp, silence_ok=silence_ok, never=frozenset({400, 505, *never})
    )


def reject(
    fault: str, *, status: int = 400, tcp: bool = False, also: tuple[int, ...] = ()
) -> Expect:
    return Expect(Verdict.REJECT, frozenset({status, *also}), fault, tcp)


def status(*codes: int, tcp: bool = False) -> Expect:
    return Expect(Verdict.STATUS, frozenset(codes), tcp=tcp)


DISCARD = Expect(Verdict.DISCARD)

# Transcribed from rfc4475/MANIFEST.md and rfc5118/MANIFEST.md ("softswitch expectation").
# LIBERAL cases are pinned to the choice the switch makes, so it stays consistent.
EXPECTED: dict[str, Expect] = {
    # RFC 4475 §3.1.1: valid messages
    "rfc4475/wsinv.dat": accept(silence_ok=True),  # in dialog, Route to another host
    "rfc4475/intmeth.dat": accept(tcp=True),
    "rfc4475/esc01.dat": accept(),
    "rfc4475/escnull.dat": accept(),
    "rfc4475/esc02.dat": accept(tcp=True, never=(200,)),  # not a REGISTER
    "rfc4475/lwsdisp.dat": accept(),
    "rfc4475/longreq.dat": accept(tcp=True),
    "rfc4475/dblreq.dat": accept(),
    "rfc4475/semiuri.dat": accept(),
    "rfc4475/transports.dat": accept(),
    "rfc4475/mpart01.dat": accept(),
    "rfc4475/unreason.dat": DISCARD,
    "rfc4475/noreason.dat": DISCARD,
    # §3.1.2: invalid messages
    "rfc4475/badinv01.dat": reject("Via"),
    "rfc4475/clerr.dat": reject("Content-Length"),
    "rfc4475/ncl.dat": reject("Content-Length"),
    "rfc4475/scalar02.dat": reject("CSeq", tcp=True),
    "rfc4475/scalarlg.dat": Expect(Verdict.DISCARD, tcp=True),
    "rfc4475/quotbal.dat": reject("quoted"),
    "rfc4475/ltgtruri.dat": reject("Request-URI"),
    "rfc4475/lwsruri.dat": reject("Request-"),
    "rfc4475/lwsstart.dat": reject("Request-Line"),
    "rfc4475/trws.dat": reject("Request-Line", tcp=True),
    "rfc4475/escruri.dat": reject("Request-URI"),
    "rfc4475/baddate.dat": accept(),
    "rfc4475/regbadct.dat": reject("Contact"),
    "rfc4475/badaspec.dat": reject("URI"),
    # The archive copy lacks the empty line ending its header section: 400 or silence.
    "rfc4475/baddn.dat": Expect(Verdict.REJECT, frozenset({400}), "empty line", silence_ok=True),
    "rfc4475/variants/baddn-terminated.dat": reject("display name"),
    "rfc4475/badvers.dat": reject("Version", status=505),
    "rfc4475/mismatch01.dat": reject("CSeq"),
    "rfc4475/mismatch02.dat": reject("CSeq", also=(501,)),
    "rfc4475/bigcode.dat": DISCARD,
    # §3.2 transaction layer (LIBERAL: accepted with RFC 2543-style matching)
    "rfc4475/badbranch.dat": accept(),
    # §3.3 application layer
    "rfc4475/insuf.dat": reject("Missing"),
    "rfc4475/unkscm.dat": status(416, tcp=True),
    "rfc4475/novelsc.dat": status(416, 404, tcp=True),
    "rfc4475/unksm2.dat": reject("SIP URI", also=(401,)),
    "rfc4475/bext01.dat": status(420, tcp=True),  # TLS in the RFC; TCP here
    "rfc4475/invut.dat": accept(),
    "rfc4475/regaut01.dat": status(401, tcp=True),
    "rfc4475/multi01.dat": reject("Multiple"),
    "rfc4475/mcl01.dat": reject("Content-Length"),
    "rfc4475/bcast.dat": DISCARD,
    "rfc4475/zeromf.dat": status(483, 200),
    "rfc4475/cparam01.dat": accept(),
    "rfc4475/cparam02.dat": accept(),
    "rfc4475/regescrt.dat": accept(),
    "rfc4475/sdp01.dat": accept(),
    # §3.4 backward compatibility
    "rfc4475/inv2543.dat": accept(),
    # In the archive, cited by no section: a fuzz input (400 or silence).
    "rfc4475/test.dat": Expect(Verdict.REJECT, frozenset({400}), "", silence_ok=True),
    # RFC 5118, wire forms
    "rfc5118/wire/ipv6-good.sip": accept(),
    "rfc5118/wire/ipv6-bad.sip": reject("Request-URI"),
    "rfc5118/wire/port-ambiguous.sip": accept(),
    "rfc5118/wire/port-unambiguous.sip": accept(),
    "rfc5118/wire/via-received-param-with-delim.sip": accept(silence_ok=True),  # BYE, routed
    "rfc5118/wire/via-received-param-no-delim.sip": accept(),
    "rfc5118/wire/ipv6-in-sdp.sip": accept(),
    "rfc5118/wire/mult-ip-in-header.sip": accept(silence_ok=True),  # BYE, routed
    "rfc5118/wire/mult-ip-in-sdp.sip": accept(),
    "rfc5118/wire/ipv4-mapped-ipv6.sip": accept(),
    "rfc5118/wire/ipv6-bug-abnf-3-colons.sip": accept(),
    "rfc5118/wire/ipv6-correct-abnf-2-colons.sip": accept(),
}

# -- reading the raw messages (many do not parse, so by pattern) -------------------------------

_FOLD = re.compile(rb"\r?\n[ \t]+")
_TOP_VIA = re.compile(rb"^(?:via|v)[ \t]*:([^\r\n]*)", re.I | re.M)
_CALL_ID = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*([^\s]+)", re.I | re.M)
_SENT_BY = re.compile(
    rb"SIP\s*/\s*[0-9.]+\s*/\s*[A-Za-z]+\s+(\[[^\]]*\]|[^\s:;,]+)(?:\s*:\s*([0-9]+))?"
)
_BRANCH = re.compile(rb";\s*branch\s*=\s*([^;,\s]+)", re.I)


@dataclass(frozen=True, slots=True)
class Answer:
    """A response as it came back. Read loosely: an answer to a broken request may lack
    headers that a strict parser requires (the switch copies only what parsed)."""

    status: int
    reason: str
    fields: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, data: bytes) -> Answer | None:
        head = _FOLD.sub(b" ", data.split(b"\r\n\r\n", 1)[0]).decode("utf-8", "replace")
        start, *lines = head.split("\r\n")
        match = re.fullmatch(r"SIP/2\.0 ([1-6][0-9][0-9]) ?(.*)", start)
        if match is None:
            return None
        fields = []
        for line in lines:
            name, _, value = line.partition(":")
            fields.append((canonical_name(name.strip()), value.strip()))
        return cls(int(match[1]), match[2], tuple(fields))

    def get_all(self, name: str) -> list[str]:
        return [value for field_name, value in self.fields if field_name == name]

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None

    @property
    def branch(self) -> str | None:
        via = self.get("Via")
        match = _BRANCH.search(via.split(",", 1)[0].encode()) if via else None
        return match.group(1).decode() if match else None


@dataclass(slots=True)
class Vector:
    name: str
    data: bytes
    expect: Expect
    call_id: str | None
    branch: str | None
    reply_port: int | None  # where a UDP answer goes when it follows the Via port; None: rport
    method: str | None  # from CSeq
    # Method, branch and sent-by: what a server matches transactions on (RFC 3261 §17.2.3).
    transaction: tuple[str, str, str] | None
    # An earlier vector with the same transaction key: the switch rightly takes this one for
    # its retransmission and repeats that answer (the corpus reuses branches across files).
    same_transaction_as: Vector | None = None

    @classmethod
    def load(cls, name: str, expect: Expect) -> Vector:
        data = (VECTORS / name).read_bytes()
        head = _FOLD.sub(b" ", data.split(b"\r\n\r\n", 1)[0])
        via = _TOP_VIA.search(head)
        top = via.group(1).split(b",", 1)[0] if via else b""
        sent_by = _SENT_BY.search(top)
        branch = _BRANCH.search(top)
        call_id = _CALL_ID.search(head)
        port: int | None = 5060
        if re.search(rb";\s*rport", top):
            port = None
        elif sent_by and sent_by.group(2):
            port = int(sent_by.group(2))
        cseq = re.search(rb"^cseq[ \t]*:[ \t]*[0-9]+[ \t]+(\S+)", head, re.I | re.M)
        method = cseq.group(1).decode("utf-8", "replace") if cseq else None
        key = None
        if branch and sent_by and method:
            sent_by_text = sent_by.group(0).split()[-1].decode("utf-8", "replace")
            key = (method.lower(), branch.group(1).decode("utf-8", "replace").lower(), sent_by_text)
        return cls(
            name,
            data,
            expect,
            call_id.group(1).decode("utf-8", "replace") if call_id else None,
            branch.group(1).decode("utf-8", "replace") if branch else None,
            port,
            method,
            key,
        )

    def answered_by(self, answer: Answer) -> bool:
        """Whether ``answer`` is for this message (same Call-ID and top Via branch)."""
        if self.same_transaction_as is not None and self.same_transaction_as.answered_by(answer):
            return True
        if self.call_id is None and self.branch is None:
            return False
        if self.call_id is not None and answer.get("Call-ID") != self.call_id:
            return False
        return self.branch is None or answer.branch == self.branch


@dataclass
class Outcome:
    vector: Vector
    answers: list[Answer] = field(default_factory=list)
    probe_ok: bool = True
    # Sent before in this switch's life. An INVITE sent again on a new stream connection is
    # then a retransmission whose answer belongs to the first connection (RFC 3261 §18.2.2)
    # while that transaction waits for the ACK this checker never sends.
    repeat: bool = False

    @property
    def silence_ok(self) -> bool:
        vector = self.vector
        resent_invite = self.repeat and vector.expect.tcp and vector.method == "INVITE"
        return vector.expect.silence_ok or resent_invite

    def problems(self) -> list[str]:
        expect = self.vector.expect
        statuses = [r.status for r in self.answers]
        final = next((r for r in self.answers if r.status >= 200), None)
        answer = final or (self.answers[0] if self.answers else None)
        found: list[str] = []
        if not self.probe_ok:
            found.append("the OPTIONS probe after it got no 200 within 1 s")
        if expect.verdict is Verdict.DISCARD:
            if self.answers:
                found.append(f"expected no answer, got {statuses}")
            return found
        if answer is None:
            if not self.silence_ok:
                found.append("no answer within 1 s")
            return found
        if expect.verdict is Verdict.ACCEPT:
            bad = [s for s in statuses if s in expect.never]
            if bad:
                found.append(f"must be accepted, got {bad} ({answer.reason!r})")
        elif final is None or final.status not in expect.statuses:
            found.append(f"expected {sorted(expect.statuses)}, got {statuses}")
        elif expect.verdict is Verdict.REJECT and final.status == 400:
            reason = final.reason
            if reason == "Bad Request" or expect.fault.lower() not in reason.lower():
                found.append(f"400 reason {reason!r} does not name the fault ({expect.fault})")
        return found


# -- the wire --------------------------------------------------------------------------------


class Wire:
    """UDP sockets on 127.0.0.2 (one per Via port answers may go to) and TCP connections."""

    def __init__(self, switch: SwitchProcess) -> None:
        self.target = (switch.host, switch.port)
        self.selector = selectors.DefaultSelector()
        self._udp: dict[int, socket.socket] = {}
        self.received: list[Answer] = []  # every datagram that came back, in order

    def close(self) -> None:
        for sock in self._udp.values():
            self.selector.unregister(sock)
            sock.close()
        self.selector.close()

    def udp_socket(self, port: int | None) -> socket.socket:
        key = port or 0
        sock = self._udp.get(key)
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((SENDER_HOST, key))
            except OSError as exc:
                sock.close()
                pytest.fail(f"cannot bind {SENDER_HOST}:{key} for the torture sender: {exc}")
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)
            self._udp[key] = sock
        return sock

    def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` for datagrams, then read all that are there."""
        events = self.selector.select(timeout)
        while events:
            for key, _ in events:
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                while True:
                    try:
                        data = sock.recv(65535)
                    except BlockingIOError:
                        break
                    answer = Answer.parse(data)
                    if answer is not None:
                        self.received.append(answer)
            events = self.selector.select(0)

    def collect(self, seconds: float) -> None:
        """Read everything that arrives during the next ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.drain(left)

    def send_udp(self, vector: Vector, outcome: Outcome, *, wait: bool) -> None:
        self.drain(0)  # earlier answers already here are not this message's
        start = len(self.received)
        self.udp_socket(vector.reply_port).sendto(vector.data, self.target)
        deadline = time.monotonic() + (WAIT if wait else 0)
        while True:
            self.drain(max(0.0, min(0.05, deadline - time.monotonic())))
            answers = [r for r in self.received[start:] if vector.answered_by(r)]
            if (answers and wait) or time.monotonic() >= deadline:
                break
        outcome.answers = answers

    def send_tcp(self, vector: Vector, outcome: Outcome, *, wait: bool) -> socket.socket:
        """Send on a fresh connection and read the first answer; the socket stays open."""
        conn = socket.create_connection(self.target, timeout=WAIT)
        conn.sendall(vector.data)
        if wait:
            outcome.answers = read_stream_answers(conn, WAIT, first_only=True)
        return conn


def read_stream_answers(conn: socket.socket, timeout: float, *, first_only: bool) -> list[Answer]:
    """Responses arriving on a stream within ``timeout``; stops at EOF."""
    framer = StreamFramer()
    answers: list[Answer] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = conn.recv(65535)
        except (TimeoutError, BlockingIOError):
            break
        except OSError:
            break
        if not data:
            break
        for raw in framer.feed(data):
            answer = Answer.parse(raw)
            if answer is not None:
                answers.append(answer)
        if answers and first_only:
            break
    return answers


def run_corpus(
    switch: SwitchProcess, wire: Wire, vectors: list[Vector], *, repeat: bool = False
) -> list[Outcome]:
    """One pass over the corpus. Messages whose right answer may be silence are checked at the
    end of the pass, after one shared wait, so the pass does not sleep once per message."""
    outcomes: list[Outcome] = []
    deferred: list[tuple[Outcome, int]] = []
    open_streams: list[tuple[Outcome, socket.socket, bool]] = []
    for vector in vectors:
        outcome = Outcome(vector, repeat=repeat)
        outcomes.append(outcome)
        may_be_silent = vector.expect.verdict is Verdict.DISCARD or outcome.silence_ok
        if vector.expect.tcp:
            conn = wire.send_tcp(vector, outcome, wait=not may_be_silent)
            open_streams.append((outcome, conn, may_be_silent))
        else:
            wire.drain(0)
            deferred_from = len(wire.received)
            wire.send_udp(vector, outcome, wait=not may_be_silent)
            if may_be_silent:
                deferred.append((outcome, deferred_from))
        probe = options_probe(switch.host, switch.port, timeout=WAIT)
        outcome.probe_ok = probe is not None and probe.startswith(b"SIP/2.0 200 ")
    wire.collect(WAIT)
    for outcome, start in deferred:
        outcome.answers = [r for r in wire.received[start:] if outcome.vector.answered_by(r)]
    for outcome, conn, deferred_read in open_streams:
        if deferred_read:
            outcome.answers = read_stream_answers(conn, 0.05, first_only=False)
        conn.close()
    return outcomes


def describe(outcomes: list[Outcome]) -> str:
    return "\n".join(f"{o.vector.name}: {problem}" for o in outcomes for problem in o.problems())


def open_fds(switch: SwitchProcess) -> int:
    assert switch.process is not None
    return len(os.listdir(f"/proc/{switch.process.pid}/fd"))


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vectors() -> list[Vector]:
    if not VECTORS.is_dir():
        pytest.skip(f"SIP torture vectors not found at {VECTORS} (set SIP_VECTORS_DIR)")
    loaded: list[Vector] = []
    for name, expect in EXPECTED.items():
        vector = Vector.load(name, expect)
        if vector.transaction is not None and not expect.tcp:
            vector.same_transaction_as = next(
                (v for v in loaded if v.transaction == vector.transaction and not v.expect.tcp),
                None,
            )
        loaded.append(vector)
    return loaded


@pytest.fixture(scope="module")
def switch(
    tmp_path_factory: pytest.TempPathFactory, vectors: list[Vector]
) -> Iterator[SwitchProcess]:
    folder = tmp_path_factory.mktemp("torture")
    process = SwitchProcess(folder, f"sqlite:///{folder / 'switch.db'}")
    process.extra_env["SWITCH_SIP__LOCAL_DOMAINS"] = LOCAL_DOMAINS
    process.extra_env["SWITCH_SIP__STREAM_IDLE_TIMEOUT"] = str(IDLE_TIMEOUT)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def wire(switch: SwitchProcess) -> Iterator[Wire]:
    wire = Wire(switch)
    try:
        yield wire
    finally:
        wire.close()


# -- tests -------------------------------------------------------------------------------------


def _manifest_names(folder: str) -> set[str]:
    """Every vector a manifest's tables list, as paths relative to the vectors folder."""
    text = (VECTORS / folder / "MANIFEST.md").read_text(encoding="utf-8")
    names = set(re.findall(r"^\| `([A-Za-z0-9_.-]+)` \|", text, re.M))
    if folder == "rfc5118":
        return {f"rfc5118/wire/{name}.sip" for name in names}
    found = {f"rfc4475/{name}" for name in names}
    found |= {f"rfc4475/variants/{p.name}" for p in (VECTORS / folder / "variants").glob("*.dat")}
    return found


def test_every_vector_has_a_verdict(vectors: list[Vector]) -> None:
    listed = _manifest_names("rfc4475") | _manifest_names("rfc5118")
    on_disk = {
        str(p.relative_to(VECTORS))
        for p in [*VECTORS.glob("rfc4475/**/*.dat"), *VECTORS.glob("rfc5118/wire/*.sip")]
    }
    assert len(listed) == 63
    assert listed == on_disk
    assert set(EXPECTED) == listed


def test_corpus_gets_the_manifest_verdicts(
    switch: SwitchProcess, wire: Wire, vectors: list[Vector]
) -> None:
    outcomes = run_corpus(switch, wire, vectors)
    assert describe(outcomes) == ""
    # Spot checks beyond the status code.
    by_name = {o.vector.name: o for o in outcomes}
    [bext] = [r for r in by_name["rfc4475/bext01.dat"].answers if r.status == 420]
    unsupported = {v.strip() for v in ",".join(bext.get_all("Unsupported")).split(",")}
    # This OPTIONS is for a local user, so the switch answers as the UAS: Require counts.
    assert unsupported == {"nothingSupportsThis", "nothingSupportsThisEither"}
    [challenge] = by_name["rfc4475/regaut01.dat"].answers
    offered = challenge.get_all("WWW-Authenticate")
    assert offered and all(v.startswith("Digest ") for v in offered)
    [dblreq] = by_name["rfc4475/dblreq.dat"].answers
    assert (dblreq.get("CSeq") or "").endswith(" REGISTER")
    assert "unhandled error" not in switch.log_text()


def test_repeated_corpus_keeps_answering_and_leaks_no_descriptors(
    switch: SwitchProcess, wire: Wire, vectors: list[Vector]
) -> None:
    run_corpus(switch, wire, vectors, repeat=True)  # warm up: lazily made sockets, caches
    before = open_fds(switch)
    for _ in range(REPEATS):
        outcomes = run_corpus(switch, wire, vectors, repeat=True)
        assert describe(outcomes) == ""
    assert open_fds(switch) <= before + 2
    assert switch.process is not None and switch.process.poll() is None
    assert "unhandled error" not in switch.log_text()


def _vector(vectors: list[Vector], name: str) -> Vector:
    return next(v for v in vectors if v.name == f"rfc4475/{name}.dat")


@pytest.mark.parametrize("name", ["ncl", "mcl01"])
def test_stream_framing_fault_closes_the_connection(
    switch: SwitchProcess, vectors: list[Vector], name: str
) -> None:
    """Negative or conflicting Content-Length on TCP: boundaries are lost, so the switch closes
    the connection at once (an error answer before that is allowed)."""
    with socket.create_connection((switch.host, switch.port), timeout=WAIT) as conn:
        conn.sendall(_vector(vectors, name).data)
        answers = read_stream_answers(conn, WAIT, first_only=False)
        assert all(r.status == 400 for r in answers)
        conn.settimeout(WAIT)
        assert conn.recv(65535) == b""
    assert options_probe(switch.host, switch.port) is not None


def test_stream_with_too_short_body_is_closed_after_the_idle_timeout(
    switch: SwitchProcess, vectors: list[Vector]
) -> None:
    """clerr over TCP: Content-Length promises more than comes; the switch waits for it, then
    closes the stalled connection after sip.stream_idle_timeout without answering."""
    with socket.create_connection((switch.host, switch.port), timeout=WAIT) as conn:
        started = time.monotonic()
        conn.sendall(_vector(vectors, "clerr").data)
        conn.settimeout(IDLE_TIMEOUT + 2)
        assert conn.recv(65535) == b""
        assert time.monotonic() - started >= IDLE_TIMEOUT * 0.9
    assert options_probe(switch.host, switch.port) is not None


@pytest.mark.parametrize(
    "name",
    [
        "rfc4475/wsinv.dat",
        "rfc5118/wire/mult-ip-in-header.sip",
        "rfc5118/wire/via-received-param-with-delim.sip",
    ],
)
def test_in_dialog_request_of_an_unknown_dialog_is_answered_not_relayed(
    switch: SwitchProcess, wire: Wire, vectors: list[Vector], name: str
) -> None:
    # A new branch and Call-ID, so this is not a retransmission of the corpus passes' copy.
    original = next(v for v in vectors if v.name == name)
    assert original.branch is not None and original.call_id is not None
    branch, call_id = f"{original.branch}-fresh", f"fresh-{original.call_id}"
    data = original.data.replace(f"branch={original.branch}".encode(), f"branch={branch}".encode())
    data = data.replace(original.call_id.encode(), call_id.encode())
    vector = Vector.load(name, original.expect)
    vector = Vector(
        name, data, original.expect, call_id, branch, original.reply_port, vector.method, None
    )
    outcome = Outcome(vector)
    start = len(wire.received)
    wire.send_udp(vector, outcome, wait=False)
    deadline = time.monotonic() + WAIT
    while not any(r.status >= 200 for r in outcome.answers) and time.monotonic() < deadline:
        wire.drain(0.05)
        outcome.answers = [r for r in wire.received[start:] if vector.answered_by(r)]
    finals = [r.status for r in outcome.answers if r.status >= 200]
    assert finals and finals[0] not in (400, 505)
