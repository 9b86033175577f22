"""The rig world: emulators of what is physically around the boards."""
