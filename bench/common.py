"""Helpers every benchmark module shares: result rows, goals, timers, scratch lakes, demo files.

A benchmark module `bench/bench_<name>.py` defines `run(scale: float) -> list[dict]`; each dict
has the keys of `ROW_KEYS` (make them with `result`). `scale` 1.0 is the full benchmark; the
harness's `--quick` passes a small one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

ROW_KEYS = ("name", "value", "unit", "baseline", "ratio", "goal", "met", "note")
DEMO_DATE = date(2026, 11, 27)
SCRATCH = Path(os.environ.get("ITLAKE_BENCH_SCRATCH", tempfile.gettempdir())) / "itlake-bench"
_GOAL = re.compile(r"^\s*(>=|<=|>|<)\s*([0-9.]+)\s*(%|x)?\s*$")


def goal_met(ratio: float, goal: str) -> bool:
    """Whether `ratio` meets a goal such as ">= 0.5", "<= 25%" (ratio 0.25) or ">= 10x"."""
    match = _GOAL.match(goal)
    if not match:
        raise ValueError(f"goal {goal!r} is not like '>= 0.5', '<= 25%' or '>= 10x'")
    op, number, unit = match.groups()
    target = float(number) / (100 if unit == "%" else 1)
    return {">=": ratio >= target, "<=": ratio <= target, ">": ratio > target, "<": ratio < target}[op]


def result(
    name: str, value: float, unit: str, baseline: float, ratio: float, goal: str, note: str = ""
) -> dict:
    """One result row; `met` is computed from `ratio` and `goal`."""
    return {
        "name": name,
        "value": float(value),
        "unit": unit,
        "baseline": float(baseline),
        "ratio": float(ratio),
        "goal": goal,
        "met": goal_met(ratio, goal),
        "note": note,
    }


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Wall seconds of one call, and what it returned."""
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def median_time(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(timed(fn)[0] for _ in range(repeat))


@contextlib.contextmanager
def scratch_dir(name: str) -> Iterator[Path]:
    """A fresh folder under SCRATCH, removed afterwards."""
    folder = SCRATCH / f"{name}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def lake_at(root: Path) -> Iterator[Path]:
    """Point the settings at the lake `root` for the duration (the settings are cached)."""
    from itlake.config import get_settings

    before = os.environ.get("ITLAKE_LAKE_ROOT")
    os.environ["ITLAKE_LAKE_ROOT"] = str(root)
    get_settings.cache_clear()
    try:
        yield root
    finally:
        if before is None:
            os.environ.pop("ITLAKE_LAKE_ROOT", None)
        else:
            os.environ["ITLAKE_LAKE_ROOT"] = before
        get_settings.cache_clear()


def taxi_gps_file(out_dir: Path, city_scale: float, seed: int = 42) -> tuple[Path, int]:
    """A demo-city taxi GPS file (the generator's own writer) and its number of data rows."""
    from itlake.demo.city import build_city
    from itlake.demo.taxi import write_taxi_gps

    out = write_taxi_gps(out_dir, build_city(seed), scale=city_scale, seed=seed, date=DEMO_DATE)
    return out.path, out.rows


def spark_session():
    """The lake's Spark session (one for the whole harness run)."""
    os.environ.setdefault("ITLAKE_SPARK_MASTER", "local[2]")
    from itlake.lake.session import get_spark

    return get_spark("itlake-bench")


def quiet_spark_jobs(spark) -> None:
    """Drop cached frames between measurements so that one does not speed up the next."""
    spark.catalog.clearCache()
