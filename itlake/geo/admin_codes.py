"""GB/T 2260 administrative division codes shipped with the package, with a point for distances.

    from itlake.geo.admin_codes import load_admin_codes, city_code
    load_admin_codes()["440306"].name_en   # "Bao'an"
    city_code("440306")                    # "440300" (Shenzhen)

`itlake/data/gbt2260.csv` holds `code, name_zh, name_en, level, lon, lat`; level is province,
prefecture or county, and (lon, lat) is a representative point in WGS-84 (the seat of government,
or a district's centroid) used for great-circle distances between places. The file is a subset of
GB/T 2260 (see itlake/data/ATTRIBUTION.md): feeds quarantine codes it does not list.

Pure Python at import time; the Spark helpers import pyspark inside.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["AdminCode", "admin_code_frame", "city_code", "load_admin_codes", "unknown_code_reason"]

CODES_FILE = "gbt2260.csv"
LEVELS = ("province", "prefecture", "county")
# Province-level municipalities: their districts belong to the municipality itself, not to a
# prefecture (GB/T 2260 lists a "市辖区" xx0100 that no feed uses as a city).
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})


class AdminCode(NamedTuple):
    code: str
    name_zh: str
    name_en: str
    level: str
    lon: float
    lat: float


@lru_cache(maxsize=1)
def load_admin_codes() -> dict[str, AdminCode]:
    """Every code in the shipped table, by code; raises ValueError naming the line of a bad row."""
    text = (files("itlake") / "data" / CODES_FILE).read_text(encoding="utf-8")
    codes: dict[str, AdminCode] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        code = row["code"]
        if len(code) != 6 or not code.isdigit() or row["level"] not in LEVELS or code in codes:
            raise ValueError(
                f"{CODES_FILE} line {line}: bad or repeated code/level {code!r} {row['level']!r}"
            )
        codes[code] = AdminCode(
            code, row["name_zh"], row["name_en"], row["level"], float(row["lon"]), float(row["lat"])
        )
    return codes


def city_code(code: str) -> str:
    """The city a code belongs to: its prefecture (xxxx00), or the province-level municipality
    (110000 for every Beijing district); a province code stays a province code."""
    if code[:2] in MUNICIPALITIES or code.endswith("0000"):
        return code[:2] + "0000"
    return code[:4] + "00"


def unknown_code_reason(column: str) -> Column:
    """A Spark Column: the quarantine reason when `column` holds a code the table does not list."""
    from pyspark.sql import functions as F

    value = F.col(column)
    return F.when(
        value.isNotNull() & ~value.isin(list(load_admin_codes())),
        F.concat(
            F.lit(f"unknown_admin_code: {column}="),
            value,
            F.lit(f" is not a GB/T 2260 code listed in itlake/data/{CODES_FILE}"),
        ),
    )


def admin_code_frame(spark: SparkSession) -> DataFrame:
    """One row per code: code, city_code, level, lon, lat (a small table to broadcast-join)."""
    rows = [(c.code, city_code(c.code), c.level, c.lon, c.lat) for c in load_admin_codes().values()]
    return spark.createDataFrame(rows, "code string, city_code string, level string, lon double, lat double")
