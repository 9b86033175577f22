"""Emulated lab instruments: SCPI servers on loopback that pyvisa reaches like real ones."""
