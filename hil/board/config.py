"""What an emulated board is: its kind, identity, flash folder, lines and the world it sees.

Validated when built (attrs validators), so a bad rig file fails at load time with the field named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import yaml

from firmware.hal import KINDS, UARTS, device_name, parse_mac


def _mac(_inst: object, _attr: attrs.Attribute, value: str) -> None:
    parse_mac(value)


def _http(_inst: object, _attr: attrs.Attribute, value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"http {value!r}: expected HOST:PORT like 127.0.0.1:8080")


def _uarts(inst: BoardConfig, _attr: attrs.Attribute, value: dict[str, str]) -> None:
    allowed = UARTS[inst.kind]
    for name in value:
        if name not in allowed:
            raise ValueError(f"uart {name!r} on a {inst.kind}: expected one of {sorted(allowed)}")


def _networks(_inst: object, _attr: attrs.Attribute, value: dict[str, str] | Path | None) -> None:
    if isinstance(value, dict):
        for ssid, pwd in value.items():
            if not isinstance(ssid, str) or not isinstance(pwd, str) or not 1 <= len(ssid) <= 32:
                raise ValueError(f"network {ssid!r}: expected an SSID of 1..32 characters and a password")


def _path_or_none(v: str | Path | None) -> Path | None:
    return None if v is None else Path(v)


def _networks_conv(v: dict[str, str] | str | Path | None) -> dict[str, str] | Path | None:
    if v is None or isinstance(v, dict):
        return v
    return Path(v)


@attrs.define
class BoardConfig:
    """One emulated board."""

    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    mac: str = attrs.field(validator=_mac)
    flash: Path = attrs.field(converter=Path)
    io_dir: Path | None = attrs.field(default=None, converter=_path_or_none)
    uarts: dict[str, str] = attrs.field(factory=dict, validator=_uarts)
    http: str = attrs.field(default="127.0.0.1:8080", validator=_http)
    # the WiFi networks around the board: {ssid: password}, or a JSON/YAML file with that mapping that
    # the rig may rewrite while the board runs (read again at every scan/connect)
    networks: dict[str, str] | Path | None = attrs.field(default=None, converter=_networks_conv,
                                                         validator=_networks)
    sta_ip: str = "127.0.0.1"
    mdns: bool = True
    mdns_interface: str = "127.0.0.1"
    mdns_suffix: str = ""  # appended to every mDNS name: parallel rigs on one machine stay apart
    wall_clock: bool = True
    reset: str = attrs.field(default="exec", validator=attrs.validators.in_(("exec", "exit")))
    rxbuf: int = attrs.field(default=4096, validator=attrs.validators.ge(64))
    wifi_assoc_s: float = attrs.field(default=0.2, validator=attrs.validators.ge(0))
    # OTA: the board's hardware revision, the .mpy version its MicroPython loads (6: 1.22 and later), and
    # the flash size images and settings share (None: whatever the host's disk has free)
    hw_rev: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    mpy_abi: int = attrs.field(default=6, validator=attrs.validators.ge(0))
    flash_size: int | None = None
    http_sockets: int = attrs.field(default=12, validator=attrs.validators.ge(1))  # the ESP32's budget
    # HTTPS (API v2, docs/security.md): where it listens ("" = the http host, a port the OS picks) and the
    # TLS sessions it holds at once (mbedTLS's heap on the ESP32: firmware/apps/common/https.py)
    https: str = attrs.field(default="", validator=lambda i, a, v: v == "" or _http(i, a, v))
    tls_sessions: int = attrs.field(default=2, validator=attrs.validators.ge(1))

    def __attrs_post_init__(self) -> None:
        """Default the rig-visible folder to a sibling of the flash folder."""
        if self.io_dir is None:
            self.io_dir = self.flash.with_name(self.flash.name + ".io")

    @property
    def mac_bytes(self) -> bytes:
        """The MAC as 6 bytes."""
        return parse_mac(self.mac)

    @property
    def name(self) -> str:
        """'smartmeter' or 'smartplug-xxxxxx'."""
        return device_name(self.kind, self.mac_bytes)

    @property
    def http_host_port(self) -> tuple[str, int]:
        """The web server's bind address."""
        host, _, port = self.http.rpartition(":")
        return host, int(port)

    @property
    def https_host_port(self) -> tuple[str, int]:
        """The HTTPS server's bind address (the http host and port 0 unless `https` says)."""
        if not self.https:
            return self.http_host_port[0], 0
        host, _, port = self.https.rpartition(":")
        return host, int(port)

    @classmethod
    def from_mapping(cls, d: dict[str, Any]) -> BoardConfig:
        """Build from a rig-file mapping; unknown keys are an error that names them."""
        known = {a.name for a in attrs.fields(cls)}
        extra = sorted(set(d) - known)
        if extra:
            raise ValueError(f"board config: unknown keys {extra}; expected some of {sorted(known)}")
        return cls(**d)

    @classmethod
    def from_file(cls, path: str | Path) -> BoardConfig:
        """Read a YAML or JSON board file."""
        text = Path(path).read_text(encoding="utf-8")
        d = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
        if not isinstance(d, dict):
            raise ValueError(f"{path}: expected a mapping of board settings, found {type(d).__name__}")
        return cls.from_mapping(d)


def read_networks(source: dict[str, str] | Path | None) -> dict[str, str]:
    """Return the networks table now: the mapping, or the file's content (missing file: none)."""
    if source is None:
        return {}
    if isinstance(source, dict):
        return dict(source)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    d = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    if d is None:
        return {}
    if not isinstance(d, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in d.items()):
        raise ValueError(f"{source}: expected a mapping of SSID to password")
    return d
