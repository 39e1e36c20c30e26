"""BeiDou truck position reports, as exported by a JT/T 808 monitoring platform (CSV, GB18030).

Header `车牌号,车牌颜色,定位时间,经度,纬度,速度,方向,海拔`: plate, plate colour code (JT/T 808:
1 blue, 2 yellow, ...), local time of the fix, longitude and latitude in decimal degrees, speed in
km/h, heading in degrees clockwise from north and altitude in metres. Platforms export the
location report (0x0200) fields this way, decoded from the protocol's 10^-6 degrees and 1/10 km/h.

Plates become keyed HMAC pseudonyms computed exactly as a waybill's plate, so trips and waybills
join on `plate_id`. Coordinates are converted to WGS-84 from the entry's declared system, with the
originals kept. A report repeated by the terminal (JT/T 808 re-sends unacknowledged reports) has the
same plate and time and is counted as a duplicate; a fix reached and left faster than
MAX_SPEED_KMH is an impossible jump and is quarantined.
"""

from __future__ import annotations

from itlake.feeds._positions import position_feed

# Heavy trucks are governed to 89-100 km/h; 180 km/h leaves room for noise between close fixes.
MAX_SPEED_KMH = 180.0


FEED = position_feed("truck_position", vehicle="plate_id", source="车牌号", max_speed_kmh=MAX_SPEED_KMH)
