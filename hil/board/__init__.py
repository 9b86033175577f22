"""Emulated boards: the host implementation of the firmware's hardware abstraction (HAL).

UARTs are pyserial URLs, GPIO lines are files the rig can see, WiFi is a table of networks the rig
provides, mDNS goes through python-zeroconf on the loopback interface, flash is a folder, the unique id
is the MAC address from the board's config. The apps get one `HostHal` exactly as on the device they
get one `Esp32Hal` (firmware/hal/esp32.py).
"""
