# The SmartPlug's own measurement: the CSE7766 metering chip (frames -> volts, amps, watts) and the
# energy counted from its CF pulse register.
