"""The registrar in process (RFC 3261 §10.3, RFC 5626 §6): digest, bindings, refusals.

Requests are literal bytes run through the real parser; challenges are answered with the
client-side digest code, so a phone's whole REGISTER exchange is exercised without sockets.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from switch.config import RegistrarSettings
from switch.core.auth import Authenticator
from switch.core.directory import DeviceRecord, Directory
from switch.core.location import Binding, LocationService
from switch.core.registrar import RegisterOutcome, RegisterResult, Registrar
from switch.sip.digest import compute_ha1
from switch.sip.digest_client import build_authorization, parse_challenge
from switch.sip.errors import SipError
from switch.sip.message import Request, Response, parse_message
from switch.transport.peer import Peer

REALM = "pbx.example.com"
REQUEST_URI = f"sip:{REALM}"
START = 1_700_000_000.0
ALICE_PASSWORD = "Correct-Horse-Battery-9"
BOB_PASSWORD = "Staple-Orbit-Lantern-4"
# The public address a NATed phone's packets arrive from (not what its Via/Contact say).
NAT_PEER = Peer("udp", "203.0.113.7", 40112)


def _device(
    device_id: int,
    username: str,
    password: str,
    extension: str,
    *,
    algorithms: tuple[str, ...] = ("MD5", "SHA-256"),
    active: bool = True,
    max_contacts: int = 3,
) -> DeviceRecord:
    return DeviceRecord(
        id=device_id,
        username=username,
        realm=REALM,
        ha1={alg: compute_ha1(username, REALM, password, alg) for alg in algorithms},
        extension_id=100 + device_id,
        extension_number=extension,
        account_id=1,
        max_contacts=max_contacts,
        active=active,
    )


CALL_ID = "call-1@192.168.1.20"
HOME_CONTACT = "<sip:alice@192.168.1.20:5062>"


@dataclass
class Phone:
    """Just enough of a SIP phone: builds REGISTERs and answers challenges, reusing a nonce
    with a rising nonce-count as real phones do."""

    harness: Harness
    username: str
    password: str
    algorithm: str = "MD5"
    challenge: str | None = None
    nc: int = 0
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def register(self, *, cseq: int = 1, source: Peer = NAT_PEER, **fields: Any) -> RegisterResult:
        """One REGISTER; a challenge (first or stale) is answered once with CSeq + 1."""
        result = self.send(cseq=cseq, source=source, **fields)
        if result.outcome is RegisterOutcome.CHALLENGED:
            self.take_challenge(result.response)
            result = self.send(cseq=cseq + 1, source=source, **fields)
        return result

    def send(self, *, source: Peer = NAT_PEER, **fields: Any) -> RegisterResult:
        return self.harness.send(self.request(**fields), source)

    def take_challenge(self, response: Response) -> None:
        for value in response.headers.get_all("WWW-Authenticate"):
            if parse_challenge(value).algorithm.upper() == self.algorithm:
                self.challenge, self.nc = value, 0
                return
        raise AssertionError(f"no {self.algorithm} challenge in {response.to_bytes()!r}")

    def request(
        self,
        *,
        contacts: tuple[str, ...] = (HOME_CONTACT,),
        expires: int | None = None,
        call_id: str = CALL_ID,
        cseq: int = 1,
        to_user: str | None = None,
        to_uri: str | None = None,
        credentials: bool = True,
    ) -> Request:
        lines = [
            f"REGISTER {REQUEST_URI} SIP/2.0",
            f"Via: SIP/2.0/UDP 192.168.1.20:5062;branch=z9hG4bK{next(self.counter)}x{cseq};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.username}@{REALM}>;tag=phone-tag-1",
            f"To: {to_uri or f'<sip:{to_user or self.username}@{REALM}>'}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} REGISTER",
            *(f"Contact: {c}" for c in contacts),
            "User-Agent: TestPhone/1.0",
        ]
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if credentials and self.challenge is not None:
            self.nc += 1
            value = build_authorization(
                self.challenge,
                "REGISTER",
                REQUEST_URI,
                self.username,
                self.password,
                cnonce=f"c{next(self.counter)}",
                nc=self.nc,
            )
            lines.append(f"Authorization: {value}")
        message = parse_message("\r\n".join([*lines, "Content-Length: 0", "", ""]).encode())
        assert isinstance(message, Request)
        return message


class Harness:
    def __init__(self, devices: list[DeviceRecord], settings: RegistrarSettings) -> None:
        self.now = START
        self.location = LocationService()
        self.persisted: list[tuple[int, list[Binding]]] = []
        self.directory = Directory(1, {d.username: d for d in devices})
        auth = Authenticator(REALM, b"k" * 32, ("MD5", "SHA-256"), nonce_lifetime=300)
        self.registrar = Registrar(
            settings,
            auth,
            self.location,
            lambda: self.directory,
            lambda device_id, bindings: self.persisted.append((device_id, list(bindings))),
        )

    def send(self, request: Request, source: Peer) -> RegisterResult:
        return self.registrar.handle(request, source, self.now)

    def bindings(self, device_id: int = 1) -> list[Binding]:
        return self.location.bindings(device_id, self.now)

    def contacts(self, device_id: int = 1) -> list[str]:
        return [b.contact for b in self.bindings(device_id)]


@pytest.fixture
def settings() -> RegistrarSettings:
    return RegistrarSettings(
        min_expires=60, max_expires=3600, default_expires=1800, max_contacts_per_device=3
    )


@pytest.fixture
def harness(settings: RegistrarSettings) -> Harness:
    return Harness(
        [
            _device(1, "alice-201", ALICE_PASSWORD, "201"),
            _device(2, "bob-202", BOB_PASSWORD, "202", algorithms=("SHA-256",)),
            _device(3, "carol-203", "Quiet-River-Stone-5", "203", active=False),
        ],
        settings,
    )


@pytest.fixture
def alice(harness: Harness) -> Phone:
    return Phone(harness, "alice-201", ALICE_PASSWORD)


def _expires_of(response: Response) -> dict[str, int]:
    """Contact URI -> expires as the 200 lists them."""
    out = {}
    for contact in response.contacts:
        value = contact.params.get("expires")
        assert value is not None, f"no expires on {contact}"
        out[str(contact.uri)] = int(value)
    return out


# -- authentication -------------------------------------------------------------------------


def test_first_register_is_challenged_then_accepted_with_contact_expires(
    harness: Harness, alice: Phone
) -> None:
    first = alice.send(expires=600)
    assert first.response.status == 401
    assert first.outcome is RegisterOutcome.CHALLENGED
    challenges = [parse_challenge(v) for v in first.response.headers.get_all("WWW-Authenticate")]
    assert {c.algorithm for c in challenges} == {"MD5", "SHA-256"}
    assert all(c.realm == REALM and "auth" in c.qop_options for c in challenges)
    assert harness.bindings() == [] and harness.persisted == []

    result = alice.register(expires=600)
    assert result.response.status == 200
    assert result.outcome is RegisterOutcome.OK
    assert _expires_of(result.response) == {"sip:alice@192.168.1.20:5062": 600}
    assert result.response.headers.get("Date") is not None
    assert harness.contacts() == ["sip:alice@192.168.1.20:5062"]
    # The store got the device's whole new set.
    assert [(d, [b.contact for b in bs]) for d, bs in harness.persisted] == [
        (1, ["sip:alice@192.168.1.20:5062"])
    ]


def test_wrong_password_gets_401_and_no_binding(harness: Harness) -> None:
    phone = Phone(harness, "alice-201", "not-the-password-1")
    result = phone.register(expires=600)
    assert result.response.status == 401
    assert result.outcome is RegisterOutcome.AUTH_FAILED
    assert result.username == "alice-201"
    assert harness.bindings() == [] and harness.persisted == []


def test_unknown_user_gets_401_and_no_binding(harness: Harness) -> None:
    phone = Phone(harness, "mallory", "whatever-password-1")
    result = phone.register(expires=600)
    assert result.response.status == 401
    assert result.outcome is RegisterOutcome.AUTH_FAILED
    assert result.username == "mallory"
    assert harness.persisted == []


def test_stale_nonce_gets_a_fresh_challenge_with_stale_true(harness: Harness, alice: Phone) -> None:
    assert alice.register(expires=600).response.status == 200
    old_nonce = parse_challenge(alice.challenge or "").nonce
    harness.now += 301  # past the nonce lifetime; the phone still uses the old nonce
    result = alice.send(expires=600, cseq=10)
    assert result.response.status == 401
    assert result.outcome is RegisterOutcome.CHALLENGED
    fresh = [parse_challenge(v) for v in result.response.headers.get_all("WWW-Authenticate")]
    assert fresh and all(c.stale and c.nonce != old_nonce for c in fresh)
    # The phone retries with the new nonce without asking its user.
    alice.take_challenge(result.response)
    assert alice.send(expires=600, cseq=11).response.status == 200


def test_sha256_credentials_are_accepted_for_a_sha256_device(harness: Harness) -> None:
    bob = Phone(harness, "bob-202", BOB_PASSWORD, algorithm="SHA-256")
    result = bob.register(contacts=("<sip:bob@192.168.1.30>",), expires=600)
    assert result.response.status == 200
    assert harness.contacts(2) == ["sip:bob@192.168.1.30"]


def test_md5_answer_is_refused_when_the_device_only_has_sha256(harness: Harness) -> None:
    bob = Phone(harness, "bob-202", BOB_PASSWORD, algorithm="MD5")
    result = bob.register(contacts=("<sip:bob@192.168.1.30>",), expires=600)
    assert result.response.status == 401
    assert harness.bindings(2) == []


# -- who may register what -------------------------------------------------------------------


def test_device_may_register_its_extension_number(harness: Harness, alice: Phone) -> None:
    result = alice.register(to_user="201", expires=600)
    assert result.response.status == 200
    assert harness.bindings()[0].aor == f"sip:alice-201@{REALM}"


def test_to_user_of_another_device_is_forbidden(harness: Harness, alice: Phone) -> None:
    for user in ("bob-202", "202", "999"):
        result = alice.register(to_user=user, expires=600)
        assert result.response.status == 403, user
        assert result.outcome is RegisterOutcome.FORBIDDEN
    assert harness.bindings(1) == [] and harness.bindings(2) == []
    assert harness.persisted == []


def test_to_with_a_non_sip_uri_is_a_bad_request(harness: Harness, alice: Phone) -> None:
    result = alice.register(to_uri="<tel:+12025550101>", expires=600)
    assert result.response.status == 400
    assert result.outcome is RegisterOutcome.BAD_REQUEST
    assert harness.persisted == []


def test_disabled_device_is_forbidden_even_with_the_right_password(harness: Harness) -> None:
    carol = Phone(harness, "carol-203", "Quiet-River-Stone-5")
    result = carol.register(expires=600)
    assert result.response.status == 403
    assert harness.bindings(3) == []


# -- expiry ----------------------------------------------------------------------------------


def test_contact_expires_param_wins_over_expires_header(harness: Harness, alice: Phone) -> None:
    result = alice.register(
        contacts=("<sip:alice@192.168.1.20:5062>;expires=120", "<sip:alice@10.0.0.5>"),
        expires=900,
    )
    assert result.response.status == 200
    assert _expires_of(result.response) == {
        "sip:alice@192.168.1.20:5062": 120,
        "sip:alice@10.0.0.5": 900,
    }


def test_no_expires_anywhere_uses_the_default(harness: Harness, alice: Phone) -> None:
    result = alice.register()
    assert _expires_of(result.response) == {"sip:alice@192.168.1.20:5062": 1800}


def test_too_brief_interval_gets_423_with_min_expires(harness: Harness, alice: Phone) -> None:
    result = alice.register(expires=30)
    assert result.response.status == 423
    assert result.response.headers.get("Min-Expires") == "60"
    assert harness.bindings() == [] and harness.persisted == []
    # Exactly the minimum is fine.
    assert alice.register(expires=60, cseq=5).response.status == 200


def test_interval_above_max_is_cut_to_max(harness: Harness, alice: Phone) -> None:
    result = alice.register(expires=86400)
    assert _expires_of(result.response) == {"sip:alice@192.168.1.20:5062": 3600}
    assert harness.bindings()[0].expires_at == pytest.approx(START + 3600)


def test_binding_is_gone_once_expired(harness: Harness, alice: Phone) -> None:
    alice.register(expires=60)
    harness.now += 61
    assert harness.bindings() == []


# -- removal and queries ---------------------------------------------------------------------


def test_expires_zero_removes_one_contact(harness: Harness, alice: Phone) -> None:
    alice.register(contacts=("<sip:alice@192.168.1.20:5062>", "<sip:alice@10.0.0.5>"), expires=600)
    result = alice.register(contacts=("<sip:alice@10.0.0.5>",), expires=0, cseq=3)
    assert result.response.status == 200
    assert harness.contacts() == ["sip:alice@192.168.1.20:5062"]
    assert _expires_of(result.response) == {"sip:alice@192.168.1.20:5062": 600}


def test_wildcard_with_expires_zero_removes_all(harness: Harness, alice: Phone) -> None:
    alice.register(contacts=("<sip:alice@192.168.1.20:5062>", "<sip:alice@10.0.0.5>"), expires=600)
    result = alice.register(contacts=("*",), expires=0, cseq=3)
    assert result.response.status == 200
    assert result.outcome is RegisterOutcome.REMOVED
    assert result.response.contacts == []
    assert harness.bindings() == []
    assert harness.persisted[-1] == (1, [])


@pytest.mark.parametrize(
    ("contacts", "expires"),
    [
        (("*",), 600),
        (("*",), None),
        (("*", "<sip:alice@10.0.0.5>"), 0),
    ],
    ids=["expires-600", "no-expires", "with-another-contact"],
)
def test_invalid_wildcard_is_a_bad_request(
    harness: Harness, alice: Phone, contacts: tuple[str, ...], expires: int | None
) -> None:
    alice.register(expires=600)
    try:
        status = alice.register(contacts=contacts, expires=expires, cseq=3).response.status
    except SipError as exc:  # the parser itself may refuse a "*" mixed with addresses
        status = exc.status
    assert status == 400
    assert harness.contacts() == ["sip:alice@192.168.1.20:5062"]


def test_query_without_contact_lists_bindings_and_changes_nothing(
    harness: Harness, alice: Phone
) -> None:
    alice.register(contacts=("<sip:alice@192.168.1.20:5062>", "<sip:alice@10.0.0.5>"), expires=600)
    saved = len(harness.persisted)
    harness.now += 100
    result = alice.register(contacts=(), cseq=3)
    assert result.response.status == 200
    assert result.outcome is RegisterOutcome.QUERY
    assert _expires_of(result.response) == {
        "sip:alice@192.168.1.20:5062": 500,
        "sip:alice@10.0.0.5": 500,
    }
    assert len(harness.persisted) == saved


# -- refresh and ordering ----------------------------------------------------------------------


def test_refresh_with_higher_cseq_updates_the_binding(harness: Harness, alice: Phone) -> None:
    alice.register(expires=600, cseq=1)
    harness.now += 200
    result = alice.register(expires=900, cseq=5)
    assert result.response.status == 200
    assert _expires_of(result.response) == {"sip:alice@192.168.1.20:5062": 900}
    [binding] = harness.bindings()
    assert binding.expires_at == pytest.approx(harness.now + 900)
    assert binding.cseq == 5


@pytest.mark.parametrize("later_cseq", [1, 2], ids=["lower", "equal"])
def test_same_call_id_with_old_cseq_gets_500_and_changes_nothing(
    harness: Harness, alice: Phone, later_cseq: int
) -> None:
    assert alice.register(expires=600, cseq=1).response.status == 200  # stored with CSeq 2
    before = [(b.contact, b.expires_at, b.cseq) for b in harness.bindings()]
    saved = len(harness.persisted)
    harness.now += 10
    late = alice.send(expires=1200, cseq=later_cseq)
    assert late.response.status == 500
    assert late.outcome is RegisterOutcome.OUT_OF_ORDER
    assert [(b.contact, b.expires_at, b.cseq) for b in harness.bindings()] == before
    assert len(harness.persisted) == saved


def test_other_call_id_may_refresh_with_any_cseq(harness: Harness, alice: Phone) -> None:
    alice.register(expires=600, cseq=50)
    # After a reboot a phone starts a new Call-ID at CSeq 1 (RFC 3261 §10.2.4).
    result = alice.register(expires=900, cseq=1, call_id="after-reboot@192.168.1.20")
    assert result.response.status == 200
    [binding] = harness.bindings()
    assert binding.call_id == "after-reboot@192.168.1.20"


def test_oldest_contact_is_dropped_above_max_contacts(harness: Harness, alice: Phone) -> None:
    for n in range(4):
        contact = f"<sip:alice@10.0.0.{n + 1}>"
        result = alice.register(contacts=(contact,), expires=600, cseq=10 * n + 1)
        assert result.response.status == 200
        harness.now += 1
    assert harness.contacts() == ["sip:alice@10.0.0.2", "sip:alice@10.0.0.3", "sip:alice@10.0.0.4"]


def test_device_max_contacts_below_the_global_limit_applies(settings: RegistrarSettings) -> None:
    harness = Harness([_device(1, "alice-201", ALICE_PASSWORD, "201", max_contacts=1)], settings)
    phone = Phone(harness, "alice-201", ALICE_PASSWORD)
    phone.register(contacts=("<sip:alice@10.0.0.1>",), expires=600)
    phone.register(contacts=("<sip:alice@10.0.0.2>",), expires=600, cseq=5)
    assert harness.contacts() == ["sip:alice@10.0.0.2"]


def test_q_values_are_kept_and_returned(harness: Harness, alice: Phone) -> None:
    result = alice.register(
        contacts=("<sip:alice@10.0.0.1>;q=0.7", "<sip:alice@10.0.0.2>;q=0.2"), expires=600
    )
    assert {str(c.uri): c.params.get("q") for c in result.response.contacts} == {
        "sip:alice@10.0.0.1": "0.7",
        "sip:alice@10.0.0.2": "0.2",
    }
    assert {b.contact: b.q for b in harness.bindings()} == {
        "sip:alice@10.0.0.1": 0.7,
        "sip:alice@10.0.0.2": 0.2,
    }


def test_q_out_of_range_is_a_bad_request(harness: Harness, alice: Phone) -> None:
    result = alice.register(contacts=("<sip:alice@10.0.0.1>;q=1.5",), expires=600)
    assert result.response.status == 400
    assert harness.bindings() == []


# -- RFC 5626 outbound -------------------------------------------------------------------------

INSTANCE = '"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"'


def test_same_instance_and_reg_id_replaces_the_old_contact(harness: Harness, alice: Phone) -> None:
    alice.register(
        contacts=(f"<sip:alice@192.168.1.20:5062>;+sip.instance={INSTANCE};reg-id=1",),
        expires=600,
    )
    # The phone moved to another network: new Contact, same instance and reg-id.
    result = alice.register(
        contacts=(f"<sip:alice@172.16.5.9:5062>;+sip.instance={INSTANCE};reg-id=1",),
        expires=600,
        cseq=5,
        call_id="call-2@172.16.5.9",
    )
    assert result.response.status == 200
    [binding] = harness.bindings()
    assert binding.contact == "sip:alice@172.16.5.9:5062"
    assert (binding.instance_id, binding.reg_id) == (INSTANCE, 1)
    [listed] = result.response.contacts
    assert listed.params.get("+sip.instance") == INSTANCE
    assert listed.params.get("reg-id") == "1"


def test_other_reg_id_of_the_same_instance_is_a_second_flow(harness: Harness, alice: Phone) -> None:
    alice.register(
        contacts=(f"<sip:alice@192.168.1.20:5062>;+sip.instance={INSTANCE};reg-id=1",),
        expires=600,
    )
    alice.register(
        contacts=(f"<sip:alice@192.168.1.20:5064>;+sip.instance={INSTANCE};reg-id=2",),
        expires=600,
        cseq=5,
    )
    assert sorted(b.reg_id or 0 for b in harness.bindings()) == [1, 2]


# -- where the phone is reachable ----------------------------------------------------------------


def test_binding_source_is_where_the_register_came_from(harness: Harness, alice: Phone) -> None:
    # Via and Contact name the phone's private address; packets come from the NAT.
    alice.register(expires=600, source=NAT_PEER)
    [binding] = harness.bindings()
    assert binding.source == NAT_PEER
    assert binding.contact == "sip:alice@192.168.1.20:5062"
    assert binding.user_agent == "TestPhone/1.0"
    moved = Peer("tcp", "198.51.100.4", 5099)
    alice.register(expires=600, source=moved, cseq=5)
    assert harness.bindings()[0].source == moved
