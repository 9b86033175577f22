"""`python -m hil.cli ...` runs the `hil` command."""

from hil.cli.root import main

main()
