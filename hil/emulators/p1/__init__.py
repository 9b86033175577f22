"""The P1 emulator: a meter's state, its telegrams per profile, line faults, and a writer that streams them.

- `meter.MeterState`: registers, tariffs, capacity objects, gas, advancing with power over time (pure).
- `profiles.PROFILES`: e-MUCS 1.7 / 2.x (three- and single-phase), DSMR 5, DSMR 4.2, DSMR 2.2, Smarty.
- `encoder.encode_telegram`: the exact bytes a meter sends.
- `source.TelegramSource`: one telegram per period from a meter and a load.
- `faults.FaultInjector`: faults on demand, each recorded with its expected effect on the reader.
- `writer.P1Writer`: streams to a pty pair it creates, any pyserial URL, or (`listen.LineServer`) any
  number of TCP clients, at the line rate.
- `recording`: record and replay a P1 line; `decode`: telegram files and recordings to JSON;
  `names`: object names, identifiers as text, local times with their offset.
"""
