# The entity JSON of ESPHome's event format (firmware/apps/common/entities.py): the live `state` event
# names its row, the "detail all" shape (first event of a stream, GET ?detail=all) carries what ESPHome's
# web UI v2 and v3 build their rows from. Portable: runs under CPython (pytest) and MicroPython.
import json

from firmware.apps.common import entities as ents
from firmware.fixed import Dec


class PlugRow:
    # a device's own entity class (the SmartPlug's): domain, name, oid, no unit
    def __init__(self, name, domain):
        self.name = name
        self.domain = domain
        self.oid = ents.object_id(name)


def test_live_event_names_its_row():
    e = ents.Entity('sensor', 'Energy Consumed Tariff 1', 'kWh', 3)
    text = ents.event_json(e, '4592.767 kWh', Dec(4592767, 3))
    assert text == ('{"id":"sensor-energy_consumed_tariff_1","name_id":"sensor/Energy Consumed Tariff 1",'
                    '"name":"Energy Consumed Tariff 1","state":"4592.767 kWh","value":4592.767}')


def test_detail_all_shape():
    e = ents.Entity('sensor', 'Power Consumed', 'kW', 3)
    d = json.loads(ents.detail_json(e, '2.673 kW', Dec(2673, 3), 4))
    assert d == {'id': 'sensor-power_consumed', 'name_id': 'sensor/Power Consumed', 'name': 'Power Consumed',
                 'domain': 'sensor', 'icon': '', 'entity_category': 0, 'sorting_weight': 4, 'uom': 'kW',
                 'state': '2.673 kW', 'value': 2.673}
    # a switch: no unit, assumed_state false (the UI draws a toggle, not two buttons)
    s = json.loads(ents.detail_json(PlugRow('Relay', 'switch'), 'ON', True, 14))
    assert s['assumed_state'] is False and 'uom' not in s and s['name_id'] == 'switch/Relay'
    # a row without its own unit: the state text's, when it is a number with a unit
    assert json.loads(ents.detail_json(PlugRow('Voltage', 'sensor'), '237.0 V', Dec(2370, 1)))['uom'] == 'V'
    assert 'uom' not in json.loads(ents.detail_json(PlugRow('Voltage', 'sensor'), 'NA', None))
    assert 'uom' not in json.loads(ents.detail_json(PlugRow('Status', 'text_sensor'), 'Connected 2 s', 'x'))


def test_names_are_escaped():
    e = PlugRow('Odd "name" \\ here', 'sensor')
    d = json.loads(ents.event_json(e, '1 W', 1))
    assert d['name'] == 'Odd "name" \\ here' and d['name_id'] == 'sensor/Odd "name" \\ here'
