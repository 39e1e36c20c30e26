"""The synthetic demo city: one consistent day of Shenzhen transport feeds, for demos and benchmarks.

`generate_city(out_dir, scale=, seed=, date=)` writes, in the inbox layout `<feed>/<YYYY-MM-DD>/`:
a GTFS zip (city), taxi GPS CSV (taxi), GBK waybill CSV (waybill), road network GeoJSON (roads),
and `manifest.json` (manifest) marking the data synthetic and listing checksums and planted dirt.
Run it as `itlake demo generate --out DIR`.
"""

from itlake.demo.generate import DEFAULT_DATE, generate_city
from itlake.demo.manifest import Dirt, FeedFile, Manifest

__all__ = ["DEFAULT_DATE", "Dirt", "FeedFile", "Manifest", "generate_city"]
