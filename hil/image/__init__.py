"""Firmware images for OTA: the container, its Secure Boot v2 signatures, the build, keys (docs/ota.md)."""
