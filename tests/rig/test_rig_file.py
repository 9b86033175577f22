# ruff: noqa: E501  (tables of exact expected messages read best one per line)
"""Rig files: the shipped ones load; each kind of mistake is reported at its key, with its line."""

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from hil.rig import RigError, default_rig_path, load_rig, load_rig_text

ROOT = Path(__file__).resolve().parents[2]
EMULATED = (ROOT / "rigs" / "emulated.yaml").read_text()
BENCH = (ROOT / "rigs" / "bench-example.yaml").read_text()


def test_shipped_rigs_load() -> None:
    emulated = load_rig()
    assert default_rig_path() == ROOT / "rigs" / "emulated.yaml"
    assert emulated.fully_emulated
    assert emulated.smartmeter.name == "meter"
    assert [p.name for p in emulated.smartplugs] == ["plug1", "plug2", "plug3"]
    assert emulated.features() >= {"power_analyzer", "ac_load", "dmm", "pdu", "powerdetector", "emulated"}
    assert emulated.wired("plug1.output").kind == "power_analyzer"
    assert emulated.wired("pd1.contact", kind="dmm").name == "dmm"
    pdu, outlet = emulated.outlet("plug2")
    assert (pdu.name, outlet, pdu.outlets) == ("pdu", 3, 8)
    assert emulated.appliances["heatpump"].via == "pd1"
    bench = load_rig(ROOT / "rigs" / "bench-example.yaml")
    assert not bench.fully_emulated
    assert "real_boards" in bench.features()
    assert bench.instruments["analyzer"].model == "Yokogawa WT310E"
    assert bench.appliances["boiler"].instrument == "load"


def test_rig_identity_is_the_file_hash() -> None:
    a = load_rig_text(EMULATED)
    b = load_rig_text(EMULATED + "\n# a comment changes the file, so the record\n")
    assert len(a.sha256) == 64
    assert a.sha256 != b.sha256
    assert a.boards == b.boards


def test_with_resources_fills_in_started_instruments() -> None:
    rig = load_rig()
    started = rig.with_resources({"dmm": "TCPIP::127.0.0.1::40001::SOCKET"})
    assert started.instruments["dmm"].resource == "TCPIP::127.0.0.1::40001::SOCKET"
    assert rig.instruments["dmm"].resource == "auto"  # the loaded rig is not changed
    with pytest.raises(KeyError, match="no instrument\\(s\\) scope"):
        rig.with_resources({"scope": "x"})


def problems_of(text: str) -> list[str]:
    with pytest.raises(RigError) as err:
        load_rig_text(text, source="rig.yaml")
    return [p.text("rig.yaml") for p in err.value.problems]


def mutated(base: str, change: Callable[[dict], None]) -> str:
    data = copy.deepcopy(yaml.safe_load(base))
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


def setter(*path_and_value):
    *path, value = path_and_value

    def change(data: dict) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        if value is DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return change


DELETE = object()

EMULATED_MISTAKES = [
    (setter("version", 2), "version: expected 1 (the only rig-file version so far); got 2 (int)"),
    (setter("name", "My Rig"), "name: expected a name of lower-case letters"),
    (setter("colour", "red"), "colour: expected one of the keys name, version, description"),
    (setter("time_scale", 0), "time_scale: expected a number in 0.001 .. 3600; got 0 (int)"),
    (
        setter("boards", "plug1", "role", "plug"),
        "boards.plug1.role: expected one of smartmeter, smartplug; got 'plug'",
    ),
    (
        setter("boards", "plug1", "rol", "smartplug"),
        "boards.plug1.rol: expected one of the keys role, emulated",
    ),
    (
        setter("boards", "plug1", "mac", DELETE),
        "boards.plug1.mac: expected a MAC address like '24:6f:28:a1:b2:c3' (quoted); got nothing",
    ),
    (
        setter("boards", "plug1", "mac", "02:00:5e:00:00:01"),
        "boards.plug1.mac: expected a mac no other board uses; got '02:00:5e:00:00:01' (board meter uses it too)",
    ),
    (
        setter("boards", "plug1", "emulated", "yes please"),
        "boards.plug1.emulated: expected true or false; got 'yes please'",
    ),
    (
        setter("boards", "plug1", "console", "/dev/ttyUSB0"),
        "boards.plug1.console: expected auto, or socket:// or rfc2217:// on 127.0.0.1:<port>",
    ),
    (
        setter("boards", "plug1", "http", "192.168.1.20"),
        "boards.plug1.http: expected auto or 127.0.0.1:<port> (emulated boards serve on loopback only); got '192.168.1.20'",
    ),
    (
        setter("boards", "meter", "role", "smartplug"),
        "boards: expected exactly one board with role smartmeter; got '0: none defined'",
    ),
    (setter("boards", "Plug 4", {}), "boards.Plug 4: expected a name of lower-case letters"),
    (
        setter("p1", "profile", "dsmr3"),
        "p1.profile: expected one of emucs17-3p, emucs17-1p, emucs2-3p, emucs2-1p, dsmr5, dsmr42, dsmr22, smarty; got 'dsmr3'",
    ),
    (setter("p1", "board", "plug1"), "p1.board: expected the smartmeter board (meter); got 'plug1'"),
    (setter("p1", DELETE), "p1: expected a p1 section (profile, port, board); got nothing"),
    (
        setter("powerdetectors", "pd1", "plug", "meter"),
        "powerdetectors.pd1.plug: expected a smartplug board (plug1, plug2, plug3); got 'meter'",
    ),
    (
        setter("powerdetectors", "pd1", "pickup_ms", 0),
        "powerdetectors.pd1.pickup_ms: expected a number in 1 .. 1000 ms; got 0 (int)",
    ),
    (
        setter("appliances", "heatpump", "via", "pd2"),
        "appliances.heatpump.via: expected direct or a PowerDetector on plug2 (pd1); got 'pd2'",
    ),
    (
        setter("appliances", "boiler", "plug", "plug2"),
        "appliances.heatpump.plug: expected a plug no other appliance hangs on; got 'plug2' (boiler does)",
    ),
    (
        setter("appliances", "boiler", "kind", "sauna"),
        "appliances.boiler.kind: expected one of heater, boiler, heat_pump, ev, ebike, pool_pump, ac_load, real; got 'sauna'",
    ),
    (
        setter("appliances", "boiler", "params", {"litres": 200, "colour": "red"}),
        "appliances.boiler.params: expected parameters of a boiler model",
    ),
    (
        setter("appliances", "bank", "instrument", DELETE),
        "appliances.bank.instrument: expected the name of an ac_load instrument wired to this plug's output; got null (kind ac_load needs an AC electronic load",
    ),
    (
        setter("appliances", "bank", "instrument", "dmm"),
        "appliances.bank.instrument: expected an ac_load instrument (load); got 'dmm'",
    ),
    (
        setter("instruments", "dmm", "kind", "scope"),
        "instruments.dmm.kind: expected one of power_analyzer, ac_load, dmm, pdu; got 'scope'",
    ),
    (
        setter("instruments", "dmm", "resource", "TCPIP::10.0.0.5::5025::SOCKET"),
        "instruments.dmm.resource: expected auto or TCPIP::127.0.0.1::<port>::SOCKET (emulated instruments are loopback only)",
    ),
    (
        setter("instruments", "dmm", "model", "Keysight 34470A"),
        "instruments.dmm.model: expected Keysight 34461A or nothing (what the emulator answers as); got 'Keysight 34470A'",
    ),
    (
        setter("instruments", "dmm", "outlets", 4),
        "instruments.dmm.outlets: expected no outlets on a dmm (only a pdu has them); got 4 (int)",
    ),
    (
        setter("instruments", "pdu", "outlets", 40),
        "instruments.pdu.outlets: expected an integer in 1 .. 20; got 40 (int)",
    ),
    (
        setter("wiring", 0, "to", "plug1.contact"),
        "wiring[0].to: expected <smartplug>.output for a power_analyzer; got 'plug1.contact'",
    ),
    (
        setter("wiring", 0, "to", "meter.output"),
        "wiring[0].to: expected a smartplug's output (plug1, plug2, plug3); got 'meter.output'",
    ),
    (
        setter("wiring", 0, "instrument", "scope"),
        "wiring[0].instrument: expected one of the instruments (analyzer, load, dmm, pdu); got 'scope'",
    ),
    (
        setter("wiring", 1, "to", "plug1.output"),
        "wiring[1].to: expected a plug whose appliance is played by load (instrument: load); got 'plug1.output' (appliance boiler on plug1 is a boiler of its own)",
    ),
    (
        setter("wiring", 3, "outlet", 9),
        "wiring[3].outlet: expected an outlet number 1 .. 8 of pdu; got 9 (int)",
    ),
    (
        setter("wiring", 3, "outlet", DELETE),
        "wiring[3].outlet: expected an outlet number 1 .. 8 of pdu; got null",
    ),
    (
        setter("wiring", 4, "outlet", 1),
        "wiring[4].outlet: expected an outlet no other wire uses; got 1 (int) (wiring[3] uses it)",
    ),
    (
        setter("wiring", 4, "to", "meter.power"),
        "wiring[4].to: expected a board no other outlet powers; got 'meter.power' (wiring[3] powers it)",
    ),
    (setter("wiring", 2, "outlet", 2), "wiring[2].outlet: expected no outlet on a dmm wire; got 2 (int)"),
]


@pytest.mark.parametrize(
    ("change", "message"), EMULATED_MISTAKES, ids=[m.split(":")[0] for _, m in EMULATED_MISTAKES]
)
def test_each_mistake_names_its_key_what_was_expected_and_what_came(change, message: str) -> None:
    found = problems_of(mutated(EMULATED, change))
    assert any(message in p for p in found), "\n".join(found)


BENCH_MISTAKES = [
    (
        setter("time_scale", 60),
        "time_scale: expected 1 on a rig with real boards (their firmware runs in real time); got 60 (int) (real boards: meter, plug1, plug2, plug3)",
    ),
    (
        setter("boards", "plug1", "http", "smartplug-ffffff.local"),
        "boards.plug1.http: expected smartplug-a1b2c3.local (the smartplug's mDNS name from its MAC); got 'smartplug-ffffff.local'",
    ),
    (
        setter("boards", "plug1", "console", "auto"),
        "boards.plug1.console: expected a serial port: /dev/..., COMn, socket://host:port or rfc2217://host:port; got 'auto' ('auto' is only for emulated parts)",
    ),
    (
        setter("p1", "port", "auto"),
        "p1.port: expected a serial port: /dev/..., COMn, socket://host:port or rfc2217://host:port; got 'auto' (a real meter is fed through a USB-serial adapter into its RJ12: name that port)",
    ),
    (
        setter("instruments", "analyzer", "model", DELETE),
        "instruments.analyzer.model: expected one of Yokogawa WT310E, Yokogawa WT310 (models the power_analyzer driver speaks); got null",
    ),
    (
        setter("instruments", "dmm", "resource", "TCPIP:10.20.0.23:5025"),
        "instruments.dmm.resource: expected a VISA resource such as TCPIP::10.0.0.5::5025::SOCKET",
    ),
    (
        setter("instruments", "dmm", "resource", "GPIB0::8::INSTR"),
        "instruments.dmm.resource: expected a resource no other instrument uses; got 'GPIB0::8::INSTR' (load uses it too)",
    ),
    (
        setter("appliances", "boiler", "instrument", DELETE),
        "appliances.boiler.instrument: expected the name of an ac_load instrument wired to this plug's output; got null (a boiler model behind the real plug plug2 needs an AC electronic load",
    ),
    (
        setter("appliances", "bank", "params", {"ohms": 26}),
        "appliances.bank.params: expected no params for kind real",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), BENCH_MISTAKES, ids=[m.split(":")[0] for _, m in BENCH_MISTAKES]
)
def test_bench_mistakes(change, message: str) -> None:
    found = problems_of(mutated(BENCH, change))
    assert any(message in p for p in found), "\n".join(found)


def test_problems_carry_file_and_line_and_all_are_reported_at_once() -> None:
    text = EMULATED.replace("role: smartmeter", "role: meter").replace(
        'mac: "02:00:5e:00:01:01"', "mac: 12:34:56:12:34:56"
    )
    found = problems_of(text)
    lines = EMULATED.splitlines()
    role_line = next(i for i, line in enumerate(lines, 1) if "role: smartmeter" in line)
    mac_line = next(i for i, line in enumerate(lines, 1) if '"02:00:5e:00:01:01"' in line)
    assert (
        f"rig.yaml:{role_line}: boards.meter.role: expected one of smartmeter, smartplug; got 'meter'"
        in found
    )
    assert any(
        p.startswith(f"rig.yaml:{mac_line}: boards.plug1.mac:")
        and "YAML reads an unquoted all-digit MAC" in p
        for p in found
    )


def test_duplicate_keys_are_problems_not_overrides() -> None:
    text = EMULATED.replace("  plug3:\n", "  plug2:\n", 1)
    found = problems_of(text)
    assert any(
        "boards.plug2: expected each key once; got a second 'plug2' (first on line" in p for p in found
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("boards: [unclosed\n", "rig.yaml:2: (YAML): expected valid YAML; got"),
        (
            "",
            "rig.yaml: (top level): expected a mapping with name, version, boards, p1, ...; got an empty file",
        ),
        (
            "- a\n- b\n",
            "(top level): expected a mapping with name, version, boards, p1, ...; got a list of 2 item(s)",
        ),
        (
            "name: x\nversion: 1\np1: {profile: dsmr5, port: auto, board: m}\n",
            "boards: expected a mapping of board names to boards; got nothing",
        ),
    ],
)
def test_unusable_files(text: str, message: str) -> None:
    found = problems_of(text)
    assert any(message in p for p in found), "\n".join(found)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(
        RigError, match=r"nowhere.yaml: \(file\): expected a readable rig file; got No such file"
    ):
        load_rig(tmp_path / "nowhere.yaml")
