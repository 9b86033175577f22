# Daily Energy (firmware/control/daily.py and the controller's use of it): the plug's own energy since
# local midnight by the meter's clock, reset once per local day, on 23- and 25-hour days, across reboots.
# Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).
from controller_feed import Home, settings, utc

from firmware.control.controller import Controller
from firmware.control.daily import DailyEnergy
from firmware.timebase import local_day


def test_resets_at_local_midnight_once():
    d = DailyEnergy()
    t = utc(2024, 1, 15, 23, 0)
    assert d.clock(t) is False and d.day == local_day(t)
    d.add(1000)
    assert d.clock(utc(2024, 1, 15, 23, 59, 59)) is False and d.mwh == 1000
    assert d.clock(utc(2024, 1, 16, 0, 0, 0)) is True and d.mwh == 0 and d.resets == 1
    d.add(7)
    for s in range(1, 200):
        assert d.clock(utc(2024, 1, 16, 0, 0, s)) is False
    assert d.mwh == 7 and d.resets == 1


def test_midnight_is_local_not_utc():
    d = DailyEnergy()
    d.clock(utc(2024, 7, 1, 12, 0))
    d.add(5)
    # 22:30 UTC is 00:30 local in summer: already the next local day
    assert d.clock(utc(2024, 7, 1, 23, 59, 59)) is False
    assert d.clock(utc(2024, 7, 2, 0, 0)) is True
    assert utc(2024, 7, 2, 0, 0) % 86400 == 22 * 3600


def _day_lengths(y, mo, d0, days):
    """Seconds between the resets a DailyEnergy makes when clocked every 60 s for `days` days."""
    de = DailyEnergy()
    t = utc(y, mo, d0, 12, 0)
    de.clock(t)
    resets = []
    end = t + days * 86400
    while t < end:
        t += 60
        if de.clock(t):
            resets.append(t)
    return [resets[i] - resets[i - 1] for i in range(1, len(resets))], resets


def test_23_and_25_hour_days():
    lengths, resets = _day_lengths(2024, 3, 29, 4)     # 30, 31 (23 h), 1 April
    assert lengths == [86400, 23 * 3600, 86400]
    assert resets[1] == utc(2024, 3, 31, 0, 0) and resets[2] == utc(2024, 4, 1, 0, 0)
    lengths, resets = _day_lengths(2024, 10, 25, 4)    # 26, 27 (25 h), 28 October
    assert lengths == [86400, 25 * 3600, 86400]
    assert resets[2] == utc(2024, 10, 28, 0, 0)


def test_clock_going_back_never_resets_twice():
    d = DailyEnergy()
    d.clock(utc(2024, 1, 15, 23, 59))
    assert d.clock(utc(2024, 1, 16, 0, 1)) is True
    d.add(50)
    assert d.clock(utc(2024, 1, 15, 23, 58)) is False   # the meter's clock stepped back over midnight
    assert d.clock(utc(2024, 1, 16, 0, 2)) is False
    assert d.mwh == 50 and d.resets == 1


def test_page_text_has_5_decimals():
    assert DailyEnergy(1, 156890).kwh_text() == '0.15689'
    assert DailyEnergy(1, 156895).kwh_text() == '0.15690'
    assert DailyEnergy(1, 0).kwh_text() == '0.00000'
    assert DailyEnergy(1, 12345678).kwh_text() == '12.34568'


def test_controller_counts_the_plugs_energy_since_midnight():
    # 1 kW appliance, on all the time (mode off, relay on by hand), readings every 10 s
    h = Home(utc(2024, 1, 15, 22, 0), settings(), {'v': 1, 'relay': True}, base_w=300, appliance_w=1000,
             step=10)
    h.until(utc(2024, 1, 15, 23, 0))
    assert h.c.daily.mwh == 1000000 - 10 * 1000000 // 3600  # 1 kWh minus the first 10 s (no delta yet)
    h.until(utc(2024, 1, 16, 0, 0))
    assert h.c.daily.mwh == 0 and h.c.daily.resets == 1
    assert h.c.daily.day == local_day(utc(2024, 1, 16, 0, 0))
    h.until(utc(2024, 1, 16, 6, 0))
    assert h.c.daily.mwh == 6000000 and h.c.daily.resets == 1


def test_kept_across_a_reboot_on_the_same_day_and_reset_on_the_next():
    s = settings()
    h = Home(utc(2024, 1, 15, 8, 0), s, {'v': 1, 'relay': True}, appliance_w=600, step=10)
    h.until(utc(2024, 1, 15, 10, 0))
    saved = h.c.state_for_flash()
    before = h.c.daily.mwh
    assert before > 1000000
    # reboot: the plug's own counter starts from zero again; Daily Energy goes on from the saved value
    h2 = Home(utc(2024, 1, 15, 10, 1), s, saved, appliance_w=600, step=10)
    assert h2.c.daily.mwh == before and h2.c.restore_errors == []
    h2.until(utc(2024, 1, 15, 11, 1))
    assert h2.c.daily.mwh == before + 600000 - 10 * 600000 // 3600
    assert h2.c.daily.resets == 0
    # a reboot the next day: zero at the first reading
    h3 = Home(utc(2024, 1, 16, 7, 0), s, h2.c.state_for_flash(), appliance_w=600, step=10)
    assert h3.c.daily.mwh > 0
    h3.run(10)
    assert h3.c.daily.mwh == 0 and h3.c.daily.resets == 1


def test_plug_counter_restart_loses_nothing_and_adds_nothing():
    c = Controller(settings(), {'v': 1, 'relay': True})
    c.on_meter(utc(2024, 1, 15, 12, 0), 0, 0, 0)
    c.on_plug_energy(5000)
    c.on_plug_energy(8000)
    assert c.daily.mwh == 3000
    c.on_plug_energy(100)                       # the chip's counter restarted
    assert c.daily.mwh == 3000 and c.counters['plug_back'] == 1
    c.on_plug_energy(600)
    assert c.daily.mwh == 3500


def test_reset_at_midnight_while_disconnected_by_extrapolated_meter_clock():
    h = Home(utc(2024, 1, 15, 23, 50), settings(), {'v': 1, 'relay': True}, appliance_w=1000, step=5)
    h.until(utc(2024, 1, 15, 23, 55))
    h.run(600, meter=False)                     # the SmartMeter is silent from 23:55 to 00:05
    assert not h.c.connected
    assert h.c.daily.resets == 1
    # reset at 00:00 (within one tick), so 5 minutes of 1 kW are counted in the new day
    assert abs(h.c.daily.mwh - 5 * 60 * 1000000 // 3600) <= 5 * 1000000 // 3600
