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

from itlake.config import using_lake as lake_at  # noqa: F401 (the benchmarks import it from here)

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


RESULTS = Path(__file__).resolve().parent / "results"


def profile_to_file(fn: Callable[[], object], label: str, *, start_in: str | None = None):
    """Run `fn` under pyinstrument and write the profile to bench/results/<time>-<label>-profile.txt.

    With `start_in`, only the calls of that function of `itlake.quality` are sampled (the gate
    inside a whole ingest); otherwise all of `fn`. Returns the file and the profiler."""
    from datetime import UTC, datetime

    from pyinstrument import Profiler

    profiler = Profiler(interval=0.01)
    if start_in is None:
        with profiler:
            fn()
    else:
        import itlake.quality as quality

        real = getattr(quality, start_in)

        def sampled(*args, **kwargs):
            profiler.start()
            try:
                return real(*args, **kwargs)
            finally:
                profiler.stop()

        setattr(quality, start_in, sampled)
        try:
            fn()
        finally:
            setattr(quality, start_in, real)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{label}-profile.txt"
    out.write_text(profiler.output_text(unicode=False, color=False, show_all=False), encoding="utf-8")
    return out, profiler


def spark_share(profiler) -> float:
    """The share of the sampled time spent waiting on the JVM (in py4j calls: Spark jobs, Delta
    commits, plan building)."""
    root = profiler.last_session.root_frame() if profiler.last_session else None
    if root is None or not root.time:
        return 0.0

    def in_py4j(frame) -> float:
        if "/py4j/" in (frame.file_path or ""):
            return frame.time
        return sum(in_py4j(child) for child in frame.children)

    return in_py4j(root) / root.time


def step_split(profiler, parents: tuple[str, ...], top: int = 6) -> str:
    """Where the time goes one level below the functions named in `parents` (the first frame of
    each), as "function share" of the whole profile, largest first. A frame on the way to another
    parent (a parent itself, or a comprehension calling one) is split further, not listed."""
    root = profiler.last_session.root_frame() if profiler.last_session else None
    if root is None or not root.time:
        return "no samples"
    steps: dict[str, float] = {}
    seen: set[str] = set()

    def leads_to_parent(frame) -> bool:
        return any(c.function in parents or leads_to_parent(c) for c in frame.children)

    def walk(frame, inside: bool) -> None:
        first = frame.function in parents and frame.function not in seen
        if first:
            seen.add(frame.function)
        for child in frame.children:
            on_the_way = child.function in parents or leads_to_parent(child)
            if (first or inside) and not on_the_way and child.function != "[self]":
                steps[child.function] = steps.get(child.function, 0.0) + child.time
            walk(child, inside=(first or inside) and on_the_way and child.function not in parents)

    walk(root, inside=False)
    largest = sorted(steps.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return ", ".join(f"{name} {seconds / root.time:.0%}" for name, seconds in largest)
