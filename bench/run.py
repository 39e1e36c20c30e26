"""The benchmark harness: run every bench/bench_<name>.py, print one table, write the results JSON.

    python -m bench.run             # what `make bench` runs: the full benchmarks (under 30 min here)
    python -m bench.run --quick     # small scales, a minute or two: checks that everything runs
    python -m bench.run --only query,zones

A module defines `run(scale: float) -> list[dict]`, each dict with the keys name, value, unit,
baseline, ratio, goal, met and note (bench/common.py `result` makes one). Every figure is a ratio
against a baseline measured in the same run on the same data. A module that raises becomes a
FAILED row with the error, and the others still run. The JSON (bench/results/<UTC time>.json)
holds the rows, the machine, its load and the versions of the packages measured.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
QUICK_SCALE = 0.01
ROW_KEYS = ("name", "value", "unit", "baseline", "ratio", "goal", "met", "note")
PACKAGES = (
    "itlake",
    "pyspark",
    "delta-spark",
    "deltalake",
    "duckdb",
    "great-expectations",
    "geopandas",
    "shapely",
    "pyarrow",
    "pandas",
    "numpy",
)


def discover() -> list[str]:
    """Module names of bench/bench_*.py, sorted."""
    return sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))


def package_versions() -> dict[str, str | None]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def failed_row(module: str, err: BaseException) -> dict:
    return {
        "name": f"{module.removeprefix('bench_')}: FAILED",
        "value": math.nan,
        "unit": "",
        "baseline": math.nan,
        "ratio": math.nan,
        "goal": "",
        "met": False,
        "note": f"{type(err).__name__}: {err}".splitlines()[0][:300],
    }


def check_row(module: str, row: dict) -> dict:
    """The row with exactly ROW_KEYS; a malformed row is an error of its module."""
    missing = [k for k in ROW_KEYS if k not in row]
    if missing:
        raise ValueError(f"{module} returned a row without {missing}: {row}")
    return {k: row[k] for k in ROW_KEYS}


def run_module(module: str, scale: float) -> tuple[list[dict], float, str | None]:
    """The rows of one module, its wall seconds, and the traceback if it failed."""
    started = time.perf_counter()
    try:
        bench = importlib.import_module(f"bench.{module}")
        rows = [check_row(module, r) for r in bench.run(scale)]
        if not rows:
            raise ValueError(f"{module}.run returned no rows")
        return rows, time.perf_counter() - started, None
    except Exception as err:  # a failing benchmark is a row in the table, not the end of the run
        return [failed_row(module, err)], time.perf_counter() - started, traceback.format_exc()


def _number(value: float, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def _ratio(row: dict) -> str:
    ratio = row["ratio"]
    if isinstance(ratio, float) and math.isnan(ratio):
        return "-"
    if "%" in row["goal"]:
        return f"{ratio:.1%}"
    return f"{ratio:.2f}" + ("x" if "x" in row["goal"] else "")


def print_table(rows: list[dict], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    # Names and figures stay on one line each; only the note wraps.
    table.add_column("benchmark", no_wrap=True, min_width=max((len(r["name"]) for r in rows), default=9))
    for column, justify in [
        ("value", "right"),
        ("baseline", "right"),
        ("ratio", "right"),
        ("goal", "left"),
        ("met", "center"),
        ("note", "left"),
    ]:
        table.add_column(column, justify=justify, no_wrap=column != "note")
    for row in rows:
        table.add_row(
            row["name"],
            _number(row["value"], row["unit"]),
            _number(row["baseline"], row["unit"]),
            _ratio(row),
            row["goal"],
            "yes" if row["met"] else "NO",
            row["note"],
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"small scales (scale {QUICK_SCALE})")
    parser.add_argument("--scale", type=float, default=None, help="override the scale (1.0 is the full run)")
    parser.add_argument("--only", default="", help="comma-separated names, e.g. query,zones")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)

    modules = discover()
    if args.only:
        wanted = {f"bench_{n.strip().removeprefix('bench_')}" for n in args.only.split(",") if n.strip()}
        unknown = wanted - set(modules)
        if unknown:
            parser.error(f"no benchmark {', '.join(sorted(unknown))}; there are {', '.join(modules)}")
        # In the order given, so a long run can put its quick benchmarks first.
        modules = [f"bench_{n.strip().removeprefix('bench_')}" for n in args.only.split(",") if n.strip()]

    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{started_at:%Y%m%dT%H%M%SZ}.json"
    rows: list[dict] = []
    seconds: dict[str, float] = {}
    failures: dict[str, str] = {}

    def record(finished: bool) -> dict:
        now = datetime.now(UTC)
        return {
            "started_at": started_at.isoformat(),
            "finished_at": now.isoformat() if finished else None,
            "seconds": round((now - started_at).total_seconds(), 1),
            "scale": scale,
            "quick": args.quick,
            "machine": {
                "cores": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "load_average_start": load_before,
                "load_average_end": os.getloadavg(),
            },
            "versions": package_versions(),
            "module_seconds": seconds,
            "rows": [{k: _json_safe(v) for k, v in row.items()} for row in rows],
            "failures": failures,
        }

    for module in modules:
        print(f"-> {module} (scale {scale:g})", file=sys.stderr, flush=True)
        module_rows, took, failure = run_module(module, scale)
        rows.extend(module_rows)
        seconds[module] = round(took, 1)
        if failure:
            failures[module] = failure
            print(failure, file=sys.stderr, flush=True)
        print(f"   {module}: {took:.0f} s", file=sys.stderr, flush=True)
        # Written after every module, so an interrupted run keeps what it measured.
        out.write_text(json.dumps(record(False), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    final = record(True)
    out.write_text(json.dumps(final, indent=2, allow_nan=False) + "\n", encoding="utf-8")

    load = final["machine"]
    title = (
        f"itlake benchmarks, scale {scale:g}, {final['finished_at'][:16].replace('T', ' ')} UTC, "
        f"{os.cpu_count()} cores, {final['seconds'] / 60:.1f} min (load average "
        f"{load['load_average_start'][0]:.1f} at start, {load['load_average_end'][0]:.1f} at end)"
    )
    print_table(rows, title)
    print(f"results: {out}")
    return 1 if failures else 0


def _stop_spark() -> None:
    """Stop the session the benchmarks shared. Called from the command line only: a caller that
    already had a session, such as the test suite, keeps it open."""
    if "pyspark" not in sys.modules:
        return
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


if __name__ == "__main__":
    exit_code = main()
    _stop_spark()
    sys.exit(exit_code)
