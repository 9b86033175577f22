"""`hil p1`: the P1 emulator, P1 line recording and replay, a telegram decoder and a live monitor."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import serial
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from firmware.timebase import CET, iso_utc
from hil.emulators.p1.names import local_iso
from hil.emulators.p1.profiles import PROFILES, Profile, get_profile
from hil.emulators.p1.recording import Chunk

p1_app = typer.Typer(help="P1 port: emulate a meter, record and replay a line, decode telegrams.",
                     no_args_is_help=True)
console = Console(stderr=True)
out = Console()

ProfileOpt = Annotated[str, typer.Option(help="Meter profile: %s." % ', '.join(PROFILES))]


def _profile(key: str) -> Profile:
    """Return the profile, or a usage error naming the known ones."""
    try:
        return get_profile(key)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def _parse_start(text: str | None) -> int:
    """Return the UTC epoch of an ISO-8601 time with zone (now when None)."""
    if text is None:
        return int(time.time())
    import datetime as dt
    try:
        d = dt.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        raise typer.BadParameter('--start %r: expected ISO-8601 like 2024-03-31T00:59:30Z' % text) from None
    if d.tzinfo is None:
        raise typer.BadParameter('--start %r: expected a time zone (Z or +01:00)' % text)
    return int(d.timestamp())


def _registers_wh(text: str, option: str) -> tuple[int, int]:
    """Return (T1, T2) in Wh of 'kWh,kWh' text (three decimals at most), or a usage error."""
    from firmware.fixed import parse_dec

    parts = text.split(',')
    values = [parse_dec(x.strip()) for x in parts]
    if len(parts) != 2 or any(v is None or v.m < 0 or v.e > 3 for v in values):
        raise typer.BadParameter('%r: expected two registers in kWh with up to 3 decimals, e.g. '
                                 '4592.767,6664.174' % text, param_hint=option)
    return values[0].scaled(3), values[1].scaled(3)  # type: ignore[union-attr]


@p1_app.command('emulate')
def emulate(
    profile: ProfileOpt = 'emucs17-3p',
    port: Annotated[str | None, typer.Option(help="pyserial URL to write to (/dev/ttyUSB0, "
                                             "socket://host:port, rfc2217://host:port). Default: a new pty "
                                             "pair.")] = None,
    listen: Annotated[str | None, typer.Option(help="Serve the line to TCP clients on HOST:PORT instead "
                                               "(several at once; Home Assistant DSMR network mode, "
                                               "ser2net style), e.g. 127.0.0.1:2000.")] = None,
    wait_clients: Annotated[int, typer.Option(min=0, help="With --listen: start the meter once this many "
                                              "clients are connected.")] = 0,
    import_kwh: Annotated[str, typer.Option(help="Starting import registers, kWh: T1,T2 (Smarty: their "
                                            "sum is 1.8.0).")] = '4592.767,6664.174',
    export_kwh: Annotated[str, typer.Option(help="Starting export registers, kWh: T1,T2."
                                            )] = '1269.851,439.646',
    gas_m3: Annotated[float, typer.Option(min=0, help="Starting gas register, m3.")] = 12785.123,
    import_w: Annotated[float, typer.Option(min=0, help="Import power, W.")] = 1200,
    export_w: Annotated[float, typer.Option(min=0, help="Export power, W.")] = 0,
    gas_dm3_h: Annotated[float, typer.Option(min=0, help="Gas flow, dm3/h.")] = 120,
    start: Annotated[str | None, typer.Option(help="Meter clock at the first telegram, ISO-8601 with zone "
                                              "(default: now).")] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many telegrams.")] = None,
    period: Annotated[float | None, typer.Option(min=0.01, help="Seconds between telegrams (default: the "
                                                 "profile's).")] = None,
    time_scale: Annotated[float, typer.Option(min=0.001, help="Real seconds per meter second (0.1 = ten "
                                              "times faster).")] = 1.0,
    fault: Annotated[list[str] | None, typer.Option(help="KIND@N[+EVERY][,key=value...], repeatable; kinds: "
                                                    "bitflip wrong_crc truncate drop garbage noise "
                                                    "wrong_baud cable_pull.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random fault details.")] = 0,
    log: Annotated[Path | None, typer.Option(help="Write the fault records (JSON) here when done.")] = None,
) -> None:
    """Run a meter on a serial line (or a TCP server), printing where to connect and a live status line."""
    if listen is not None and port is not None:
        raise typer.BadParameter('expected --port or --listen, not both', param_hint='--listen')
    if port is not None:
        from hil.cli.errors import check_serial

        check_serial('--port', port)  # one line of error, not a traceback from the writer's thread
    from hil.emulators.p1.faults import FaultInjector, parse_fault
    from hil.emulators.p1.source import ConstantLoad, TelegramSource, new_meter
    from hil.emulators.p1.writer import P1Writer, line_format

    prof = _profile(profile)
    t0 = _parse_start(start)
    listen_at = None
    if listen is not None:
        from hil.emulators.p1.listen import parse_listen
        try:
            listen_at = parse_listen(listen)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint='--listen') from None
    meter = new_meter(prof, t0, import_wh=_registers_wh(import_kwh, '--import-kwh'),
                      export_wh=_registers_wh(export_kwh, '--export-kwh'), gas_dm3=round(gas_m3 * 1000))
    source = TelegramSource(prof, meter, ConstantLoad(import_w, export_w, gas_dm3_h), period_s=period)
    injector = FaultInjector(line_format(source), prof.crc, seed)
    for text in fault or []:
        try:
            kind, first, every, params = parse_fault(text)
            if every is None:
                injector.schedule(first, kind, **params)
            else:
                injector.schedule_every(first, every, kind, **params)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint='--fault') from None
    try:
        writer = P1Writer(source, port, injector=injector, time_scale=time_scale, count=count,
                          listen=listen_at)
    except OSError as e:
        console.print('[red]cannot open the line %s: %s[/]' % (listen or port, e))
        raise typer.Exit(2) from None
    where = writer.connect_to
    console.print('[bold]P1 emulator[/] %s: %s, a telegram every %g s'
                  % (prof.key, prof.title, source.period_s))
    console.print('Connect the reader to [bold green]%s[/] at %s' % (where, prof.line_settings))
    print(where, flush=True)  # stdout: just the port, for scripts

    def status() -> Text:
        """Return the live status line."""
        m = source.meter
        clients = '' if writer.server is None else ' | clients %d' % len(writer.server.clients)
        return Text('sent %d telegrams (%d bytes)%s | faults %d | meter %s | import %s Wh | tariff %d'
                    % (len(writer.sent), writer.bytes_sent, clients, len(injector.log),
                       local_iso(m.t, m.std), '/'.join(str(v) for v in m.import_wh), m.tariff))

    try:
        if wait_clients and writer.server is not None:
            console.print('waiting for %d client(s)' % wait_clients)
            while not writer.server.wait_clients(wait_clients, 0.5):
                pass
    except KeyboardInterrupt:
        writer.stop()
        raise typer.Exit(1) from None
    writer.start()
    try:
        with Live(status(), console=console, refresh_per_second=4, transient=False) as live:
            while not writer.join(0.25):
                live.update(status())
            live.update(status())
        if not console.is_terminal:
            console.print()
    except KeyboardInterrupt:
        console.print('stopped')
    finally:
        writer.stop()
    for rec in injector.log:
        console.print('fault %-10s telegram %4d at %s: %s expect %s'
                      % (rec.kind, rec.telegram, iso_utc(rec.meter_ts), rec.detail, rec.expect))
    if log is not None:
        log.write_text(json.dumps({'profile': prof.key, 'telegrams': len(writer.sent),
                                   'expected_counters': injector.expected_counters(len(writer.sent)),
                                   'exact': injector.exact,
                                   'faults': [r.to_json() for r in injector.log]}, indent=1))


def _open_line(port: str, prof_key: str | None, baud: int | None, timeout: float,
               verb: str = 'p1') -> serial.Serial:
    """Open port with a profile's line settings (baud overridable); a one-line error when it cannot."""
    from hil.cli.errors import open_serial

    prof = _profile(prof_key or 'emucs17-3p')
    return open_serial(verb, port, baudrate=baud or prof.baudrate, bytesize=prof.bytesize,
                       parity=prof.parity, stopbits=prof.stopbits, timeout=timeout)


@p1_app.command('record')
def record_cmd(
    port: Annotated[str, typer.Argument(help="pyserial URL of the P1 line (/dev/ttyUSB0, socket://...).")],
    output: Annotated[Path, typer.Argument(help="Recording to write (.p1rec text).")],
    profile: Annotated[str | None, typer.Option(help="Line settings of this profile (default e-MUCS: "
                                                "115200 8N1; dsmr22 for 9600 7E1).")] = None,
    baud: Annotated[int | None, typer.Option(help="Override the baud rate.")] = None,
    duration: Annotated[float | None, typer.Option(min=0.1, help="Stop after this many seconds.")] = None,
    max_bytes: Annotated[int | None, typer.Option(min=1, help="Stop after this many bytes.")] = None,
) -> None:
    """Capture a P1 line to a file: raw bytes with their arrival times (Ctrl-C stops)."""
    from firmware.p1.reader import TelegramReader
    from hil.emulators.p1.recording import record

    ser = _open_line(port, profile, baud, 0.1, 'p1 record')
    reader = TelegramReader()
    t0 = time.monotonic()
    stop = threading.Event()
    total = 0

    def status() -> Text:
        """Return the live status line."""
        c = reader.counters
        return Text('%.1f s | %d bytes | telegrams %d | CRC errors %d | truncated %d'
                    % (time.monotonic() - t0, total, c['accepted'], c['crc_errors'], c['truncated']))

    live = Live(status(), console=console, refresh_per_second=4)
    with output.open('w', encoding='utf-8') as f, live:
        def on_chunk(chunk: Chunk) -> None:
            """Count and frame what arrived."""
            nonlocal total
            total += len(chunk.data)
            reader.feed(chunk.data)
            live.update(status())
        try:
            record(ser, f, duration=duration, max_bytes=max_bytes, stop=stop, on_chunk=on_chunk)
        except KeyboardInterrupt:
            pass
        finally:
            ser.close()
        live.update(status())
    if not console.is_terminal:
        console.print()
    console.print('recorded %d bytes to %s' % (total, output))


@p1_app.command('replay')
def replay_cmd(
    recording: Annotated[Path, typer.Argument(help="A .p1rec recording.")],
    port: Annotated[str | None, typer.Option(help="pyserial URL to write to. Default: a new pty "
                                             "pair.")] = None,
    speed: Annotated[float, typer.Option(min=0, help="1 = original pace, 10 = ten times faster, 0 = at "
                                         "once.")] = 1.0,
    delay: Annotated[float, typer.Option(min=0, help="Seconds to wait before playing (time to "
                                         "connect).")] = 0,
) -> None:
    """Play a recording back on a serial line at its original or an accelerated pace."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from hil.emulators.p1.recording import read_recording, replay
    from hil.serial_lines import PtyPair

    try:
        rec = read_recording(recording)
    except (OSError, ValueError) as e:
        console.print('[red]%s[/]' % e)
        raise typer.Exit(2) from None
    h = rec.header
    pair = None
    if port is None:
        pair = PtyPair()
        port, where = pair.names[0], pair.names[1]
    else:
        where = port
    from hil.cli.errors import open_serial

    ser = open_serial('p1 replay', port, baudrate=h.get('baudrate', 115200), bytesize=h.get('bytesize', 8),
                      parity=h.get('parity', 'N'), stopbits=h.get('stopbits', 1))
    console.print('Replaying %s (%d bytes, %.1f s) - connect the reader to [bold green]%s[/]'
                  % (recording, len(rec.data), rec.duration, where))
    print(where, flush=True)
    stop = threading.Event()
    if delay:
        stop.wait(delay)
    written = 0
    try:
        with Progress(TextColumn('[bold]replay[/]'), BarColumn(),
                      TextColumn('{task.completed}/{task.total} B'), TimeElapsedColumn(),
                      console=console) as progress:
            task = progress.add_task('replay', total=len(rec.data))
            written = replay(rec, ser, speed=speed, stop=stop,
                             on_chunk=lambda c: progress.advance(task, len(c.data)))
    except KeyboardInterrupt:
        stop.set()
    finally:
        if pair is not None:
            pair.drain(5, written)  # pass on what was written before closing the line
        ser.close()
        if pair is not None:
            pair.close()


def _shown(value: object) -> str:
    """Return a value as text; several values (Smarty 1-1:31.4.0) joined by ' / '."""
    if isinstance(value, tuple):
        return ' / '.join(str(v) for v in value)
    return str(value)


@p1_app.command('decode')
def decode_cmd(
    files: Annotated[list[Path], typer.Argument(help="Telegram files (raw bytes) or .p1rec recordings.")],
    as_json: Annotated[bool, typer.Option('--json', help="One JSON object per telegram on stdout.")] = False,
    std: Annotated[int, typer.Option(help="The meter's standard time offset, minutes east of UTC.")] = CET,
) -> None:
    """Decode telegrams with the firmware's reader and parser; exit status 1 when any was rejected."""
    from hil.emulators.p1.decode import decode_bytes, load_bytes, telegram_json
    from hil.emulators.p1.names import decoded_text, object_name

    rejected = 0
    for path in files:
        try:
            data = load_bytes(path)
        except (OSError, ValueError) as e:
            console.print('[red]%s: %s[/]' % (path, e))
            raise typer.Exit(2) from None
        result = decode_bytes(data, std)
        rejected += len(result.rejected)
        for no, t in enumerate(result.telegrams, start=1):
            if as_json:
                sys.stdout.write(json.dumps(telegram_json(t, str(path), std)) + '\n')
                continue
            table = Table(title='%s #%d  /%s  CRC %s' % (path, no, t.header, t.crc), title_justify='left')
            for col in ('OBIS', 'name', 'value', 'unit', 'time (local)'):
                table.add_column(col, overflow='fold')
            for ref, o in t.objects.items():
                text = decoded_text(ref, o.value)
                shown = '' if o.value is None else _shown(o.value)
                table.add_row(ref, object_name(ref), shown if text is None else '%s (%s)' % (text, shown),
                              o.unit or '', local_iso(o.ts, std) or '')
            for m, p, v, u in t.history:
                table.add_row('', '  peak of month from %s' % (local_iso(m, std) or '-'), str(v), u or '',
                              local_iso(p, std) or '-')
            out.print(table)
            for line_no, line, reason in t.errors:
                console.print('[yellow]line %d %r: %s[/]' % (line_no, line, reason))
        for reason, raw in result.rejected:
            console.print('[red]%s: rejected %d bytes: %s[/]' % (path, len(raw), reason))
        if not as_json:
            console.print('%s: %s' % (path, ', '.join('%s %d' % kv for kv in result.counters.items())))
    if rejected:
        raise typer.Exit(1)


@p1_app.command('monitor')
def monitor_cmd(
    port: Annotated[str, typer.Argument(help="pyserial URL of the P1 line (the pty `emulate` printed, "
                                        "/dev/ttyUSB0, socket://...).")],
    profile: Annotated[str | None, typer.Option(help="Line settings of this profile (default 115200 8N1; "
                                                "dsmr22 for 9600 7E1).")] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many telegrams.")] = None,
    duration: Annotated[float | None, typer.Option(min=0.1, help="Stop after this many seconds.")] = None,
    std: Annotated[int, typer.Option(help="The meter's standard time offset, minutes east of UTC.")] = CET,
) -> None:
    """Read a P1 line with the firmware's reader and parser and print each telegram as it arrives."""
    from firmware.p1.parser import Telegram
    from firmware.p1.stack import P1Stack
    from hil.emulators.p1.names import decoded_text, object_name
    from hil.p1_fastcrc import crc16_arc as fast_crc

    shown_refs = ('1-0:1.8.0', '1-0:1.8.1', '1-0:1.8.2', '1-0:2.8.0', '1-0:2.8.1', '1-0:2.8.2', '1-0:1.7.0',
                  '1-0:2.7.0', '0-0:96.14.0', '1-0:1.4.0')

    def values(t: Telegram) -> str:
        """Return 'name value unit' of the main objects the telegram has."""
        parts = []
        for ref in shown_refs:
            o = t.objects.get(ref)
            if o is not None and o.value is not None:
                parts.append('%s %s%s' % (object_name(ref), _shown(o.value), ' ' + o.unit if o.unit else ''))
        return ', '.join(parts)

    ser = _open_line(port, profile, None, 0.1, 'p1 monitor')
    stack = P1Stack(std=std, crc=fast_crc)
    t0 = time.monotonic()
    ids: dict[str, str] = {}
    seen = 0
    console.print('Reading %s (Ctrl-C stops)' % port)
    try:
        while (count is None or seen < count) and (duration is None or time.monotonic() - t0 < duration):
            for t in stack.feed(ser.read(max(1, ser.in_waiting))):
                seen += 1
                for ref, o in t.objects.items():  # identifiers (serial, EAN) once, when they change
                    text = decoded_text(ref, o.value)
                    if text is not None and ids.get(ref) != text and ref[-6:-2] != '96.13':
                        ids[ref] = text
                        out.print('%s %s: %s' % (ref, object_name(ref), text), soft_wrap=True)
                clock = t.objects.get('0-0:1.0.0')
                when = (local_iso(clock.ts, std) if clock is not None else None) or '-'
                out.print('%s  %s, CRC %s' % (when, values(t), t.crc), soft_wrap=True)
                for line_no, line, reason in t.errors:
                    console.print('[yellow]line %d %r: %s[/]' % (line_no, line, reason))
    except KeyboardInterrupt:
        pass
    except (serial.SerialException, OSError) as e:  # the emulator (or the adapter) went away
        ended = e
    else:
        ended = None
    finally:
        ser.close()
    console.print('counters: %s' % ', '.join('%s %d' % kv for kv in stack.counters.items()))
    if ended is not None:
        from hil.cli.errors import fail

        fail('p1 monitor', '%s: the line ended after %d telegrams (expected more: the emulator or device '
             'went away): %s' % (port, seen, ended), 1)
