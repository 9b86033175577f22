# The device applications: asyncio programs that wire the portable core to the hardware through one HAL
# object (firmware/hal). `common` is the web layer both apps share; `smartmeter` and `smartplug` are the
# two devices. Each app module offers `run(hal, config)`; `hil board run` (host) and main.py (ESP32)
# call it.
