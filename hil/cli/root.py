"""The `hil` command: one entry point, one sub-command group per part of the rig."""

import typer

from hil.cli.board import board_app
from hil.cli.certify import certify_cmd
from hil.cli.cse7766 import cse7766_app
from hil.cli.flash import flash_cmd
from hil.cli.fuzz import fuzz_app
from hil.cli.image import build_cmd, image_app
from hil.cli.lab import lab_app, rig_export_cmd
from hil.cli.p1 import p1_app
from hil.cli.release import release_cmd
from hil.cli.rig import rig_app
from hil.cli.sim import sim_app

app = typer.Typer(
    help="bChain SmartHome hardware-in-the-loop rig: P1 emulator, boards, simulator, fuzzing, certification.",
    no_args_is_help=True,
    add_completion=False,
)

# Sub-command groups register below, one line each.
app.add_typer(fuzz_app, name="fuzz")
app.add_typer(p1_app, name="p1")
app.add_typer(board_app, name="board")
app.add_typer(sim_app, name="sim")
app.add_typer(rig_app, name="rig")
app.add_typer(cse7766_app, name="cse7766")
app.command("certify")(certify_cmd)
app.add_typer(lab_app, name="lab")
rig_app.command("export")(rig_export_cmd)
app.add_typer(image_app, name="image")
app.command("build")(build_cmd)
app.command("release")(release_cmd)
app.command("flash")(flash_cmd)


def main() -> None:
    """Run the `hil` command line."""
    app(prog_name="hil")


if __name__ == "__main__":
    main()
