"""Settings: the documented example file, environment overrides, errors that name the setting."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from switch.config import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "deploy" / "softswitch.example.toml"


def _field_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= _field_paths(annotation, f"{prefix}{name}.")
        else:
            paths.add(prefix + name)
    return paths


def test_example_file_documents_every_setting() -> None:
    text = EXAMPLE.read_text()
    # Commented-out keys count as documented.
    uncommented = "\n".join(line.lstrip("# ") for line in text.splitlines())
    for path in _field_paths(Settings):
        section, _, key = path.rpartition(".")
        if section:
            assert f"[{section}]" in text, f"section [{section}] missing"
        assert f"\n{key} =" in "\n" + uncommented, f"setting {path} not documented"


def test_example_file_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in __import__("os").environ if k.startswith("SWITCH_")]:
        monkeypatch.delenv(name)
    assert load_settings(EXAMPLE) == Settings()
    tomllib.loads(EXAMPLE.read_text())  # stays valid TOML


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "switch.toml"
    config.write_text('[sip]\nrealm = "from-file"\nlisten = ["udp:127.0.0.1:5070"]\n')
    monkeypatch.setenv("SWITCH_SIP__REALM", "from-env")
    monkeypatch.setenv("SWITCH_REGISTRAR__MAX_EXPIRES", "1800")
    settings = load_settings(config)
    assert settings.sip.realm == "from-env"
    assert [str(listen) for listen in settings.sip.listen] == ["udp:127.0.0.1:5070"]
    assert settings.registrar.max_expires == 1800


def test_listen_list_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCH_SIP__LISTEN", "udp:[::1]:5062, tls:0.0.0.0:5061")
    listens = load_settings().sip.listen
    assert [(str(lst.transport), lst.host, lst.port) for lst in listens] == [
        ("udp", "::1", 5062),
        ("tls", "0.0.0.0", 5061),
    ]


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SWITCH_REGISTRAR__MIN_EXPIRES", "-5", "registrar.min_expires"),
        ("SWITCH_SIP__LISTEN", "udp:nowhere", "sip.listen"),
        ("SWITCH_SIP__DIGEST_ALGORITHMS", "SHA-512", "sip.digest_algorithms"),
        ("SWITCH_LOG__FORMAT", "xml", "log.format"),
    ],
)
def test_bad_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_settings()


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "switch.toml"
    config.write_text("[sip]\nrelam = 'typo'\n")
    with pytest.raises(ConfigError, match=r"sip\.relam"):
        load_settings(config)


def test_softswitch_reports_bad_config_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[sip\n")
    result = subprocess.run(
        [sys.executable, "-m", "switch.main", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("softswitch: error:"), result.stderr
