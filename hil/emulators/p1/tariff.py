"""Belgian day/night tariff of a two-register meter, computed from the meter's own clock.

Tariff 1 (day, "normaal") runs 07:00-22:00 local time Monday to Friday; tariff 2 (night, "laag") runs
22:00-07:00 on weekdays and all Saturday and Sunday. Public holidays are not in the meter's
calendar unless the caller lists them: Fluvius lets each meter's switching programme differ, so a
holiday set is an explicit parameter rather than a built-in table.

All switching instants fall on local quarter-hours, which is what lets the meter state keep one tariff
for a whole quarter-hour.
"""

from __future__ import annotations

from collections.abc import Collection

from firmware.timebase import CET, days_from_civil, local_day, local_fields, weekday

DAY = 1
NIGHT = 2
DAY_START_H = 7
DAY_END_H = 22


def belgian_tariff(t: int, std: int = CET, holidays: Collection[int] = ()) -> int:
    """Tariff (1 day, 2 night) in force at UTC instant t.

    holidays: local day numbers (days since 1970-01-01, see `holiday`) billed as night all day.
    """
    day = local_day(t, std)
    if weekday(day) >= 5 or day in holidays:
        return NIGHT
    hour = local_fields(t, std)[3]
    return DAY if DAY_START_H <= hour < DAY_END_H else NIGHT


def holiday(y: int, m: int, d: int) -> int:
    """Local day number of a calendar date, for the holidays parameter."""
    return days_from_civil(y, m, d)
