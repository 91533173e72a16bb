"""One typed settings object, loaded from a TOML file and ``SWITCH_*`` environment variables.

Precedence, highest first: environment (``SWITCH_SECTION__KEY``, e.g.
``SWITCH_DATABASE__URL``), the TOML file (``--config`` or ``SWITCH_CONFIG``), defaults.
Every field is documented in ``deploy/softswitch.example.toml``.
"""

from __future__ import annotations

import os
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it."""


class TransportName(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


class Listen(BaseModel):
    """One listening socket, written ``udp:127.0.0.1:5060`` or ``tcp:[::1]:5060``."""

    model_config = ConfigDict(frozen=True)

    transport: TransportName
    host: str
    port: int = Field(ge=1, le=65535)

    @classmethod
    def parse(cls, text: str) -> Listen:
        transport, sep, rest = text.partition(":")
        if not sep:
            raise ValueError(f"expected transport:host:port, got {text!r}")
        if rest.startswith("["):
            host, _, port = rest[1:].partition("]:")
        else:
            host, _, port = rest.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"expected transport:host:port, got {text!r}")
        return cls(transport=TransportName(transport.lower()), host=host, port=int(port))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport.value}:{host}:{self.port}"


class SipSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listen: list[Listen] = Field(
        default_factory=lambda: [
            Listen.parse("udp:127.0.0.1:5060"),
            Listen.parse("tcp:127.0.0.1:5060"),
        ]
    )
    # Host (or IP) this switch puts in Via and Record-Route; default: the first listen host.
    advertised_host: str | None = None
    # Authentication realm; also the SIP domain phones register to.
    realm: str = "softswitch.local"
    # Further host names / addresses that mean "this switch" in a Request-URI.
    local_domains: list[str] = Field(default_factory=list)
    tls_certificate: Path | None = None
    tls_private_key: Path | None = None
    max_message_size: int = Field(default=65535, ge=1500, le=1_048_576)
    # Datagrams waiting for the core before new ones are dropped (and counted).
    udp_queue_size: int = Field(default=4096, ge=16)
    # Seconds a TCP/TLS connection may sit idle or keep a partial message before it is closed.
    stream_idle_timeout: float = Field(default=300.0, gt=0)
    # Seconds a digest nonce stays fresh; older ones get stale=true.
    nonce_lifetime: int = Field(default=300, ge=10)
    # HMAC key for nonces; generated into data_dir/nonce.key when empty.
    nonce_secret: str = ""
    # Digest algorithms offered, strongest first (RFC 8760).
    digest_algorithms: list[str] = Field(default_factory=lambda: ["MD5", "SHA-256"])

    @field_validator("listen", mode="before")
    @classmethod
    def _parse_listen(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [Listen.parse(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("local_domains", "digest_algorithms", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("digest_algorithms")
    @classmethod
    def _known_algorithms(cls, value: list[str]) -> list[str]:
        unknown = [a for a in value if a.upper() not in ("MD5", "SHA-256")]
        if unknown or not value:
            raise ValueError(f"supported algorithms are SHA-256 and MD5, got {value}")
        return [a.upper() for a in value]


class RegistrarSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_expires: int = Field(default=60, ge=1)
    max_expires: int = Field(default=3600, ge=1)
    default_expires: int = Field(default=3600, ge=1)
    # Contacts one device may hold at once; the oldest is dropped when a new one arrives.
    max_contacts_per_device: int = Field(default=3, ge=1, le=100)


class ProxySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # 407 Proxy-Authenticate is the RFC answer; 401 suits clients that only handle 401.
    challenge_status: int = 407
    # Seconds a call may ring before the switch cancels it (no-answer).
    ring_timeout: float = Field(default=60.0, gt=0)
    # Longest call in seconds; the switch then sends BYE both ways.
    max_call_seconds: int = Field(default=14400, ge=10)
    # Seconds between in-dialog OPTIONS probes that find calls whose BYE was lost.
    keepalive_interval: float = Field(default=30.0, gt=0)
    # Region used to read national numbers dialled without a country code.
    default_region: str = Field(default="US", min_length=2, max_length=2)

    @field_validator("challenge_status")
    @classmethod
    def _challenge(cls, value: int) -> int:
        if value not in (401, 407):
            raise ValueError("must be 401 or 407")
        return value


class TrunkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Carrier gateway for off-net calls, "transport:host:port"; empty means no trunk.
    gateway: str = ""
    # Sources whose requests are trusted as the carrier: "host" or "host:port".
    trusted_sources: list[str] = Field(default_factory=list)
    # Name recorded in CDRs.
    name: str = "carrier"

    @field_validator("trusted_sources", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def gateway_listen(self) -> Listen | None:
        return Listen.parse(self.gateway) if self.gateway else None

    @field_validator("gateway")
    @classmethod
    def _gateway(cls, value: str) -> str:
        if value:
            Listen.parse(value)
        return value


class EmergencySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The E911 provider's SBC, "transport:host:port"; empty: emergency calls use the trunk.
    gateway: str = ""
    # Digits put in front of the emergency number on the way to the gateway, if it wants any.
    prefix: str = ""
    # Feature code a user dials to confirm the phone's 911 address where it now is (*LOC).
    confirm_code: str = Field(default="*562", pattern=r"^[*#][0-9]{1,8}$")

    @field_validator("gateway")
    @classmethod
    def _gateway(cls, value: str) -> str:
        if value:
            Listen.parse(value)
        return value

    @property
    def gateway_listen(self) -> Listen | None:
        return Listen.parse(self.gateway) if self.gateway else None


class NotifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # SMTP server for Kari's Law e-mail notifications; empty: e-mail contacts cannot be told.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "softswitch@localhost"
    # Attempts per notification, and seconds between them (growing).
    attempts: int = Field(default=3, ge=1, le=10)
    retry_delay: float = Field(default=2.0, ge=0)


class PolicySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Countries (ISO 3166 codes) whose numbers are domestic for this deployment.
    domestic_regions: list[str] = Field(default_factory=lambda: ["US", "CA"])
    # Operator's replacement for the shipped high-risk (revenue-share fraud) destination list.
    high_risk_list: Path | None = None
    # Operator's replacement for the shipped embargoed destination list.
    embargo_list: Path | None = None

    @field_validator("domestic_regions", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip().upper() for part in value.split(",") if part.strip()]
        return value


class DetectSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Concurrent calls one device may have (2 lets a consult transfer work), and what
    # happens to one more: "refuse" (403) or "flag" (allowed, alerted).
    max_calls_per_seat: int = Field(default=2, ge=1, le=10_000)
    seat_limit_action: str = Field(default="refuse", pattern="^(refuse|flag)$")
    # Failed authentications from one source within ban_window seconds that ban it for
    # ban_seconds. A source with a valid registration for the failing user is never banned.
    ban_failures: int = Field(default=20, ge=1)
    ban_window: float = Field(default=60.0, gt=0)
    ban_seconds: float = Field(default=3600.0, gt=0)
    # Per-source request rate (like Kamailio's pike): more than rate_requests in
    # rate_interval seconds drops that source's messages for rate_block_seconds.
    rate_requests: int = Field(default=200, ge=1)
    rate_interval: float = Field(default=2.0, gt=0)
    rate_block_seconds: float = Field(default=60.0, gt=0)
    # false: detectors only record and count alerts (no throttling, restriction, suspension
    # or hang-up), to tune thresholds on live traffic before acting on them.
    enforce_actions: bool = True
    # Sources never rate-limited (the trunk's trusted sources are added automatically).
    rate_exempt: list[str] = Field(default_factory=list)

    @field_validator("rate_exempt", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # SQLAlchemy URL; empty means a SQLite file in data_dir.
    url: str = ""


class MetricsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # host:port of the /metrics, /healthz and /readyz endpoint; empty disables it.
    listen: str = "127.0.0.1:9060"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value:
            host, sep, port = value.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
                raise ValueError(f"expected host:port, got {value!r}")
        return value

    @property
    def address(self) -> tuple[str, int] | None:
        if not self.listen:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class LogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: str = "INFO"
    format: str = Field(default="text", pattern="^(text|json)$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SWITCH_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
        # Lists in the environment are comma-separated, not JSON.
        enable_decoding=False,
    )

    # Folder for the SQLite file, the nonce key and other local state.
    data_dir: Path = Path("var")
    sip: SipSettings = Field(default_factory=SipSettings)
    registrar: RegistrarSettings = Field(default_factory=RegistrarSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    trunk: TrunkSettings = Field(default_factory=TrunkSettings)
    emergency: EmergencySettings = Field(default_factory=EmergencySettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    detect: DetectSettings = Field(default_factory=DetectSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment overrides them.
        return (env_settings, init_settings)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'softswitch.db'}"

    @property
    def advertised_host(self) -> str:
        return self.sip.advertised_host or self.sip.listen[0].host


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]) or "settings"
        parts.append(f"setting {name}: {item['msg']}")
    return "; ".join(parts)


def load_settings(path: str | Path | None = None) -> Settings:
    """Load settings from ``path`` (or ``$SWITCH_CONFIG``) and the environment."""
    path = path or os.environ.get("SWITCH_CONFIG") or None
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from exc
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    except SettingsError as exc:
        raise ConfigError(str(exc)) from exc
