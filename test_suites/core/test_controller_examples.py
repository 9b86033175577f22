# The manual's worked examples (section 6 a and b), with their numbers, against the real controller.
# Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).
from controller_feed import Home, settings, utc

from firmware.control.settings import Settings


def _wh(watts, minutes):
    """Energy of `watts` over `minutes`, in Wh (exact for the examples' numbers)."""
    assert (watts * minutes) % 60 == 0
    return watts * minutes // 60


def test_peak_shaving_threshold_is_2_5_kw_for_a_quarter():
    # 2.5 kW x 1/4 h = 0.625 kWh, interval 15 min
    assert _wh(2500, 15) == 625
    s = Settings()
    assert s.set_kwh('off_wh', '0.625') is None and s.off_wh == 625
    assert s.set('interval_min', 15) is None
    # quarter power = quarter kWh x 4
    assert 625 * 4 == 2500


def test_peak_shaving_keeps_quarter_power_under_2_5_kw():
    # simplified configuration of the manual's screenshot: ON = OFF = 0.625 kWh, 15 min; a 2 kW heater
    s = settings(mode=True)
    s.set_kwh('on_wh', '0.625')
    s.set_kwh('off_wh', '0.625')
    t0 = utc(2024, 1, 15, 6, 0)
    h = Home(t0, s, {'v': 1, 'relay': True}, base_w=400, appliance_w=2000)
    quarters = []
    last = [h.reading()]

    def quarter():
        h.run(900)
        r = h.reading()
        quarters.append((r[1] - last[0][1]) * 4)       # quarter power in W from the import register
        last[0] = r
    for _ in range(4):                  # 06:00-07:00: 400 W + heater = 2.4 kW: under the peak, stays on
        quarter()
    assert h.c.relay and quarters == [2400, 2400, 2400, 2400]
    h.base_w = 1500                     # 07:00: cooking, 1.5 kW + 2 kW heater = 3.5 kW
    quarter()
    assert quarters[-1] == 3500 and not h.c.relay      # 875 Wh > 625 Wh: heater off at 07:15
    assert h.c.last['why'] == 'E 0.875 kWh > OFF 0.625 kWh: relay off'
    for _ in range(4):
        quarter()
    # off: E + C = 375 + 500 = 875 Wh >= 625: stays off while the base load is high
    assert quarters[-4:] == [1500, 1500, 1500, 1500] and not h.c.relay
    assert h.c.last['why'] == 'E + C = 0.375 + 0.500 = 0.875 kWh >= ON 0.625 kWh: stays off'
    h.base_w = 400                      # 08:15: cooking done
    quarter()                           # 08:15-08:30: E + C = 100 + 500 = 600 < 625: heater back on at 08:30
    assert h.c.relay
    for _ in range(3):
        quarter()
    assert quarters[-3:] == [2400, 2400, 2400]
    # only the quarter in which the load rose exceeded 2.5 kW: the controller reacts one interval late
    assert [q for q in quarters if q > 2500] == [3500]
    assert len(h.decisions) == 2


def test_self_consumption_thresholds_from_the_manual():
    # a 2 kW appliance, interval 6 min = 1/10 h: ON = -2 kW x 1/10 h = -0.200 kWh; at 80 %: -0.160 kWh
    assert _wh(2000, 6) == 200
    assert -_wh(2000 * 80 // 100, 6) == -160
    s = Settings()
    assert s.set_kwh('on_wh', '-0.200') is None and s.on_wh == -200
    assert s.set_kwh('on_wh', '-0.160') is None and s.on_wh == -160


def _pv_home(on_kwh, off_kwh, export_w):
    s = settings(mode=True, interval_min=6)
    s.set_kwh('on_wh', on_kwh)
    s.set_kwh('off_wh', off_kwh)
    assert s.warnings() == []
    # noon in June, PV surplus of export_w; the appliance takes 2 kW while on
    return Home(utc(2024, 6, 15, 11, 59), s, {'v': 1, 'relay': False}, base_w=-export_w, appliance_w=2000)


def test_self_consumption_switches_on_at_2_kw_surplus():
    # margin OFF - ON = 0.200 kWh = the appliance's energy per interval: no flapping
    h = _pv_home('-0.200', '0.000', 2500)
    h.until(utc(2024, 6, 15, 12, 5, 59))   # boot at 11:59; 12:00-12:06 is the first whole interval
    assert h.decisions == [] and h.c.last['kind'] == 'measured'
    h.until(utc(2024, 6, 15, 12, 6))
    assert h.decisions == [(utc(2024, 6, 15, 12, 6), True)]     # E = -250 Wh < -200 Wh
    assert h.c.last['why'] == 'E -0.250 kWh < ON -0.200 kWh: relay on'
    h.until(utc(2024, 6, 15, 13, 0))
    assert h.c.relay and len(h.decisions) == 1 and h.c.last['e_wh'] == -50   # -250 + 200 <= 0: stays on
    h.base_w = -1000                    # a cloud: surplus 1 kW, the appliance now imports 1 kW
    h.until(utc(2024, 6, 15, 13, 6))
    assert h.decisions[-1] == (utc(2024, 6, 15, 13, 6), False)  # E = +100 Wh > 0
    h.until(utc(2024, 6, 15, 14, 0))
    assert not h.c.relay and len(h.decisions) == 2              # E = -100 Wh >= -200: stays off


def test_self_consumption_80_percent():
    # 1.8 kW surplus: E = -180 Wh per 6 min. Not enough for -0.200 kWh, enough for -0.160 kWh.
    h = _pv_home('-0.200', '0.000', 1800)
    h.until(utc(2024, 6, 15, 13, 0))
    assert h.decisions == [] and h.c.last['e_wh'] == -180
    # at 80 % the plug imports 20 % of the appliance: OFF must leave that margin (0.040 kWh) or it flaps
    h = _pv_home('-0.160', '0.040', 1800)
    h.until(utc(2024, 6, 15, 13, 0))
    assert h.decisions == [(utc(2024, 6, 15, 12, 6), True)]
    assert h.c.last['e_wh'] == 20                               # -180 + 200 = 20 Wh <= 40 Wh: stays on
    # with OFF = 0 the same surplus makes it flap every interval: the margin rule of the manual
    h = _pv_home('-0.160', '0.000', 1800)
    h.until(utc(2024, 6, 15, 13, 0))
    assert len(h.decisions) == 10 and [r for _, r in h.decisions[:4]] == [True, False, True, False]
