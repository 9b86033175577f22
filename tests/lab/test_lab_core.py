"""The pure parts of the lab: place specs, heartbeats and the janitor's verdict, exports, resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from hil.lab.emulated import remote_view
from hil.lab.exports import export_rig, render_yaml
from hil.lab.lease import Beat, judge
from hil.lab.resolve import ResolveError, resolve
from hil.lab.spec import PlaceSpec, PlaceSpecError
from hil.rig import default_rig_path, load_rig
from hil.rig.load import load_rig_text
from tests.lab.conftest import ROOT

BENCH = ROOT / "rigs" / "bench-example.yaml"
keys = st.from_regex(r"[a-z][a-z0-9_]{1,8}", fullmatch=True).filter(lambda k: k != "name")
values = st.from_regex(r"[A-Za-z0-9_.:-]{1,10}", fullmatch=True)


# ---- place specs ---------------------------------------------------------------------------------------
def test_a_place_name_is_reserved_through_labgrids_name_filter():
    spec = PlaceSpec.parse("bench-a1")
    assert spec.name == "bench-a1" and spec.filters == {"name": "bench-a1"}


@given(st.dictionaries(keys, values, min_size=1, max_size=4))
def test_tags_parse_back_from_their_text(tags):
    spec = PlaceSpec.parse(",".join(f"{k}={v}" for k, v in tags.items()))
    assert spec.filters == tags
    assert PlaceSpec.parse(spec.text()) == spec


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "expected a place name or key=value"),
        ("m=smartplug", "expected a tag key [a-z][a-z0-9_]+ (2+ chars); got 'm'"),
        ("module=smartplug,lab", "item 2 ('lab'): expected key=value; got no '='"),
        ("module=a,module=b", "tag 'module' given twice"),
        ("module=smart plug", "expected a tag value"),
        ("bench a", "expected a place name"),
    ],
)
def test_a_bad_place_spec_says_what_was_expected_and_where(text, expected):
    with pytest.raises(PlaceSpecError) as err:
        PlaceSpec.parse(text)
    assert expected in str(err.value)


# ---- heartbeats and the janitor's verdict --------------------------------------------------------------
beats = st.builds(
    Beat,
    holder=st.from_regex(r"[a-z0-9.-]{1,10}/[a-z0-9-]{1,12}", fullmatch=True),
    pid=st.integers(1, 2**22),
    beat=st.floats(1e9, 3e9).map(lambda x: round(x, 3)),
    lease=st.sampled_from([1.0, 2.5, 30.0, 600.0]),
    token=st.from_regex(r"[A-Z0-9]{0,10}", fullmatch=True),
    job=st.from_regex(r"[a-z0-9:_ -]{0,12}", fullmatch=True),  # spaces become _
)


@given(beats)
def test_a_heartbeat_survives_the_place_comment(beat):
    assert Beat.parse(beat.comment()) == beat


@pytest.mark.parametrize(
    "comment",
    [
        "",
        "reserved for the afternoon",
        "hil-lease holder=a/b",
        "hil-lease holder=a/b pid=1 beat=x lease=3 token=- job=-",
        "hil-lease holder=a/b pid=1 beat=1 lease=0 token=- job=-",
        "hil-lease holder=a/b pid=1 beat=nan lease=3 token=- job=-",
        "hil-lease holder=a/b pid=1 beat=1 lease=3 token=- job=- extra=1",
    ],
)
def test_a_comment_that_is_not_a_whole_heartbeat_is_not_one(comment):
    assert Beat.parse(comment) is None


def test_the_janitor_releases_only_a_stale_lease_of_the_holder_that_wrote_it():
    beat = Beat("ci/job-7", 7, 1000.0, 10.0, "TOKEN7", "42")
    c = beat.comment()
    assert judge("p", None, c, None, 2000.0).action == "skip"  # not acquired
    assert judge("p", "me/human", "", None, 2000.0).action == "skip"  # no heartbeat: a person's
    assert judge("p", "ci/job-8", c, None, 2000.0).action == "skip"  # an older holder's beat
    assert judge("p", "ci/job-7", c, "TOKEN7", 1009.9).action == "keep"  # within the lease
    v = judge("p", "ci/job-7", c, None, 1010.5)
    assert (v.action, v.holder, v.token) == ("release", "ci/job-7", "TOKEN7")  # the beat's token
    assert judge("p", "ci/job-7", c, "OTHER", 1010.5).token == "OTHER"  # the place's own first
    assert judge("p", "ci/job-7", c, None, 1010.5, stale_s=60).action == "keep"  # a more patient janitor


# ---- exports and resolution ---------------------------------------------------------------------------
def test_a_bench_exports_builtin_resources_named_after_its_parts():
    export = export_rig(load_rig(BENCH), "bench-host", tags={"lab": "gent"})
    r = export.resources
    assert r["meter-console"] == {
        "cls": "RawSerialPort",
        "speed": 115200,
        "port": "/dev/serial/by-id/usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0",
    }
    assert r["plug2-console"] == {
        "cls": "NetworkSerialPort",
        "host": "10.20.0.8",
        "port": 4002,
        "speed": 115200,
        "protocol": "rfc2217",
    }
    assert r["meter-http"] == {
        "cls": "NetworkService",
        "address": "smartmeter.local",
        "port": 80,
        "username": "http",
    }
    assert r["dmm"] == {"cls": "NetworkService", "address": "10.20.0.23", "port": 5025, "username": "scpi"}
    assert r["analyzer"]["username"] == "vxi11"
    assert r["p1"]["cls"] == "RawSerialPort"
    assert "load" not in r and any(s.startswith("load: 'GPIB0::8::INSTR'") for s in export.skipped)
    assert export.places_config() == {
        "bench-example": {
            "matches": ["bench-host/bench-example/*"],
            "tags": {"rig": "bench-example", "module": "smartplug", "lab": "gent"},
        }
    }


def test_the_exporter_yaml_survives_labgrids_jinja_rendering(tmp_path: Path):
    config = pytest.importorskip("labgrid.remote.config", reason="labgrid is not installed (the lab extra)")
    export = export_rig(load_rig(BENCH), "bench-host")
    path = tmp_path / "exporter.yaml"
    path.write_text(render_yaml(export.exporter_config(), ["# a comment with # signs", "not exported: x"]))
    loaded = config.ResourceConfig(str(path)).data
    assert loaded["bench-example"]["pdu"] == export.resources["pdu"]


def test_a_held_place_resolves_into_the_urls_and_resources_the_rig_file_takes():
    rig = load_rig(BENCH)
    resources = {
        "meter-console": {"cls": "NetworkSerialPort", "host": "exp-a", "port": 50001, "protocol": "rfc2217"},
        "plug1-console": {"cls": "NetworkSerialPort", "host": "exp-a", "port": 50002, "protocol": "raw"},
        "meter-http": {"cls": "NetworkService", "address": "10.1.0.5", "port": 80, "username": "http"},
        "plug1-http": {"cls": "NetworkService", "address": "127.0.0.1", "port": 8081, "username": "http"},
        "p1": {"cls": "NetworkSerialPort", "host": "exp-a", "port": 50003},
        "dmm": {"cls": "NetworkService", "address": "exp-a", "port": 5025, "username": "scpi"},
        "analyzer": {"cls": "NetworkService", "address": "10.1.0.21", "port": 111, "username": "vxi11"},
        "spare": {"cls": "NetworkService", "address": "x", "port": 1, "username": "http"},
    }
    out = resolve(rig, resources)
    assert out.rig.boards["meter"].console == "rfc2217://exp-a:50001?ign_set_control"
    assert out.rig.boards["plug1"].console == "socket://exp-a:50002"
    assert out.rig.boards["meter"].http == "10.1.0.5"
    assert out.rig.boards["plug1"].http == "127.0.0.1:8081"
    assert out.rig.p1.port == "rfc2217://exp-a:50003?ign_set_control"
    assert out.rig.instruments["dmm"].resource == "TCPIP::exp-a::5025::SOCKET"
    assert out.rig.instruments["analyzer"].resource == "TCPIP::10.1.0.21::INSTR"
    assert out.rig.boards["plug3"] == rig.boards["plug3"]  # not in the place: as the file says
    assert out.rig.instruments["load"] == rig.instruments["load"]
    assert out.unused == ("spare",)
    assert len(out.addresses) == 7


@pytest.mark.parametrize(
    "name, res, expected",
    [
        (
            "p1",
            {"cls": "NetworkService", "address": "x", "port": 1, "username": "http"},
            "expected a NetworkSerialPort",
        ),
        ("p1", {"cls": "NetworkSerialPort", "host": "x", "port": None}, "is the place acquired"),
        (
            "dmm",
            {"cls": "NetworkService", "address": "x", "port": 22, "username": "root"},
            "username scpi or vxi11",
        ),
    ],
)
def test_a_resource_that_cannot_stand_for_its_part_is_refused_with_the_reason(name, res, expected):
    with pytest.raises(ResolveError) as err:
        resolve(load_rig(BENCH), {name: res})
    assert expected in str(err.value) and name in str(err.value)


def test_an_emulated_rig_file_cannot_stand_for_a_place():
    with pytest.raises(ResolveError) as err:
        resolve(load_rig(default_rig_path()), {})
    assert "expected the rig file of the bench" in str(err.value) and "boards.meter" in str(err.value)


def test_an_emulated_rig_seen_through_a_place_is_a_valid_rig_of_real_parts_in_real_time():
    rig = load_rig(default_rig_path())
    seen = load_rig_text(yaml.safe_dump(remote_view(rig)))
    assert seen.time_scale == 1 and not any(b.emulated for b in seen.boards.values())
    assert not any(i.emulated for i in seen.instruments.values())
    assert set(seen.boards) == set(rig.boards) and set(seen.instruments) == set(rig.instruments)
    assert seen.features() - {"real_boards"} == rig.features() - {"emulated"}


def test_hil_rig_export_writes_the_exporter_config_and_the_place(tmp_path: Path):
    from hil.cli import app

    result = CliRunner().invoke(
        app,
        [
            "rig",
            "export",
            str(BENCH),
            "--exporter",
            "bench-host",
            "--tag",
            "lab=gent",
            "-o",
            str(tmp_path / "exporter.yaml"),
            "--places",
            str(tmp_path / "places.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    exporter = yaml.safe_load((tmp_path / "exporter.yaml").read_text())
    assert set(exporter["bench-example"]) >= {"location", "meter-console", "meter-http", "p1", "pdu"}
    text = (tmp_path / "exporter.yaml").read_text()
    assert all(line.startswith("##") for line in text.splitlines() if line.lstrip().startswith("#"))
    assert yaml.safe_load((tmp_path / "places.yaml").read_text())["bench-example"]["tags"]["lab"] == "gent"
    bad = CliRunner().invoke(app, ["rig", "export", str(BENCH), "--tag", "l=x"])
    assert bad.exit_code != 0 and "expected a tag key" in bad.output
