"""The package outside the checkout: build the sdist and the wheel from it, install the wheel with
only the `serve` extra into a fresh virtualenv in a temporary folder, and run the commands that need
no JVM there: the catalogue check, a fast-engine query on a small lake, and the server's health.

Slow (it downloads the core's wheels on a cold cache); uv comes from the project's virtualenv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from tests._services import free_port, own_spark

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _uv() -> str:
    found = Path(sys.executable).with_name("uv")
    uv = str(found) if found.exists() else shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed next to this interpreter or on PATH")
    return uv


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A virtualenv outside the checkout holding the built wheel; the environment to run it in."""
    uv = _uv()
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    # Building the sdist first and the wheel from it checks that the sdist carries everything.
    build = [uv, "build", "--out-dir", str(dist), str(ROOT)]
    subprocess.run(build, check=True, capture_output=True, timeout=600)
    wheel = next(dist.glob("itlake-*.whl"))
    venv = work / "venv"
    subprocess.run([uv, "venv", "--python", sys.executable, str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--python", str(python), f"itlake[serve] @ {wheel.as_uri()}"],
        check=True,
        capture_output=True,
        timeout=900,
    )
    env = own_spark(os.environ)
    env = {k: v for k, v in env.items() if not k.startswith(("ITLAKE_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(ITLAKE_LAKE_ROOT=str(work / "lake"), ITLAKE_INBOX=str(work / "inbox"))
    return {"work": work, "wheel": wheel, "python": python, "itlake": venv / "bin" / "itlake", "env": env}


def run(installed, *args, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(installed["itlake"]), *args],
        cwd=installed["work"],
        env={**installed["env"], **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_wheel_carries_the_catalogue_contracts_jobs_and_settings(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for member in [
        "itlake/maas/maas.yaml",
        "itlake/data/gbt2260.csv",
        "itlake/_bundled/catalog/03.02.001_taxi_gps.yaml",
        "itlake/_bundled/catalog/classes.yaml",
        "itlake/_bundled/schemas/gtfs_fare_rule.yaml",
        "itlake/_bundled/jobs/ingest.py",
    ]:
        assert member in names, member
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any("__pycache__" in n for n in names)


def test_it_runs_from_the_installed_copy_without_spark_or_airflow(installed):
    probe = subprocess.run(
        [
            str(installed["python"]),
            "-c",
            "import importlib.util, itlake, itlake.config as c; "
            "print(itlake.__file__); print(c.get_settings().catalog_dir); "
            "print([m for m in ('pyspark', 'airflow') if importlib.util.find_spec(m)])",
        ],
        cwd=installed["work"],
        env=installed["env"],
        capture_output=True,
        text=True,
        check=True,
    )
    module, catalog_dir, heavy = probe.stdout.splitlines()
    assert "site-packages" in module and str(ROOT) not in module
    assert catalog_dir.endswith("site-packages/itlake/_bundled/catalog")
    assert heavy == "[]"


def test_the_installed_command_prints_its_version(installed):
    done = run(installed, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "itlake 0.1.0\n"
    assert installed["wheel"].name == "itlake-0.1.0-py3-none-any.whl"


def test_catalog_validate_reads_the_installed_catalogue(installed):
    done = run(installed, "catalog", "validate")
    entries = len(list((ROOT / "catalog").glob("[0-9]*.yaml")))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{entries} entries OK"


def test_catalog_dir_can_still_be_pointed_elsewhere(installed, tmp_path):
    shutil.copy(ROOT / "catalog" / "classes.yaml", tmp_path / "classes.yaml")
    shutil.copy(ROOT / "catalog" / "03.02.001_taxi_gps.yaml", tmp_path)
    done = run(installed, "catalog", "validate", env={"ITLAKE_CATALOG_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1 entries OK"


def test_sql_fast_engine_on_a_small_lake(installed):
    lake = installed["work"] / "lake"
    trips = pa.table(
        {
            "trip_id": ["t1", "t2", "t3", "t4"],
            "pickup_zone_id": ["440303", "440307", "440303", "440303"],
            "distance_m": [1200.0, 800.0, 3000.0, 1800.0],
        }
    )
    write_deltalake(str(lake / "gold" / "taxi_trip"), trips, mode="overwrite")
    done = run(
        installed,
        "sql",
        "--engine",
        "fast",
        "--format",
        "csv",
        "SELECT pickup_zone_id, count(*) AS trips, sum(distance_m) AS metres "
        "FROM gold.taxi_trip GROUP BY 1 ORDER BY 1",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["pickup_zone_id,trips,metres", "440303,3,6000.0", "440307,1,800.0"]


def test_serve_answers_its_health_check(installed):
    port = free_port()
    server = subprocess.Popen(
        [str(installed["itlake"]), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=installed["work"],
        env=installed["env"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                    assert answer.status == 200
                    assert json.loads(answer.read()) == {"status": "ok"}
                    break
            except OSError:
                assert server.poll() is None, "itlake serve exited"
                assert time.monotonic() < deadline, "itlake serve did not answer in 60 s"
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
