"""WiFi of an emulated board: an access point it can open and a table of networks it can join.

The rig provides the table {ssid: password} (or a file it may rewrite: taking a network away drops a
board joined to it). `connect` answers like the ESP32 does: joined, wrong password, network not found.
What the board's radio is doing is published in `<io_dir>/wifi.json` for the rig to see.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path

from .config import read_networks

WRONG_PASSWORD = "wrong password"
NOT_FOUND = "network not found"


class HostWifi:
    """The host side of `hal.wifi`."""

    def __init__(self, networks: dict[str, str] | Path | None, io_dir: Path, sta_ip: str = "127.0.0.1",
                 ap_ip: str = "127.0.0.1", assoc_s: float = 0.2) -> None:
        """Radio off: no access point, not joined."""
        self.networks = networks
        self.io_dir = Path(io_dir)
        self.io_dir.mkdir(parents=True, exist_ok=True)
        self.sta_ip = sta_ip
        self.ap_ip = ap_ip
        self.assoc_s = assoc_s
        self.ap_ssid: str | None = None
        self.ap_password: str | None = None
        self.sta_ssid: str | None = None
        self._sta_pwd: str | None = None
        self.last_error: str | None = None
        self._publish()

    def _publish(self) -> None:
        state = {"ap": self.ap_ssid, "sta": self.sta_ssid if self.isconnected(publish=False) else None,
                 "ip": self.ip(), "error": self.last_error,
                 "ap_auth": None if self.ap_ssid is None else ("wpa2-psk" if self.ap_password else "open"),
                 "ap_psk_sha256": (hashlib.sha256(self.ap_password.encode()).hexdigest()
                                   if self.ap_ssid and self.ap_password else None)}
        tmp = self.io_dir / f".wifi.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.io_dir / "wifi.json")

    def ap_start(self, ssid: str, password: str | None = None) -> str:
        """Open the access point (WPA2 with password, open without); return the portal's address.

        wifi.json shows `ap_auth` and the SHA-256 of the password (a client that knows the label's
        password can check it joins; the password itself is not published).
        """
        if not 1 <= len(ssid) <= 32:
            raise ValueError(f"access point SSID {ssid!r}: expected 1..32 characters")
        if password is not None and not 8 <= len(password) <= 63:
            raise ValueError(f"access point password: expected 8..63 characters, got {len(password)}")
        self.ap_ssid = ssid
        self.ap_password = password
        self._publish()
        return self.ap_ip

    def ap_stop(self) -> None:
        """Close the access point."""
        self.ap_ssid = None
        self._publish()

    def ap_active(self) -> bool:
        """Whether the access point is open."""
        return self.ap_ssid is not None

    def scan(self) -> list[tuple[str, int]]:
        """Return the networks in range as (ssid, rssi dBm), strongest first."""
        return [(s, -40 - 3 * i) for i, s in enumerate(sorted(read_networks(self.networks)))]

    async def connect(self, ssid: str, password: str, timeout_ms: int = 20000) -> tuple[bool, str | None]:
        """Join a network: (True, None) or (False, why)."""
        self.sta_ssid = None
        self._sta_pwd = None
        await asyncio.sleep(min(self.assoc_s, timeout_ms / 1000))  # association takes time on a radio
        table = read_networks(self.networks)
        if ssid not in table:
            self.last_error = NOT_FOUND
        elif table[ssid] != password:
            self.last_error = WRONG_PASSWORD
        else:
            self.last_error = None
            self.sta_ssid = ssid
            self._sta_pwd = password
        self._publish()
        return self.last_error is None, self.last_error

    def disconnect(self) -> None:
        """Leave the network."""
        self.sta_ssid = None
        self._sta_pwd = None
        self._publish()

    def isconnected(self, publish: bool = True) -> bool:
        """Tell whether joined, the network still there with the same password."""
        if self.sta_ssid is None:
            return False
        if read_networks(self.networks).get(self.sta_ssid) != self._sta_pwd:
            self.sta_ssid = None
            self._sta_pwd = None
            self.last_error = "connection lost"
            if publish:
                self._publish()
            return False
        return True

    def ip(self) -> str | None:
        """Return the station address while joined."""
        return self.sta_ip if self.sta_ssid is not None else None
