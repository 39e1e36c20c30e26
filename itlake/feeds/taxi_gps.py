"""Taxi GPS in the common Chinese layout `VehicleNum,time,lon,lat,OpenStatus,Speed`.

Times are local (the catalogue entry's time zone); coordinates are in the entry's declared system
and are converted to WGS-84, with the originals kept in `src_lon`, `src_lat`, `src_crs`. A fix
that implies travel faster than 200 km/h both from the previous fix and to the next one of the
same vehicle is an impossible jump and is quarantined; so are swapped coordinates and fixes dated
after the day following the batch's logical date (itlake/feeds/_positions.py).
"""

from __future__ import annotations

from itlake.feeds._positions import position_feed

HEADER = ["VehicleNum", "time", "lon", "lat", "OpenStatus", "Speed"]
MAX_SPEED_KMH = 200.0


FEED = position_feed(
    "taxi_gps", vehicle="vehicle_id", source="VehicleNum", max_speed_kmh=MAX_SPEED_KMH, header=HEADER
)
