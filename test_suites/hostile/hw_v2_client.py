"""python-homewizard-energy's HomeWizardEnergyV2 (Home Assistant's v2 client) against a module's HTTPS API.

Runs in .venv-clients (Python >= 3.12; scripts/setup makes it), started by test_hostile_https_clients.py:
`python hw_v2_client.py HOST:PORT TOKEN FINGERPRINT` prints one JSON object: what the library did as it
ships (it trusts only HomeWizard's own CA, so it cannot reach these modules), then what it returned with
its TLS context swapped for a pin of the module's certificate (the library's private `_ssl`: no public
API sets it), step by step. This script asserts nothing itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Any

import aiohttp
from homewizard_energy import HomeWizardEnergyV2


def plain(obj: Any) -> Any:
    """A library model (a dataclass) as JSON-able data; other values as they are or as text."""
    if dataclasses.is_dataclass(obj):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(x) for x in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


async def step(out: dict[str, Any], name: str, coro: Any) -> None:
    """Await coro; record its result, or the exception's class, text and cause, under name."""
    try:
        out[name] = {"value": plain(await coro)}
    except Exception as e:  # the test wants to see what the library raised
        out[name] = {"raised": type(e).__name__, "message": str(e), "cause": repr(e.__cause__)}


async def main(host: str, token: str, fingerprint: str) -> dict[str, Any]:
    """Run the library's calls; return what each gave."""
    out: dict[str, Any] = {}
    async with HomeWizardEnergyV2(host, token=token) as stock:
        await step(out, "stock_device", stock.device())
    pin = aiohttp.Fingerprint(bytes.fromhex(fingerprint.replace(":", "")))
    async with HomeWizardEnergyV2(host, token=token) as hw:
        hw._ssl = pin
        await step(out, "device", hw.device())
        await step(out, "measurement", hw.measurement())
        await step(out, "system", hw.system())
        await step(out, "telegram", hw.telegram())
        await step(out, "identify", hw.identify())
        await step(out, "api_v1_on", hw.system(api_v1_enabled=True))
    async with HomeWizardEnergyV2(host) as pairing:      # after the button press (the test presses it)
        pairing._ssl = pin
        await step(out, "get_token", pairing.get_token("homeassistant"))
        await step(out, "with_new_token", pairing.measurement())
        await step(out, "delete_token", pairing.delete_token())
    async with HomeWizardEnergyV2(host, token=token) as wrong:
        wrong._ssl = aiohttp.Fingerprint(bytes(32))
        await step(out, "wrong_pin", wrong.device())
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:4]))))
