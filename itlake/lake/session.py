"""The one Spark session factory: Delta extension and catalog, UTC, few shuffle partitions.

With ITLAKE_SPARK_REMOTE set (`sc://localhost:15002`, see itlake/lake/engine.py) a session
attaches to the warm engine: a Spark Connect session of its own, so two tasks attached at once
share no temporary views and no settings. Without it, the session is a local JVM in this process.

Delta's jars come from Maven Central on first use (spark.jars.packages) and are cached in
ITLAKE_IVY_DIR, so later runs start without the network. A lake on object storage (an s3a:// root)
adds Hadoop's s3a connector, hadoop-aws at the version of the Hadoop client pyspark ships (with the
AWS SDK bundle it declares), and the store's settings (itlake/lake/storage.py).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse

from itlake.config import (
    aws_sdk_environment,
    export_to_process,
    get_settings,
    process_environment,
    restored_after,
)
from itlake.lake.storage import hadoop_s3a_conf, is_remote, single_writer

SCALA_BINARY = "2.13"


def delta_package() -> str:
    """The Maven coordinate of the Delta jar matching the installed delta-spark and pyspark."""
    spark_minor = ".".join(version("pyspark").split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_{SCALA_BINARY}:{version('delta-spark')}"


def spark_jars() -> Path:
    """Spark's jars folder. Under spark-submit pyspark is imported from a zip inside SPARK_HOME, so
    the folder is found from SPARK_HOME (pyspark's own search), not from the module's file."""
    from pyspark.find_spark_home import _find_spark_home

    return Path(_find_spark_home()) / "jars"


def hadoop_aws_package() -> str:
    """The Maven coordinate of hadoop-aws matching the Hadoop client jar that pyspark ships."""
    jars = sorted(spark_jars().glob("hadoop-client-api-*.jar"))
    if not jars:
        raise RuntimeError("pyspark ships no hadoop-client-api jar: cannot choose hadoop-aws for s3a://")
    return f"org.apache.hadoop:hadoop-aws:{jars[-1].stem.removeprefix('hadoop-client-api-')}"


def lake_packages() -> str:
    """The packages of every session: Delta, and hadoop-aws when the lake is on object storage and
    Spark's own jars do not hold it already (the container image bakes it in)."""
    baked = any(spark_jars().glob("hadoop-aws-*.jar"))
    if is_remote(get_settings().lake_root) and not baked:
        return f"{delta_package()},{hadoop_aws_package()}"
    return delta_package()


def spark_conf(app_name: str = "itlake") -> dict[str, str]:
    """Every setting the factory applies; spark-submit passes the same ones as --conf."""
    settings = get_settings()
    # Event logs only where asked for: they hold every plan, and `itlake security scan` reads them.
    event_log = (
        {"spark.eventLog.enabled": "true", "spark.eventLog.dir": settings.spark_event_log_dir}
        if settings.spark_event_log_dir
        else {}
    )
    return {
        **event_log,
        "spark.app.name": app_name,
        "spark.master": settings.spark_master,
        "spark.jars.packages": lake_packages(),
        "spark.jars.ivy": str(settings.ivy_dir),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.default.parallelism": str(settings.shuffle_partitions),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Python workers must use this interpreter (with numpy, shapely...), not the first python3 on PATH.
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.ui.enabled": str(settings.spark_ui).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": settings.driver_memory,
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # Delta replays its log with a shuffle of this many partitions; 50 (the default) is far too
        # many tasks for a few small log files on two cores.
        "spark.databricks.delta.snapshotPartitions": str(settings.delta_snapshot_partitions),
        # VACUUM lists a table's folder with a job of this many tasks: 10,000 (the default) took
        # about 10 s for each small table of the demo lake.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(settings.shuffle_partitions),
        **(hadoop_s3a_conf() if is_remote(settings.lake_root) else {}),
    }


# What `SparkSession.builder.remote()` sets: pyspark.sql.functions then build Connect columns.
CONNECT_MODE = "SPARK_CONNECT_MODE_ENABLED"
# Settings a Connect session sets for itself; the rest are the server's (fixed at its start).
SESSION_CONF = ("spark.sql.session.timeZone", "spark.sql.shuffle.partitions")


class EngineNotRunningError(RuntimeError):
    """ITLAKE_SPARK_REMOTE names an engine that does not answer."""


def spark_submit_base(app_name: str) -> list[str]:
    """spark-submit with every setting of the factory, for a job or for the engine's server."""
    conf = spark_conf(app_name)
    submit = shutil.which("spark-submit", path=str(Path(sys.executable).parent)) or "spark-submit"
    command = [submit, "--master", conf.pop("spark.master"), "--packages", conf.pop("spark.jars.packages")]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return command


def submit_env() -> dict[str, str]:
    """The environment of a spark-submit: this interpreter for the driver and the workers (and for
    spark-submit's own search for SPARK_HOME, which fails with another Python on the PATH)."""
    if is_remote(get_settings().lake_root):
        aws_sdk_environment()
    return process_environment({"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable})


@contextlib.contextmanager
def connect_mode() -> Iterator[None]:
    """Spark Connect columns for the duration (what `remote_session` turns on for the whole
    process), then the process's own mode again."""
    with restored_after(CONNECT_MODE):
        yield


def remote_session(url: str, app_name: str = "itlake"):
    """A new Spark Connect session on the engine at `url` (never one shared with another caller).

    A missing engine is one line naming `itlake engine start`, found before any query; the
    client's retries are cut to about 10 s (the default waits up to 10 min for an engine that
    went away, and a task should fail fast and leave the wait to its own retries)."""
    from pyspark.sql.connect.client.retries import DefaultPolicy
    from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

    parsed = urlparse(url)
    host, port = parsed.hostname or "localhost", parsed.port or 15002
    try:
        socket.create_connection((host, port), timeout=2.0).close()
    except OSError:
        raise EngineNotRunningError(
            f"no Spark engine answers at {url} (ITLAKE_SPARK_REMOTE): start it with `itlake engine start`"
        ) from None
    export_to_process({CONNECT_MODE: "1"})
    builder = RemoteSparkSession.builder.remote(url).appName(app_name)
    conf = spark_conf(app_name)
    for key in SESSION_CONF:
        builder = builder.config(key, conf[key])
    session = builder.create()
    session._client.set_retry_policies([DefaultPolicy(max_retries=5, max_backoff=4000)])
    return session


_attached = None


def drop_attached() -> None:
    """Close this process's engine session (its engine went away, or the caller is done with it),
    so that it is no longer the active one; the next get_spark attaches anew."""
    global _attached
    if _attached is not None:
        with contextlib.suppress(Exception):  # an engine that went away cannot release it
            _attached.stop()
    _attached = None


def get_spark(app_name: str = "itlake"):
    """Return this process's session: attached to the engine when ITLAKE_SPARK_REMOTE is set,
    else the active local session, or a new one with the lake's settings."""
    global _attached
    remote = get_settings().spark_remote
    if remote:
        if _attached is None or _attached.is_stopped:
            _attached = remote_session(remote, app_name)
        return _attached
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # A new driver: on object storage, the only one writing the lake (or a clear refusal), with the
    # AWS SDK's checksum setting in the environment the JVM inherits.
    if is_remote(get_settings().lake_root):
        single_writer(get_settings().lake_root)
        aws_sdk_environment()
    # PySpark starts Python workers with $PYSPARK_PYTHON, else the first python3 on PATH.
    export_to_process({"PYSPARK_PYTHON": sys.executable}, keep_set=True)
    builder = SparkSession.builder
    for key, value in spark_conf(app_name).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(get_settings().spark_log_level)
    return spark
