"""A constant world for tests whose numbers must be checkable by hand."""

from hil.emulators.world.pool import PoolPump, PoolPumpParams


class Flat:
    """The same watts every minute (duck-types MinuteSeries.day_table for the simulator)."""

    def __init__(self, watts):
        self.table = [float(watts)] * 1440

    def day_table(self, day):
        return self.table


class FlatSite:
    """A site with a constant household load and constant PV."""

    def __init__(self, house_w, pv_w):
        self.household = Flat(house_w)
        self.pv = Flat(pv_w)


def always_on_load(watts=2000.0):
    """An appliance that draws ``watts`` whenever supplied (a pool heat pump with a 24 h quota)."""
    return PoolPump(PoolPumpParams(rated_w=float(watts), hours_per_day=24.0, window_from_h=0.0,
                                   window_to_h=24.0, season_from_month=1, season_to_month=12))
