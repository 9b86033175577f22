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
    assert set(objs[0]) == {'crc', 'header', 'objects', 'history'}
    for ref, o in objs[0]['objects'].items():
        assert re.fullmatch(r'\d+-\d+:\d+\.\d+\.\d+(\*\d+)?', ref)
        assert set(o) == {'value', 'unit', 'timestamp'}
        assert o['timestamp'] is None or re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', o['timestamp'])


def test_decode_json_values_of_a_fluvius_telegram():
    r = runner.invoke(p1_app, ['decode', '--json', str(TELEGRAMS / 'dsmr_parser_08.txt')])
    t = json.loads(r.stdout)
    o = t['objects']
    assert t['header'] == 'FLU5\\253769484_A'
    assert o['0-0:1.0.0'] == {'value': None, 'unit': None, 'timestamp': '2023-11-02T11:15:48Z'}
    assert o['1-0:1.8.1'] == {'value': 301.548, 'unit': 'kWh', 'timestamp': None}
    assert o['1-0:1.6.0'] == {'value': 3.064, 'unit': 'kW', 'timestamp': '2023-11-02T10:45:00Z'}
    assert o['0-1:24.2.3'] == {'value': 92.287, 'unit': 'm3', 'timestamp': '2023-11-02T11:10:02Z'}
    assert o['0-0:96.14.0']['value'] == 1
    assert t['history'][0] == {'month_start': '2023-07-31T22:00:00Z', 'peak_at': None, 'value': 0.0,
                               'unit': 'kW'}
    assert t['history'][3] == {'month_start': '2023-10-31T23:00:00Z', 'peak_at': '2023-10-16T11:00:00Z',
                               'value': 4.927, 'unit': 'kW'}


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
    assert lines[0].startswith('2024-06-01 12:00:00S  T1 1234.567 / T2 7.654 kWh in')
    assert lines[2].startswith('2024-06-01 12:00:02S  T1 1234.567 / T2 7.656 kWh in')   # a Saturday: night
    assert '3.600 kW in' in lines[1] and 'CRC ok' in lines[2] and len(lines) == 3
    assert 'accepted 3' in r.output
