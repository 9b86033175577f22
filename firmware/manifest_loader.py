# The loader (micropython-lib manifest style; see manifest_common.py): /boot.py and /main.py at the root
# of a board's filesystem. Flashed once with the board and never part of an update (docs/ota.md): it picks
# the application slot whose image manifest_smartmeter.py / manifest_smartplug.py describe.
metadata(description="bChain loader: slot choice, trial boots, watchdog, rollback", version="1.0.0")

module("boot.py")
module("main.py")
