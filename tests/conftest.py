"""Shared fixtures: one warm engine and one Spark session on it for the whole run (a local session
with --local-spark), and a fresh lake per test.

A test's lake is a `Lake` (itlake/lake/root.py) made the process's lake for the test with
`use_lake`: nothing is written to the environment and no cached setting is cleared.

The suite also runs in parallel (`pytest -n 2 --dist loadfile --no-loadscope-reorder`, as `make
test` does): each worker is a process of its own with its own session on the run's engine,
temporary folders and lake root, and a test file stays on one worker, so its module-scoped lakes
are built once; the files with slow tests are handed out first (`pytest_collection_modifyitems`).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from itlake.config import get_settings
from itlake.lake.root import Lake, use_lake

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"

os.environ.setdefault("ITLAKE_SPARK_MASTER", "local[2]")
os.environ.setdefault("ITLAKE_SHUFFLE_PARTITIONS", "2")
os.environ.setdefault("ITLAKE_DRIVER_MEMORY", "2g")
# The CLI's consoles take their width from COLUMNS when they are created, at the first import of
# itlake.cli, whichever test or worker that happens in: one width for every test, wide enough
# that the lines and table cells the tests read are not wrapped.
os.environ["COLUMNS"] = "200"
# The lake of the tests that make none of their own, and of the processes tests start: a temporary
# folder, never ./lake of the checkout. Set here, before any setting is read.
if "ITLAKE_LAKE_ROOT" not in os.environ:
    os.environ["ITLAKE_LAKE_ROOT"] = tempfile.mkdtemp(prefix="itlake-tests-lake-")
    atexit.register(shutil.rmtree, os.environ["ITLAKE_LAKE_ROOT"], True)

# Settings of the tests' in-process session only (jobs, the engine and the DAGs keep Spark's own).
# The tests' tables hold a few to a few thousand rows, where compiling each query's Java code
# costs more than running it. Interpreted expressions, without whole-stage code generation, took
# the GTFS sample ingested and then a changed version merged on top from 98-113 s of CPU (driver,
# JVM and Python workers) to 59-64 s. Spark's own test suites run every expression both ways; the
# DAGs, the engine and tests/_key_leak_probe.py (a process of its own) still generate code.
TEST_SESSION_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


@contextlib.contextmanager
def _first_download_alone():
    """Hold a lock in the Ivy folder while a session starts, until one start has filled the cache:
    two parallel workers must not download Delta's jars into one cache at the same time."""
    from itlake.lake.session import delta_package

    ivy = get_settings().ivy_dir
    ivy.mkdir(parents=True, exist_ok=True)
    filled = ivy / f".filled-{delta_package().replace(':', '_')}"
    if filled.exists():
        yield
        return
    with (ivy / ".tests.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
            filled.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def settings_read_afresh():
    """After each test, the settings are read again: a test that changed one through the environment
    (monkeypatch puts the variable back after the test) leaves no cached value to the next."""
    yield
    get_settings.cache_clear()


def pytest_addoption(parser):
    parser.addoption(
        "--local-spark",
        action="store_true",
        help="a local Spark session in each test process, instead of one engine for the whole run",
    )


def pytest_configure(config):
    """One warm engine for the run (`itlake engine start` on a free port, its pid file and log in a
    temporary folder), started by the process that runs or hands out the tests, before any worker:
    every test session and every process a test starts attaches to it (ITLAKE_SPARK_REMOTE), so
    one JVM compiles the queries of both workers once and no command pays a JVM's start. Left
    alone with --local-spark, or when ITLAKE_SPARK_REMOTE names an engine already; tests that need
    a Spark of their own (the cluster's jobs, the S3 lake's engine, the scheduler's, the wheel)
    start it themselves."""
    worker = hasattr(config, "workerinput")
    if worker or config.getoption("--local-spark") or os.environ.get("ITLAKE_SPARK_REMOTE"):
        return
    from itlake.cli.demo_run import warm_engine
    from itlake.config import export_to_process, restored_after
    from tests._services import free_port

    folder = tempfile.mkdtemp(prefix="itlake-tests-engine-")
    export_to_process({"ITLAKE_ENGINE_PORT": str(free_port()), "ITLAKE_ENGINE_DIR": folder})
    config.itlake_engine = contextlib.ExitStack()
    config.itlake_engine.callback(shutil.rmtree, folder, True)
    # As `make demo` runs it (started here, stopped at the end); both workers' sessions share its heap.
    with restored_after("ITLAKE_DRIVER_MEMORY"):
        export_to_process({"ITLAKE_DRIVER_MEMORY": "3g"})
        config.itlake_engine.enter_context(warm_engine(True))


def pytest_unconfigure(config):
    if hasattr(config, "itlake_engine"):
        config.itlake_engine.close()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Hand out the files with a slow test first, the longest (`pytest.mark.slow(minutes=N)`)
    before the others, then the rest with the most tests first (pytest-xdist's own rule). The
    workers get whole files in this order (`--dist loadfile --no-loadscope-reorder` in the
    Makefile): a long file handed out last would run alone at the end, while quick files fill the
    waits of a long one started early. Run after `-m` has deselected tests, so the quick lane
    (`-m "not slow"`) keeps xdist's order."""

    def weight(item) -> float:
        marker = item.get_closest_marker("slow")
        return 0 if marker is None else 1 + marker.kwargs.get("minutes", 0)

    heaviest: dict[Path, float] = {}
    tests: dict[Path, int] = {}
    for item in items:
        heaviest[item.path] = max(heaviest.get(item.path, 0), weight(item))
        tests[item.path] = tests.get(item.path, 0) + 1
    # A stable sort by values shared by each file's tests keeps every file's tests together.
    items.sort(key=lambda item: (-heaviest[item.path], -tests[item.path]))


@pytest.fixture(scope="session")
def spark():
    """The run's session with Delta: attached to the run's engine, or with --local-spark a local[2]
    session, UI off."""
    from itlake.lake.session import get_spark

    with _first_download_alone():
        session = get_spark("itlake-tests")
    for key, value in TEST_SESSION_CONF.items():
        session.conf.set(key, value)
    yield session
    session.stop()
    # py4j says goodbye at interpreter exit, after pytest has closed the streams it logs to.
    logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture
def lake(tmp_path):
    """A fresh, empty lake for one test, the process's lake while it runs; returns its folder (code
    that is handed a lake gets `Lake(lake)`)."""
    root = tmp_path / "lake"
    with use_lake(Lake(root)):
        yield root


@pytest.fixture
def lenient_taxi_contract(tmp_path, monkeypatch):
    """The contracts, with taxi_gps allowed to quarantine half a batch (the fixture has 1 bad row in 10)."""
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    contract = schemas / "taxi_gps.yaml"
    contract.write_text(
        contract.read_text(encoding="utf-8").replace(
            "quarantine_threshold: 0.05", "quarantine_threshold: 0.5"
        )
    )
    monkeypatch.setenv("ITLAKE_SCHEMA_DIR", str(schemas))
    get_settings.cache_clear()
    yield schemas
    get_settings.cache_clear()
