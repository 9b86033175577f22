"""Coverage-guided fuzzing (atheris/libFuzzer) of the firmware's P1 reader and parser: `hil fuzz p1`."""
