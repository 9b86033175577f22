# What every bChain module's image holds, in micropython-lib's manifest style (package / module /
# require / include / metadata). Evaluated on the host by hil/manifest.py (`hil build` lists an image
# from it; `python -m hil.manifest smartmeter` prints it); the same calls are what MicroPython's
# tools/manifestfile.py accepts, so the image can also be frozen into an interpreter build (code
# executed in place: see docs/memory.md).
#
# Paths are relative to this file (firmware/); base_path=".." makes an image path start with
# "firmware/", the package name the code imports. Not an import of the firmware: never run on a board.

# the portable core every app uses
package("firmware", files=("__init__.py", "errtext.py", "fixed.py", "storage.py", "timebase.py"), base_path="..")
# the ESP32 HAL (the host HAL lives in hil/board and never goes onto a board)
package("firmware/hal", files=("__init__.py", "esp32.py", "mdns.py"), base_path="..")
# the web layer both apps share
package("firmware/apps", files=("__init__.py",), base_path="..")
package("firmware/apps/common", base_path="..")
# updates over the air: POST /update, the checks, the slots (the loader itself: manifest_loader.py)
package("firmware/ota", base_path="..")

# the web server: the same microdot release the emulated boards run (pyproject.toml), its core modules
require("microdot")
