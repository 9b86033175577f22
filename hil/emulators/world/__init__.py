"""World models around the devices: climate, household base load, PV and switched appliances.

Pure and seeded: ``power_w(t)``-style lookups (household, PV, climate) and small stateful appliances
stepped with ``step(t, dt, supplied)``. They know nothing about who calls them, so the same models
drive the virtual-time simulator (``hil.sim``) and the real-time emulated rig.
"""

from hil.emulators.world.appliance import Appliance, ApplianceStats
from hil.emulators.world.site import APPLIANCE_KINDS, Site, make_appliance

__all__ = ["APPLIANCE_KINDS", "Appliance", "ApplianceStats", "Site", "make_appliance"]
