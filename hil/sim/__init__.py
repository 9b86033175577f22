"""Virtual-time simulator: world + firmware controller (+ P1 encoder and parser) in one closed loop.

- ``engine.simulate``: one-minute world steps, the plug reading the registers (the year-scale path);
- ``fidelity.simulate_telegrams``: 1 s steps through the P1 emulator's telegrams and the firmware parser;
- ``capacity``: the capacity tariff (clock quarters, monthly peaks, 2.5 kW floor, 12-month mean, cost);
- ``deciders``: the firmware controller, no control, the naive watt threshold; ``prescient``: the bound;
- ``scenarios`` / ``run`` / ``report`` / ``plot``: the manual's scenarios, their variants and figures.
"""
