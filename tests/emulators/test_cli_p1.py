"""`hil p1`: --help on every verb, decode (table and --json) of the shared telegrams and of recordings,
emulate / record / replay on real lines."""

import json
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from firmware.timebase import local_to_utc
from hil import testdata
from hil.cli import p1 as cli_p1
from hil.cli.p1 import p1_app
from hil.emulators.p1.decode import decode_bytes
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.recording import Chunk, write_recording
from hil.emulators.p1.source import ConstantLoad, TelegramSource, new_meter
from hil.emulators.p1.writer import P1Writer

TELEGRAMS = testdata.telegram_dir()
runner = CliRunner()


def crc_per_source():
    """CRC status of each example file, as SOURCES.md lists it (VALID / INVALID / NO_CRC)."""
    out = {}
    for line in (TELEGRAMS / 'SOURCES.md').read_text().splitlines():
        cells = [c.strip() for c in line.split('|')]
        if len(cells) > 4 and cells[1].endswith('.txt'):
            out[cells[1]] = {'VALID': 'ok', 'INVALID': 'bad', 'NO_CRC': 'absent'}[cells[4]]
    return out


@pytest.mark.parametrize('verb', [None, 'emulate', 'record', 'replay', 'decode', 'monitor'])
def test_help_on_every_verb(verb):
    r = runner.invoke(p1_app, ([verb] if verb else []) + ['--help'])
    assert r.exit_code == 0 and 'Usage' in r.output


def test_hil_p1_help_through_the_installed_command():
    hil = str(Path(sys.executable).parent / 'hil')
    r = subprocess.run([hil, 'p1', '--help'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and 'emulate' in r.stdout and 'decode' in r.stdout


SOURCES = crc_per_source()


@pytest.mark.parametrize('name', sorted(SOURCES))
def test_decode_json_of_every_example_telegram(name):
    r = runner.invoke(p1_app, ['decode', '--json', str(TELEGRAMS / name)])
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(objs) == 1
    assert objs[0]['crc'] == SOURCES[name]
    assert r.exit_code == (1 if SOURCES[name] == 'bad' else 0)
    assert set(objs[0]) == {'file', 'crc', 'header', 'objects', 'history'}
    assert objs[0]['file'] == str(TELEGRAMS / name)
    for ref, o in objs[0]['objects'].items():
        assert re.fullmatch(r'\d+-\d+:\d+\.\d+\.\d+(\*\d+)?', ref)
        assert {'value', 'unit', 'timestamp', 'local', 'name'} <= set(o) <= {'value', 'unit', 'timestamp',
                                                                            'local', 'name', 'text'}
        assert o['timestamp'] is None or re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', o['timestamp'])
        assert o['local'] is None or re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00',
                                                  o['local'])


def test_decode_json_values_of_a_fluvius_telegram():
    r = runner.invoke(p1_app, ['decode', '--json', str(TELEGRAMS / 'dsmr_parser_08.txt')])
    t = json.loads(r.stdout)
    o = t['objects']
    assert t['header'] == 'FLU5\\253769484_A'
    assert o['0-0:1.0.0'] == {'value': None, 'unit': None, 'timestamp': '2023-11-02T11:15:48Z',
                              'local': '2023-11-02T12:15:48+01:00', 'name': 'meter clock'}
    assert o['1-0:1.8.1'] == {'value': 301.548, 'unit': 'kWh', 'timestamp': None, 'local': None,
                              'name': 'import T1'}
    assert o['1-0:1.6.0'] == {'value': 3.064, 'unit': 'kW', 'timestamp': '2023-11-02T10:45:00Z',
                              'local': '2023-11-02T11:45:00+01:00', 'name': 'peak demand this month'}
    assert o['0-1:24.2.3'] == {'value': 92.287, 'unit': 'm3', 'timestamp': '2023-11-02T11:10:02Z',
                               'local': '2023-11-02T12:10:02+01:00',
                               'name': 'M-Bus 1 reading (not corrected)'}
    assert o['0-0:96.14.0']['value'] == 1
    assert t['history'][0] == {'month_start': '2023-07-31T22:00:00Z', 'peak_at': None, 'value': 0.0,
                               'unit': 'kW', 'month_start_local': '2023-08-01T00:00:00+02:00',
                               'peak_at_local': None}
    assert t['history'][3]['peak_at_local'] == '2023-10-16T13:00:00+02:00'
    assert {k: t['history'][3][k] for k in ('month_start', 'peak_at', 'value', 'unit')} == {
        'month_start': '2023-10-31T23:00:00Z', 'peak_at': '2023-10-16T11:00:00Z', 'value': 4.927,
        'unit': 'kW'}


def test_decode_shows_identifiers_as_text(monkeypatch):
    r = runner.invoke(p1_app, ['decode', '--json', str(TELEGRAMS / 'dsmr_parser_07.txt')])
    o = json.loads(r.stdout)['objects']
    assert o['0-0:96.1.1']['text'] == '1SAG3101021605'   # 3153414733313031303231363035 in the telegram
    assert o['0-1:96.1.1']['text'] == '7FLO2119033733' and o['0-1:96.1.1']['name'] == 'M-Bus 1 serial'
    assert 'text' not in o['1-0:1.8.1']
    monkeypatch.setattr(cli_p1.out, 'width', 200)
    r = runner.invoke(p1_app, ['decode', str(TELEGRAMS / 'dsmr_parser_07.txt')])
    assert '1SAG3101021605 (3153414733313031303231363035)' in r.stdout and '…' not in r.stdout
    assert '2020-05-12T13:54:09+02:00' in r.stdout and 'meter clock' in r.stdout


def test_decode_table_and_several_files():
    r = runner.invoke(p1_app, ['decode', str(TELEGRAMS / 'dsmr_parser_01.txt'),
                               str(TELEGRAMS / 'dsmr_parser_07.txt')])
    assert r.exit_code == 0
    assert 'OBIS' in r.output and '1-0:1.8.1' in r.output and '0-1:24.3.0' in r.output
    assert 'CRC absent' in r.output and 'CRC ok' in r.output


def test_decode_streams_a_cut_off_telegram_is_a_rejection():
    streams = TELEGRAMS / 'streams'
    cut = streams / 'dsmr_reader_interrupted_then_complete.txt'
    r = runner.invoke(p1_app, ['decode', '--json', str(cut)])
    assert r.exit_code == 1 and len(r.stdout.splitlines()) == 1
    r = runner.invoke(p1_app, ['decode', '--json', str(streams / 'dsmr_reader_partial_then_complete.txt')])
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 1


def test_decode_a_recording_like_its_bytes(tmp_path):
    raw = (TELEGRAMS / 'dsmr_parser_07.txt').read_bytes() + (TELEGRAMS / 'dsmr_reader_02.txt').read_bytes()
    path = tmp_path / 'two.p1rec'
    write_recording(path, {}, [Chunk(i * 0.01, raw[i:i + 100]) for i in range(0, len(raw), 100)])
    r = runner.invoke(p1_app, ['decode', '--json', str(path)])
    assert [json.loads(x)['crc'] for x in r.stdout.splitlines()] == ['ok', 'bad']
    assert r.exit_code == 1
    assert len(decode_bytes(raw).telegrams) == 2


def test_decode_of_a_missing_file_says_so():
    r = runner.invoke(p1_app, ['decode', '/nonexistent/x.txt'])
    assert r.exit_code == 2 and 'x.txt' in r.output


def loopback_server():
    server = socket.create_server(('127.0.0.1', 0))
    got = bytearray()

    def serve():
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(65536):
                got.extend(chunk)
        server.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return 'socket://127.0.0.1:%d' % server.getsockname()[1], got, th


def test_emulate_to_a_socket_with_a_fault_and_its_log(tmp_path):
    url, got, th = loopback_server()
    log = tmp_path / 'faults.json'
    r = runner.invoke(p1_app, ['emulate', '--profile', 'dsmr5', '--port', url, '--count', '3',
                               '--time-scale', '0.02', '--import-w', '2000', '--fault', 'wrong_crc@1',
                               '--log', str(log), '--start', '2024-03-31T00:59:59Z'])
    assert r.exit_code == 0, r.output
    th.join(5)
    assert r.stdout.strip().splitlines()[0] == url                      # stdout: where to connect
    dec = decode_bytes(bytes(got))
    assert [t.crc for t in dec.telegrams] == ['ok', 'bad', 'ok']
    assert dec.telegrams[0].objects['0-0:1.0.0'].ts == local_to_utc(2024, 3, 31, 1, 59, 59, 'W')
    assert dec.telegrams[2].objects['0-0:1.0.0'].ts == local_to_utc(2024, 3, 31, 3, 0, 1, 'S')   # DST
    j = json.loads(log.read_text())
    assert j['expected_counters']['crc_errors'] == 1 and j['faults'][0]['kind'] == 'wrong_crc'


def test_emulate_on_a_pty_pair_prints_the_other_end():
    r = runner.invoke(p1_app, ['emulate', '--count', '2', '--time-scale', '0.02'])
    assert r.exit_code == 0, r.output
    assert re.fullmatch(r'/dev/pts/\d+', r.stdout.strip().splitlines()[0])


@pytest.mark.parametrize('args, message', [
    (['--fault', 'meltdown@3'], 'expected a kind among'),
    (['--profile', 'dsmr9'], 'expected one of'),
    (['--start', 'yesterday'], 'expected ISO-8601'),
])
def test_emulate_refuses_bad_options(args, message):
    r = runner.invoke(p1_app, ['emulate', '--count', '1'] + args)
    assert r.exit_code == 2 and message in r.output


def test_record_and_replay_commands(tmp_path):
    p = get_profile('emucs17-1p')
    src = TelegramSource(p, new_meter(p, local_to_utc(2024, 6, 1, 12, 0, 0)), ConstantLoad(0, 1500))
    out = tmp_path / 'line.p1rec'
    with P1Writer(src, None, time_scale=0.05, count=2, first_at=2.0) as w:
        w.start()                  # telegrams start 0.1 s from now, while `record` is listening
        r = runner.invoke(p1_app, ['record', w.connect_to, str(out), '--duration', '0.6'])
        assert r.exit_code == 0, r.output
        assert w.join(0) and 'recorded %d bytes' % w.bytes_sent in r.output
    rec_bytes = decode_bytes(Path(out).read_bytes())        # a .p1rec is not raw bytes: nothing framed
    assert rec_bytes.telegrams == []
    r = runner.invoke(p1_app, ['decode', '--json', str(out)])
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 2

    url, got, th = loopback_server()
    r = runner.invoke(p1_app, ['replay', str(out), '--port', url, '--speed', '0'])
    assert r.exit_code == 0, r.output
    th.join(5)
    assert decode_bytes(bytes(got)).counters['accepted'] == 2


def test_monitor_prints_each_telegram_as_it_arrives():
    p = get_profile('emucs17-3p')
    src = TelegramSource(p, new_meter(p, local_to_utc(2024, 6, 1, 12, 0, 0), import_wh=(1234567, 7654)),
                         ConstantLoad(3600, 0))
    with P1Writer(src, None, time_scale=0.05, count=3, first_at=2.0) as w:
        w.start()
        r = runner.invoke(p1_app, ['monitor', w.connect_to, '--count', '3', '--duration', '5'])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == '0-0:96.1.1 meter serial: 1EMU0000000001'
    assert lines[1] == '0-1:96.1.1 M-Bus 1 serial: 7EMU0000000001'
    assert lines[2].startswith('2024-06-01T12:00:00+02:00  import T1 1234.567 kWh, import T2 7.654 kWh')
    assert lines[4].startswith('2024-06-01T12:00:02+02:00  import T1 1234.567 kWh, import T2 7.656 kWh')
    assert 'power import 3.600 kW' in lines[3] and 'CRC ok' in lines[4] and len(lines) == 5
    assert 'accepted 3' in r.output


def test_emulate_starting_registers_and_the_smarty_profile():
    url, got, th = loopback_server()
    r = runner.invoke(p1_app, ['emulate', '--profile', 'smarty', '--port', url, '--count', '2',
                               '--time-scale', '0.005', '--import-kwh', '100.5,0.25', '--export-kwh', '0,7'])
    assert r.exit_code == 0, r.output
    th.join(5)
    dec = decode_bytes(bytes(got))
    assert len(dec.telegrams) == 2 and dec.counters['parse_errors'] == 0
    o = dec.telegrams[0].objects
    assert dec.telegrams[0].header.startswith('Lux5')
    assert (str(o['1-0:1.8.0'].value), str(o['1-0:2.8.0'].value)) == ('100.750', '7.000')
    assert o['1-1:31.4.0'].unit == 'A' and [str(v) for v in o['1-1:31.4.0'].value] == ['40', '-40']


def test_emulate_rejects_bad_registers_and_a_port_with_listen():
    r = runner.invoke(p1_app, ['emulate', '--import-kwh', '12', '--count', '1'])
    assert r.exit_code == 2 and 'expected two registers in kWh' in r.output
    r = runner.invoke(p1_app, ['emulate', '--listen', 'nowhere', '--count', '1'])
    assert r.exit_code == 2 and 'expected HOST:PORT' in r.output
    r = runner.invoke(p1_app, ['emulate', '--listen', '127.0.0.1:0', '--port', 'socket://127.0.0.1:1'])
    assert r.exit_code == 2 and 'not both' in r.output


def test_decode_json_of_a_smarty_telegram_with_two_values_and_empty_texts(tmp_path):
    p = get_profile('smarty')
    path = tmp_path / 'smarty.txt'
    path.write_bytes(TelegramSource(p, new_meter(p, local_to_utc(2026, 4, 3, 17, 54, 31))).next().data)
    r = runner.invoke(p1_app, ['decode', '--json', str(path)])
    assert r.exit_code == 0, r.output
    o = json.loads(r.stdout)['objects']
    assert o['1-1:31.4.0'] == {'value': [40, -40], 'unit': 'A', 'timestamp': None, 'local': None,
                               'name': 'max current import / export'}
    assert o['0-0:96.13.2']['value'] is None and o['0-0:96.13.2']['name'] == 'text message 2'
    assert o['0-0:42.0.0']['text'] == 'SAG1099900000001'
    assert o['0-0:1.0.0']['local'] == '2026-04-03T17:54:31+02:00'
