# Civil time without a tz database: UTC epoch seconds (1970) <-> local wall time under EU DST rules.
# The ESP32 has no zoneinfo; DSMR timestamps are local wall time with an S (summer) / W (winter) flag.
# EU rule: summer time from the last Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC.

CET = 60  # standard offset of Belgium, the Netherlands, Luxembourg, in minutes east of UTC


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m + 9 if m <= 2 else m - 3
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    """(year, month, day) of a day number since 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return y, m, d


def weekday(days):
    """0 = Monday ... 6 = Sunday for a day number since 1970-01-01 (a Thursday)."""
    return (days + 3) % 7


def days_in_month(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _last_sunday(y, m):
    last = days_from_civil(y, m, days_in_month(y, m))
    return last - (weekday(last) - 6) % 7


def dst_bounds_utc(y):
    """UTC epoch seconds where EU summer time starts and ends in year y."""
    return _last_sunday(y, 3) * 86400 + 3600, _last_sunday(y, 10) * 86400 + 3600


def is_summer_utc(t):
    y = civil_from_days(t // 86400)[0]
    start, end = dst_bounds_utc(y)
    return start <= t < end


def utc_offset_min(t, std=CET):
    """Offset of local time from UTC at UTC instant t, in minutes."""
    return std + 60 if is_summer_utc(t) else std


def local_fields(t, std=CET):
    """(year, month, day, hour, minute, second, summer) of UTC instant t in local time."""
    summer = is_summer_utc(t)
    lt = t + (std + (60 if summer else 0)) * 60
    days = lt // 86400
    s = lt - days * 86400
    y, m, d = civil_from_days(days)
    return y, m, d, s // 3600, (s // 60) % 60, s % 60, summer


def local_day(t, std=CET):
    """Local calendar day number (days since 1970-01-01) of UTC instant t."""
    summer = is_summer_utc(t)
    return (t + (std + (60 if summer else 0)) * 60) // 86400


def local_to_utc(y, mo, d, h, mi, s, flag=None, std=CET):
    """UTC epoch seconds of a local wall time.

    The EU rule decides which offset applies. flag ('S' summer, 'W' winter, or None) only decides
    what the rule cannot: the repeated autumn hour (S = the first occurrence, W = the second; None =
    the first) and a wall time in the skipped spring hour (S = read as summer time, else as winter time).
    """
    wall = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
    as_summer = wall - (std + 60) * 60
    as_winter = wall - std * 60
    summer_ok = is_summer_utc(as_summer)
    winter_ok = not is_summer_utc(as_winter)
    if summer_ok and winter_ok:
        return as_winter if flag == 'W' else as_summer
    if summer_ok:
        return as_summer
    if winter_ok:
        return as_winter
    return as_summer if flag == 'S' else as_winter


def valid_fields(y, mo, d, h, mi, s):
    return (1 <= mo <= 12 and 1 <= d <= days_in_month(y, mo) and 0 <= h < 24 and 0 <= mi < 60
            and 0 <= s < 60)


def iso_utc(t):
    """ISO-8601 text of a UTC instant, ending in Z."""
    days = t // 86400
    s = t - days * 86400
    y, m, d = civil_from_days(days)
    return '%04d-%02d-%02dT%02d:%02d:%02dZ' % (y, m, d, s // 3600, (s // 60) % 60, s % 60)
