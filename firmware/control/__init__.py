# The SmartPlug core: settings with bounds, the switching controller, Daily Energy (pure, no I/O).
