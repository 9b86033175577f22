# Signed OTA updates: the verification core (manifest, signature, streaming slot writer) and the device
# service behind POST /update and GET /api/ota. Portable: MicroPython (ESP32) and CPython. See docs/ota.md.
