# The SmartPlug as HomeWizard's API v2 sees it (an Energy Socket, HWE-SKT): the device object of
# firmware/apps/common/https.py. Portable. The measurement is /api/v1/data's pairs under v2's names.
#
#   PlugV2(app)     app: the SmartPlugApp (firmware/apps/smartplug/app.py)
from firmware.apps.common import hwv2
from firmware.apps.smartplug import hwapi


class PlugV2:
    def __init__(self, app):
        self.app = app
        self.local_api = app.dev.local_api

    def v2_device(self):
        d = self.app.dev
        return hwv2.device(hwapi.PRODUCT_TYPE, hwapi.PRODUCT_NAME, d.serial, d.version)

    def v2_measurement(self):
        a = self.app
        return hwapi.obj_text(hwv2.rename(hwapi.data_pairs(a.plug, a.now_ms())))

    def v2_system(self):
        a = self.app
        info = a.prov.info()
        return hwv2.system(info.get('ssid') if info.get('state') == 'joined' else None, None,
                           a.hub.uptime_s(), self.local_api.on)

    def v2_identify(self):
        self.app.identify()
