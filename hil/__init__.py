"""Hardware-in-the-loop framework for the bChain SmartHome firmware (host side, CPython)."""
