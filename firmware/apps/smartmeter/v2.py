# The SmartMeter as HomeWizard's API v2 sees it (a P1 Meter, HWE-P1): the device object of
# firmware/apps/common/https.py. Portable. The shapes are hwv2's, from the same data as /api/v1/data.
#
#   MeterV2(dev, version)     dev: the SmartMeter (firmware/apps/smartmeter/app.py)
import asyncio

from firmware.apps.common import hwv2
from firmware.apps.smartmeter import model
from firmware.timebase import CET


class MeterV2:
    def __init__(self, dev, version):
        self.dev = dev
        self.version = version
        self.local_api = dev.local_api

    def _ssid(self):
        w = self.dev.web.wifi if self.dev.web is not None else None
        return w.creds['ssid'] if w is not None and w.state == 'joined' else None

    def v2_device(self):
        return hwv2.device('HWE-P1', 'P1 meter', self.dev.serial, self.version)

    def v2_measurement(self):
        dev = self.dev
        t = dev.meter.current(dev.now())
        m = hwv2.measurement(model.hw_data(t, None, CET))
        if t is not None and dev.meter.reading is not None:
            ts = hwv2.v2_timestamp(model._hw_ts(dev.meter.reading[0], CET))
            if ts is not None:
                m['timestamp'] = ts
        return m

    def v2_system(self):
        web = self.dev.web
        up = web.hub.uptime_s() if web is not None else 0
        return hwv2.system(self._ssid(), None, up, self.local_api.on)

    def v2_telegram(self):
        return self.dev.telegram_text()

    def v2_identify(self):
        asyncio.create_task(self.dev.blink())
