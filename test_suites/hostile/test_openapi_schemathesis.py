"""schemathesis against both emulated modules, from their OpenAPI descriptions (docs/openapi/, merged by
hil/openapi.py): generated valid and invalid requests, authenticated with the rig's token, each answer
checked (no server error, a documented status, content type and body schema, invalid data refused,
state changes refused without the token). A bounded budget in the test command; `-m soak` runs longer.

The plug runs with a run-time SmartMeter address on loopback (`--meter`), which a generated
PUT /api/smartplug/v1/meter cannot override: the plug never polls an address outside loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from smartmeter_rig import NETWORKS
from smartmeter_rig import provision as provision_meter
from smartplug_rig import plug_board

from firmware.apps.common.tls import CERT_FILE
from hil.board_process import BoardProcess
from hil.openapi import load_openapi

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection, ignored_auth]
QUICK = settings(max_examples=12, deadline=None, derandomize=True,
                 suppress_health_check=list(HealthCheck))
SOAK = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


# invalid data is refused as 4xx; the modules' 413 (a body over 1 KiB) and 421 (a Host not theirs) too.
# 501 (OTA not built) and 503 (no current reading: this SmartMeter has no P1 line) are documented
# answers, not failures; a 500 always is one
CONFIG = SchemathesisConfig.from_dict({"checks": {
    "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 413, 421, 422]},
    "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", 501, 503, 507]}}})


def _schema(kind: str) -> schemathesis.schemas.BaseSchema:
    # the stream never ends; deleting the rig's own user would turn every later call into a 401
    return (schemathesis.openapi.from_dict(load_openapi(kind), config=CONFIG)
            .exclude(path="/events").exclude(method="DELETE", path="/api/user"))


METER = _schema("smartmeter")
PLUG = _schema("smartplug")
# API v2 over HTTPS, both modules (docs/openapi/v2.yaml); the client verifies the module's own certificate
V2 = (schemathesis.openapi.from_dict(load_openapi("v2"), config=CONFIG)
      .exclude(method="DELETE", path="/api/user"))


@pytest.fixture(scope="module")
def meter_board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoardProcess]:
    """A SmartMeter without a P1 line (its reading APIs answer 503 as documented)."""
    flash = tmp_path_factory.mktemp("schema-meter") / "flash"
    provision_meter(flash)
    b = BoardProcess("smartmeter", flash, networks=dict(NETWORKS))
    with b:
        b.start()
        yield b


@pytest.fixture(scope="module")
def plug_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoardProcess]:
    """A SmartPlug whose SmartMeter link is pinned to a closed loopback port for this run."""
    b = plug_board(Path(tmp_path_factory.mktemp("schema-plug")))
    b.extra += ["--meter", "127.0.0.1:9"]
    with b:
        b.start()
        yield b


def _run(case: schemathesis.Case, board: BoardProcess) -> None:
    assert board.token is not None
    case.call_and_validate(base_url=board.base_url, headers={"Authorization": f"Bearer {board.token}"},
                           checks=CHECKS, timeout=20)


@METER.parametrize()
@QUICK
def test_smartmeter_api(case: schemathesis.Case, meter_board: BoardProcess) -> None:
    _run(case, meter_board)


@PLUG.parametrize()
@QUICK
def test_smartplug_api(case: schemathesis.Case, plug_dev: BoardProcess) -> None:
    _run(case, plug_dev)


def _run_v2(case: schemathesis.Case, board: BoardProcess) -> None:
    assert board.token is not None
    port = board.wait_https()
    case.call_and_validate(base_url=f"https://127.0.0.1:{port}",
                           headers={"Authorization": f"Bearer {board.token}"}, checks=CHECKS, timeout=20,
                           verify=str(board.flash / CERT_FILE))


@V2.parametrize()
@QUICK
def test_smartmeter_api_v2(case: schemathesis.Case, meter_board: BoardProcess) -> None:
    _run_v2(case, meter_board)


@V2.parametrize()
@QUICK
def test_smartplug_api_v2(case: schemathesis.Case, plug_dev: BoardProcess) -> None:
    _run_v2(case, plug_dev)


@pytest.mark.soak
@METER.parametrize()
@SOAK
def test_smartmeter_api_soak(case: schemathesis.Case, meter_board: BoardProcess) -> None:
    _run(case, meter_board)


@pytest.mark.soak
@PLUG.parametrize()
@SOAK
def test_smartplug_api_soak(case: schemathesis.Case, plug_dev: BoardProcess) -> None:
    _run(case, plug_dev)


@pytest.mark.soak
@V2.parametrize()
@SOAK
def test_smartmeter_api_v2_soak(case: schemathesis.Case, meter_board: BoardProcess) -> None:
    _run_v2(case, meter_board)


@pytest.mark.soak
@V2.parametrize()
@SOAK
def test_smartplug_api_v2_soak(case: schemathesis.Case, plug_dev: BoardProcess) -> None:
    _run_v2(case, plug_dev)
