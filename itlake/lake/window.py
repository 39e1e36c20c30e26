"""The service day of a logical date: a local calendar day of the city, as a UTC time range."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def service_day_utc(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of `day` in the zone `tz`, as naive UTC datetimes (Spark's session zone is UTC)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    utc = ZoneInfo("UTC")
    return start.astimezone(utc).replace(tzinfo=None), end.astimezone(utc).replace(tzinfo=None)
