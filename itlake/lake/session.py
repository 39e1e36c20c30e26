"""The one Spark session factory: Delta extension and catalog, UTC, few shuffle partitions.

Delta's jars come from Maven Central on first use (spark.jars.packages) and are cached in
ITLAKE_IVY_DIR, so later runs start without the network.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version

from itlake.config import get_settings

SCALA_BINARY = "2.13"


def delta_package() -> str:
    """The Maven coordinate of the Delta jar matching the installed delta-spark and pyspark."""
    spark_minor = ".".join(version("pyspark").split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_{SCALA_BINARY}:{version('delta-spark')}"


def spark_conf(app_name: str = "itlake") -> dict[str, str]:
    """Every setting the factory applies; spark-submit passes the same ones as --conf."""
    settings = get_settings()
    return {
        "spark.app.name": app_name,
        "spark.master": settings.spark_master,
        "spark.jars.packages": delta_package(),
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
        "spark.ui.enabled": os.environ.get("ITLAKE_SPARK_UI", "false"),
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": os.environ.get("ITLAKE_DRIVER_MEMORY", "4g"),
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # Delta replays its log with a shuffle of this many partitions; 50 (the default) is far too
        # many tasks for a few small log files on two cores.
        "spark.databricks.delta.snapshotPartitions": os.environ.get("ITLAKE_DELTA_SNAPSHOT_PARTITIONS", "2"),
    }


def get_spark(app_name: str = "itlake"):
    """Return the active session, or build one with the lake's settings."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # PySpark starts Python workers with $PYSPARK_PYTHON, else the first python3 on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for key, value in spark_conf(app_name).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("ITLAKE_SPARK_LOG_LEVEL", "WARN"))
    return spark
