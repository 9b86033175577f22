"""Shared bench rigs on labgrid: places, reservations and leases (docs/lab.md).

labgrid decides who may use which bench and where its parts are reachable; the rig file stays the
description of what the bench is. Nothing here imports labgrid at import time except
:mod:`hil.lab.session` (and what uses it), so the project works without the optional ``lab`` extra.

- :mod:`hil.lab.spec`: ``--rig-place`` values (a place name or ``key=value,...`` tags).
- :mod:`hil.lab.lease`: the heartbeat written into a held place's comment and the janitor's verdict.
- :mod:`hil.lab.exports`: exporter configuration and place definitions from a rig file.
- :mod:`hil.lab.resolve`: a held place's resources -> the rig file's URLs, host:port pairs, VISA strings.
- :mod:`hil.lab.session`: one labgrid client session per process; :mod:`hil.lab.held`: a held place (lease).
- :mod:`hil.lab.janitor`: frees places whose holder stopped beating.
- :mod:`hil.lab.procs`: coordinator and exporter processes on loopback (process groups, no orphans).
- :mod:`hil.lab.emulated`: ``hil rig up --export``: an emulated rig as a place;
  :mod:`hil.lab.console_tcp` serves its consoles; with ``--world`` :mod:`hil.lab.world_service` serves its
  world controls, which :mod:`hil.lab.remote_rig` drives from the place's holder.
- :mod:`hil.lab.pytest_places`: the pytest options ``--rig-place`` and friends.
- :mod:`hil.lab.loopback`, :mod:`hil.lab.holder`, :mod:`hil.lab.measure`: a lab on loopback, another
  client process, and the measured times (tests and README).

The command line is :mod:`hil.cli.lab` (``hil lab ...``, ``hil rig export``).
"""
