"""`hil p1 emulate --listen`: outside clients read the emulated meter over TCP, several at once.

dsmr-parser's own SocketReader (what its users and ser2net setups run) is the client: it connects to the
emulator's listening socket, reads until the emulator closes the line, and must parse every telegram with
its CRC check; a second client, the firmware's P1 stack on a plain socket, reads the same bytes.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from decimal import Decimal

from dsmr_parser import telegram_specifications as specs
from dsmr_parser.clients.socket_ import SocketReader

from firmware.p1.stack import P1Stack
from hil.emulators.p1.listen import parse_listen
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.source import ConstantLoad, TelegramSource, new_meter
from hil.emulators.p1.writer import P1Writer


def dsmr_parser_client(host: str, port: int, spec: dict, out: list) -> threading.Thread:
    def run() -> None:
        out.extend(SocketReader(host, port, spec).read())

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def stack_client(host: str, port: int, out: list) -> threading.Thread:
    def run() -> None:
        stack = P1Stack(require_crc=True)
        with socket.create_connection((host, port), timeout=30) as s:
            while chunk := s.recv(4096):
                out.extend(stack.feed(chunk))
        out.append(dict(stack.counters))

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def test_the_cli_serves_dsmr_parser_clients_with_the_manuals_registers():
    proc = subprocess.Popen([sys.executable, '-m', 'hil.cli', 'p1', 'emulate', '--profile', 'emucs2-3p',
                             '--listen', '127.0.0.1:0', '--wait-clients', '3', '--count', '4',
                             '--time-scale', '0.02', '--import-w', '2500'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith('socket://127.0.0.1:'), (url, proc.stderr.read() if proc.stderr else '')
        host, port = parse_listen(url[len('socket://'):])
        got: list[list] = [[], [], []]
        threads = [dsmr_parser_client(host, port, specs.BELGIUM_FLUVIUS, got[0]),
                   dsmr_parser_client(host, port, specs.BELGIUM_FLUVIUS, got[1]),
                   stack_client(host, port, got[2])]
        assert proc.wait(60) == 0
    finally:
        proc.kill()
    for th in threads:
        th.join(30)
    for telegrams in got[:2]:
        assert len(telegrams) == 4                               # the last one too: drained, then closed
        first = telegrams[0]
        assert first.ELECTRICITY_USED_TARIFF_1.value == Decimal('4592.767')    # the default registers
        assert first.ELECTRICITY_DELIVERED_TARIFF_1.value == Decimal('1269.851')
        assert first.CURRENT_ELECTRICITY_USAGE.value == Decimal('2.500')
    *ours, counters = got[2]
    assert len(ours) == 4 and counters['crc_errors'] == 0 and counters['parse_errors'] == 0
    assert ours[0].objects['0-0:96.1.2'].value == '353431343439393030303030303030303031'  # an EAN, as hex


def test_a_client_joining_late_reads_from_the_next_telegram_and_a_leaving_one_is_dropped():
    p = get_profile('dsmr5')
    src = TelegramSource(p, new_meter(p, 1_700_000_000), ConstantLoad(800, 0, 0))
    with P1Writer(src, time_scale=0.01, count=6, listen=('127.0.0.1', 0)) as w:
        assert w.server is not None
        host, port = w.server.address
        early: list = []
        stay = stack_client(host, port, early)
        leaving = socket.create_connection((host, port))
        assert w.server.wait_clients(2, 30)
        w.start()
        assert w.wait_sent(2, 60)
        leaving.close()                                          # a client that goes away
        late: list = []
        joined = stack_client(host, port, late)
        assert w.server.wait_clients(3, 30)
        sent_when_joined = len(w.sent)                           # at least as many as when it was accepted
        assert w.join(60)
    stay.join(30)
    joined.join(30)
    *telegrams, counters = early
    assert len(telegrams) == 6 and counters['accepted'] == 6
    *later, late_counters = late
    # every telegram that started after it was accepted (one in flight then comes cut off: not counted)
    assert 6 - sent_when_joined - 1 <= len(later) <= 6 - 2 and late_counters['crc_errors'] == 0
    assert [t.objects['0-0:1.0.0'].ts for t in later] == [
        t.objects['0-0:1.0.0'].ts for t in telegrams[len(telegrams) - len(later):]]
    assert w.server.dropped == 1
