# What the SmartPlugs need from a telegram: the meter's clock and its cumulative registers in Wh.


def _wh(obj):
    if obj is None or obj.value is None:
        return None
    unit = obj.unit.lower() if obj.unit else ''
    if unit == 'kwh':
        return obj.value.scaled(3)
    if unit == 'wh':
        return obj.value.scaled(0)
    return None


def _sum(objs, ref_total, refs):
    total = 0
    seen = False
    for ref in refs:
        v = _wh(objs.get(ref))
        if v is not None:
            total += v
            seen = True
    if seen:
        return total
    return _wh(objs.get(ref_total))


def meter_reading(t):
    """(ts, import_wh, export_wh) from a parsed telegram, or None when one of them is missing."""
    objs = t.objects
    clock = objs.get('0-0:1.0.0')
    if clock is None or clock.ts is None:
        return None
    imp = _sum(objs, '1-0:1.8.0', ('1-0:1.8.1', '1-0:1.8.2'))
    exp = _sum(objs, '1-0:2.8.0', ('1-0:2.8.1', '1-0:2.8.2'))
    if imp is None:
        return None
    if exp is None:
        exp = 0
    return clock.ts, imp, exp
