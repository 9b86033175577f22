# bChain SmartHome firmware: MicroPython code for the ESP32 that also runs unchanged under CPython.
