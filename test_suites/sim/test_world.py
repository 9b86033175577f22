"""World models: PV and sun, climate, household base load, appliances; seeded and reproducible."""

import math

import pytest

from firmware.timebase import civil_from_days, days_from_civil, local_fields, local_to_utc
from hil.emulators.world import Site, make_appliance
from hil.emulators.world.boiler import Boiler, BoilerParams
from hil.emulators.world.charger import Charger, ChargerParams
from hil.emulators.world.climate import Temperature
from hil.emulators.world.household import Household, HouseholdParams
from hil.emulators.world.pool import PoolPump, PoolPumpParams
from hil.emulators.world.pv import PVParams
from hil.emulators.world.sun import day_length_h, elevation_deg
from hil.emulators.world.thermal import HeaterParams, HeatPump, HeatPumpParams, RoomHeater

DAY = 86400


def day_no(y, m, d):
    return days_from_civil(y, m, d)


def pv_site(seed=1, kwp=5.0):
    return Site(seed, pv=PVParams(kwp=kwp))


def test_pv_is_zero_whenever_the_sun_is_down_and_produces_at_noon():
    site = pv_site()
    for y, m, d in ((2025, 1, 10), (2025, 3, 30), (2025, 6, 21), (2025, 10, 26), (2025, 12, 21)):
        table = site.pv.day_table(day_no(y, m, d))
        for i, w in enumerate(table):
            t = day_no(y, m, d) * DAY + 60 * i + 30
            el = elevation_deg(t, 51.0, 4.4)
            if el < -0.5:       # the PV model takes declination once a day: a few tenths of a degree off
                assert w == 0.0, (y, m, d, i, w)
            elif el < 0:
                assert w < 1.0, (y, m, d, i, w)
        assert max(table) > 0
        assert 0 <= min(table) and max(table) <= 5000.0          # never above the inverter (= kWp)


def test_day_length_at_51_north():
    # geometric (sun centre, no refraction): 2 acos(-tan 51 tan 23.44) / 15
    assert day_length_h(day_no(2025, 6, 21) * DAY, 51.0) == pytest.approx(16.31, abs=0.05)
    assert day_length_h(day_no(2025, 12, 21) * DAY, 51.0) == pytest.approx(7.69, abs=0.05)
    assert day_length_h(day_no(2025, 3, 20) * DAY, 51.0) == pytest.approx(12.0, abs=0.2)
    # the sun at solar noon in Brussels: 90 - 51 + 23.4 in June, 90 - 51 - 23.4 in December
    noon_june = max(elevation_deg(day_no(2025, 6, 21) * DAY + 60 * i, 51.0, 4.4) for i in range(1440))
    noon_dec = max(elevation_deg(day_no(2025, 12, 21) * DAY + 60 * i, 51.0, 4.4) for i in range(1440))
    assert noon_june == pytest.approx(62.4, abs=0.3)
    assert noon_dec == pytest.approx(15.6, abs=0.3)


def test_pv_seasons_are_ordered_and_the_year_is_belgian():
    for seed in (1, 2):
        site = pv_site(seed, kwp=1.0)
        months = [0.0] * 12
        start = day_no(2025, 1, 1)
        for d in range(start, start + 365):
            months[civil_from_days(d)[1] - 1] += sum(site.pv.day_table(d)) / 60000.0
        year = sum(months)
        assert 850 <= year <= 1150, year                       # kWh per kWp in Flanders
        summer = months[4] + months[5] + months[6]
        winter = months[10] + months[11] + months[0]
        assert summer > 3 * winter
        assert months[5] > months[2] > months[11]


def test_clear_sky_pv_follows_the_sun():
    site = pv_site()
    clear = [d for d in range(day_no(2025, 6, 1), day_no(2025, 7, 1)) if site.clouds.day_kind(d) == "clear"]
    assert clear, "June has clear days"
    table = site.pv.day_table(clear[0])
    noon = max(range(1440), key=lambda i: table[i])
    solar_noon_utc_min = 12 * 60 - 4.4 * 4                      # about 11:42 UTC in Brussels
    assert abs(noon - solar_noon_utc_min) < 45
    assert table[noon] > 0.6 * 5000


def test_same_seed_same_world_in_any_order_and_another_seed_another_world():
    a, b, c = pv_site(7), pv_site(7), pv_site(8)
    days = [day_no(2025, 1, 5), day_no(2025, 7, 5), day_no(2025, 3, 30)]
    first = {d: (a.household.day_table(d), a.pv.day_table(d), a.temperature.day_table(d)) for d in days}
    for d in reversed(days):                                   # another order, another object
        assert (b.household.day_table(d), b.pv.day_table(d), b.temperature.day_table(d)) == first[d]
    assert c.household.day_table(days[0]) != first[days[0]][0]
    assert c.pv.day_table(days[1]) != first[days[1]][1]


def test_household_matches_its_annual_energy_and_has_its_shapes():
    for seed in (1, 2):
        h = Household(seed, HouseholdParams(annual_kwh=3500.0))
        start = day_no(2025, 1, 1)
        total = sum(sum(h.day_table(d)) for d in range(start, start + 365)) / 60000.0
        assert total == pytest.approx(3500.0, rel=0.05)
    h = Household(3)
    jan = sum(sum(h.day_table(d)) for d in range(day_no(2025, 1, 1), day_no(2025, 2, 1)))
    jul = sum(sum(h.day_table(d)) for d in range(day_no(2025, 7, 1), day_no(2025, 8, 1)))
    assert jan > 1.05 * jul                                     # seasonal shape
    assert min(min(h.day_table(d)) for d in range(day_no(2025, 1, 1), day_no(2025, 1, 8))) >= 110 * 0.99


def test_household_events_happen_in_their_local_windows():
    h = Household(5)
    cooking = 0
    for d in range(day_no(2025, 3, 25), day_no(2025, 4, 5)):      # across the spring DST change
        prev_end = None
        for s, e, w, name in h.events(d):
            assert e > s and w > 0
            if name == "cooking hob" and s != prev_end:                # the first phase of a use
                cooking += 1
                hh, mm = local_fields(s)[3:5]
                assert (17, 30) <= (hh, mm) < (19, 30), (d, hh, mm)
            prev_end = e
    assert cooking >= 7


def test_household_evening_is_busier_than_the_night():
    h = Household(11)
    evening = night = 0.0
    for d in range(day_no(2025, 2, 3), day_no(2025, 2, 10)):
        t_eve = local_to_utc(*civil_from_days(d), 19, 0, 0)
        t_night = local_to_utc(*civil_from_days(d), 3, 0, 0)
        evening += h.mean(t_eve, t_eve + 3600)
        night += h.mean(t_night, t_night + 3600)
    assert evening > 2.5 * night


def test_household_parameters_are_checked_with_a_clear_message():
    with pytest.raises(ValueError, match="annual_kwh 500 is too small"):
        Household(1, HouseholdParams(annual_kwh=500.0))
    with pytest.raises(ValueError, match="24 non-negative hourly weights"):
        HouseholdParams(weekday_profile=(1.0,) * 23)


def test_january_is_colder_than_july_every_year():
    for seed in (1, 2, 3):
        t = Temperature(seed)
        jan = sum(sum(t.day_table(d)) for d in range(day_no(2025, 1, 1), day_no(2025, 2, 1))) / (31 * 1440)
        jul = sum(sum(t.day_table(d)) for d in range(day_no(2025, 7, 1), day_no(2025, 8, 1))) / (31 * 1440)
        assert -3 < jan < 8 and 14 < jul < 23 and jul - jan > 9


def run(appliance, t0, minutes, supplied=lambda i: True, dt=60):
    out = []
    for i in range(minutes):
        out.append(appliance.step(t0 + dt * i, dt, supplied(i)))
    return out


def test_heater_draws_only_when_supplied_and_calling_and_keeps_the_room_warm():
    site = Site(1)
    h = RoomHeater(HeaterParams(), site.temperature, site.clock)
    t0 = local_to_utc(2025, 1, 10, 0, 0, 0)
    steps = run(h, t0, 3 * 1440)
    assert all(g in (0.0, 2000.0) and g == p for g, p in steps)
    assert h.stats.served_wh == pytest.approx(sum(g for g, _ in steps) / 60.0)
    assert 18.5 < h.room_c < 21.5 or 16 < h.room_c < 18.5       # comfort or night setback band
    cut = RoomHeater(HeaterParams(), site.temperature, site.clock)
    steps = run(cut, t0, 1440, supplied=lambda i: False)
    assert all(g == 0.0 for g, _ in steps)
    assert cut.stats.served_wh == 0 and cut.stats.deferred_wh > 0 and cut.room_c < 15
    summer = RoomHeater(HeaterParams(), site.temperature, site.clock)
    assert all(g == 0.0 for g, _ in run(summer, local_to_utc(2025, 7, 10, 0, 0, 0), 1440))


def test_heat_pump_behind_a_powerdetector_keeps_its_minimum_run_and_off_times():
    site = Site(2)
    p = HeatPumpParams(min_run_s=1200, min_off_s=600)
    hp = HeatPump(p, site.temperature, site.clock)
    hp.zone.temp_c = 18.0                                       # cold house: the thermostat calls
    t0 = local_to_utc(2025, 1, 10, 6, 0, 0)
    # contact closes for one minute, then opens: the compressor still runs its 20 minutes
    steps = run(hp, t0, 40, supplied=lambda i: i == 0)
    running = [g >= p.rated_w for g, _ in steps]
    assert running[:20] == [True] * 20 and not any(running[20:])
    assert [pl for _, pl in steps[:2]] == [p.detector_coil_w, 0.0]   # the plug sees only the coil
    assert steps[0][0] == p.rated_w + p.detector_coil_w
    # contact closed again right after the stop: it waits its 10 minutes off
    hp2 = HeatPump(p, site.temperature, site.clock)
    hp2.zone.temp_c = 18.0
    steps = run(hp2, t0, 60, supplied=lambda i: i < 1 or i >= 21)
    running = [g >= p.rated_w for g, _ in steps]
    assert running[20] is False and running[21:30] == [False] * 9 and running[30] is True


def test_boiler_stays_hot_when_supplied_and_goes_cold_without_power():
    b = Boiler(BoilerParams(), seed=3)
    t0 = local_to_utc(2025, 2, 1, 0, 0, 0)
    temps = []
    for i in range(3 * 1440):
        b.step(t0 + 60 * i, 60, True)
        temps.append(b.tank_c)
    assert min(temps) > 40 and max(temps) < 61
    assert b.stats.unmet_wh == 0 and b.drawn_l > 200
    cold = Boiler(BoilerParams(), seed=3)
    run(cold, t0, 4 * 1440, supplied=lambda i: False)
    assert cold.stats.served_wh == 0 and cold.stats.unmet_wh > 0 and cold.tank_c < 40


def test_charger_fills_each_session_and_counts_what_is_missing_at_departure():
    c = Charger(ChargerParams(), seed=4)
    t0 = local_to_utc(2025, 3, 3, 0, 0, 0)
    run(c, t0, 7 * 1440)
    sessions = [c.session(d) for d in range(day_no(2025, 3, 2), day_no(2025, 3, 10))]
    sessions = [s for s in sessions if s is not None]
    for a, b in zip(sessions, sessions[1:], strict=False):
        assert b[0] >= a[1]                                     # one car, one session at a time
    assert c.stats.unmet_wh == 0 and c.stats.served_wh > 0
    starved = Charger(ChargerParams(), seed=4)
    run(starved, t0, 7 * 1440, supplied=lambda i: False)
    assert starved.stats.served_wh == 0
    assert starved.stats.unmet_wh == pytest.approx(
        sum(s[2] for s in sessions if t0 <= s[1] <= t0 + 7 * DAY), rel=1e-9)


def test_pool_pump_runs_its_quota_in_season_only():
    p = PoolPump(PoolPumpParams(rated_w=750.0, hours_per_day=6.0))
    t0 = local_to_utc(2025, 6, 2, 0, 0, 0)
    steps = run(p, t0, 3 * 1440 + 1)
    assert p.stats.run_s == pytest.approx(3 * 6 * 3600 + 0, abs=60)
    assert p.stats.served_wh == pytest.approx(3 * 6 * 750.0, abs=13)
    on = [i % 1440 for i, (g, _) in enumerate(steps) if g > 0]
    assert min(on) >= 8 * 60 and max(on) < 14 * 60              # from the 08:00 timer, 6 h
    idle = PoolPump(PoolPumpParams())
    run(idle, t0, 2 * 1440 + 1, supplied=lambda i: False)
    assert idle.stats.unmet_wh == pytest.approx(2 * 6 * 750.0)
    winter = PoolPump(PoolPumpParams())
    assert all(g == 0.0 for g, _ in run(winter, local_to_utc(2025, 1, 10, 0, 0, 0), 1440))


def test_appliance_factory_names_the_bad_parameter():
    site = Site(1)
    with pytest.raises(ValueError, match="heater: unknown parameter"):
        make_appliance("heater", {"ratedw": 2000}, site)
    with pytest.raises(ValueError, match="expected one of heater"):
        make_appliance("sauna", None, site)
    with pytest.raises(ValueError, match="does not fit in its"):
        make_appliance("pool_pump", {"hours_per_day": 13}, site)
    assert math.isclose(make_appliance("ebike", None, site).rated_w, 200.0)
