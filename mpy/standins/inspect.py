# Stand-in: the ESP32 image has no `inspect` (the WebAssembly build freezes one), so libraries take the
# path they take on the board (microdot: handlers awaited in the event loop, no thread pool).
raise ImportError("no module named 'inspect' on the ESP32")
