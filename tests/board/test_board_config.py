"""BoardConfig: validated when built, loaded from rig files."""

import json

import pytest

from hil.board.config import BoardConfig, read_networks


def test_defaults_and_derived_values(tmp_path):
    c = BoardConfig(kind="smartplug", mac="24:6f:28:10:02:1e", flash=tmp_path / "flash")
    assert c.name == "smartplug-10021e"
    assert c.io_dir == tmp_path / "flash.io"
    assert c.http_host_port == ("127.0.0.1", 8080)
    assert c.mac_bytes == bytes.fromhex("246f2810021e")


@pytest.mark.parametrize(("kw", "msg"), [
    ({"kind": "toaster"}, "kind"),
    ({"mac": "24:6f:28"}, "expected 6 hex bytes"),
    ({"uarts": {"p1": "/dev/null"}}, "uart 'p1' on a smartplug: expected one of \\['metering'\\]"),
    ({"http": "localhost"}, "expected HOST:PORT"),
    ({"http": "127.0.0.1:99999"}, "expected HOST:PORT"),
    ({"networks": {"": "x"}}, "SSID of 1..32"),
    ({"reset": "reboot"}, "reset"),
    ({"rxbuf": 10}, "rxbuf"),
])
def test_bad_values_fail_when_built_and_name_the_field(tmp_path, kw, msg):
    args = {"kind": "smartplug", "mac": "24:6f:28:10:02:1e", "flash": tmp_path, **kw}
    with pytest.raises(ValueError, match=msg):
        BoardConfig(**args)


def test_from_file_yaml_and_json(tmp_path):
    y = tmp_path / "plug.yaml"
    y.write_text("kind: smartplug\nmac: 24:6f:28:10:02:1e\nflash: %s\nuarts: {metering: /dev/pts/9}\n"
                 "networks: {home: secret}\n" % (tmp_path / "f"))
    c = BoardConfig.from_file(y)
    assert c.uarts == {"metering": "/dev/pts/9"} and c.networks == {"home": "secret"}
    j = tmp_path / "meter.json"
    j.write_text(json.dumps({"kind": "smartmeter", "mac": "aa:bb:cc:00:00:01", "flash": str(tmp_path / "m"),
                             "networks": str(tmp_path / "nets.yaml")}))
    c2 = BoardConfig.from_file(j)
    assert c2.networks == tmp_path / "nets.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: smartplug\nmac: 24:6f:28:10:02:1e\nflash: x\nflsh: y\n")
    with pytest.raises(ValueError, match=r"unknown keys \['flsh'\]"):
        BoardConfig.from_file(bad)
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="expected a mapping"):
        BoardConfig.from_file(bad)


def test_networks_table_from_a_file_the_rig_rewrites(tmp_path):
    p = tmp_path / "nets.yaml"
    assert read_networks(p) == {}  # no file yet: no networks in range
    p.write_text("home: secret\n")
    assert read_networks(p) == {"home": "secret"}
    p.write_text("- home\n")
    with pytest.raises(ValueError, match="mapping of SSID to password"):
        read_networks(p)
