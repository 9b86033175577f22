# /boot.py on the ESP32: runs before /main.py (the loader) on every reset. It stays minimal on purpose:
# nothing here may fail, and it is never updated over the air (docs/ota.md). The loader in main.py picks
# the application slot.
import gc

gc.collect()
