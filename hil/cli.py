"""The `hil` command: one entry point, one sub-command group per part of the rig."""

import typer

app = typer.Typer(
    help="bChain SmartHome hardware-in-the-loop rig: P1 emulator, boards, simulator, fuzzing, certification.",
    no_args_is_help=True,
    add_completion=False,
)

# Sub-command groups register below, one line each.


def main() -> None:
    """Run the `hil` command line."""
    app()


if __name__ == "__main__":
    main()
