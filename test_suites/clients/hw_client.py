"""Home Assistant's use of a HomeWizard device, through the current python-homewizard-energy (10.x).

Runs in .venv-clients (Python >= 3.12; scripts/setup makes it), started by the tests beside it:
`python hw_client.py socket|p1|writes HOST:PORT` prints one JSON object with what the library returned at each
step (or the error it raised), in the order Home Assistant's HomeWizard integration calls them: the
device at set-up, then `combined()` on every update, then the user's actions (switch, lock, identify, the
cloud switch). The test asserts on that JSON; this script asserts nothing itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Any

import homewizard_energy
from homewizard_energy import HomeWizardEnergyV1


def plain(obj: Any) -> Any:
    """A library model (a dataclass) as JSON-able data; other values as they are or as text."""
    if dataclasses.is_dataclass(obj):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [plain(x) for x in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


async def step(out: dict[str, Any], name: str, coro: Any) -> Any:
    """Await coro; record its result, or the exception's class and text, under name."""
    try:
        value = await coro
    except Exception as e:  # the test wants to see what the library raised
        out[name] = {"raised": type(e).__name__, "message": str(e)}
        return None
    out[name] = {"value": plain(value)}
    return value


async def socket_session(host: str) -> dict[str, Any]:
    """Energy Socket: set-up, update, switching, lock, identify, the cloud switch."""
    out: dict[str, Any] = {"library": homewizard_energy.__name__}
    async with HomeWizardEnergyV1(host) as hw:
        await step(out, "device", hw.device())
        await step(out, "combined", hw.combined())
        await step(out, "turn_on", hw.state(power_on=True))
        await step(out, "state_on", hw.state())
        await step(out, "turn_off", hw.state(power_on=False))
        await step(out, "state_off", hw.state())
        await step(out, "lock", hw.state(switch_lock=True))
        await step(out, "turn_off_locked", hw.state(power_on=False))
        await step(out, "unlock", hw.state(switch_lock=False))
        await step(out, "brightness", hw.system(status_led_brightness_pct=50))
        await step(out, "identify", hw.identify())
        await step(out, "system", hw.system())
        await step(out, "cloud_off", hw.system(cloud_enabled=False))
        await step(out, "cloud_on", hw.system(cloud_enabled=True))
        await step(out, "telegram", hw.telegram())
        await step(out, "combined_after", hw.combined())
    return out


async def p1_session(host: str) -> dict[str, Any]:
    """P1 Meter: set-up, update, the telegram (diagnostics), identify, the cloud switch, no state."""
    out: dict[str, Any] = {"library": homewizard_energy.__name__}
    async with HomeWizardEnergyV1(host) as hw:
        await step(out, "device", hw.device())
        await step(out, "combined", hw.combined())
        await step(out, "telegram", hw.telegram())
        await step(out, "identify", hw.identify())
        await step(out, "system", hw.system())
        await step(out, "cloud_off", hw.system(cloud_enabled=False))
        await step(out, "state", hw.state())
    return out


async def writes_session(host: str) -> dict[str, Any]:
    """The writes alone (switch, identify, the cloud switch) and the state read back: what a device with its
    Local API v1 off must refuse."""
    out: dict[str, Any] = {"library": homewizard_energy.__name__}
    async with HomeWizardEnergyV1(host) as hw:
        await step(out, "device", hw.device())
        await step(out, "turn_on", hw.state(power_on=True))
        await step(out, "identify", hw.identify())
        await step(out, "cloud_off", hw.system(cloud_enabled=False))
        await step(out, "state", hw.state())
    return out


def main() -> None:
    """Run the session named on the command line and print its JSON."""
    kind, host = sys.argv[1], sys.argv[2]
    session = {"socket": socket_session, "p1": p1_session, "writes": writes_session}[kind]
    print(json.dumps(asyncio.run(session(host))))


if __name__ == "__main__":
    main()
