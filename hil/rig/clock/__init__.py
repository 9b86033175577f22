"""One clock for the whole rig: virtual (discrete-event) or realtime (scaled); see docs/rig-clock.md."""
