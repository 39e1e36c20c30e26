"""Settings for every stage, read once from the environment with local defaults.

Local mode (the default) runs on local Spark with a lake in ./lake; production mode
(ITLAKE_MODE=production) refuses to start without the secrets it needs.

This is the one module of the package that touches the process environment (tests/test_structure.py
checks it): every variable is read here into a typed field of `Settings`, and the few variables a
library reads from the environment itself (PySpark, Spark Connect, Airflow, Great Expectations, the
AWS SDKs) are set through `export_to_process`, `restored_after` and `process_environment`.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The copies of catalog/, schemas/ and jobs/ that an installed wheel carries (setup.py).
BUNDLED_DIR = Path(__file__).resolve().parent / "_bundled"

# A key that is safe to print because it protects nothing: demo data is synthetic.
DEMO_PSEUDONYM_KEY = "itlake-demo-key-not-for-real-data"

# Where `itlake serve` answers by default; metadata links (DCAT) resolve there unless
# ITLAKE_PUBLIC_BASE_URL names the public address.
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8765/"


class MissingSecretError(RuntimeError):
    """A secret that production mode needs is not set."""


@dataclass(frozen=True)
class ObjectStore:
    """How to reach a lake on an S3-compatible store (a lake root of s3a://bucket/path).

    The keys are the standard AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, so that every client
    (pyarrow, deltalake, Hadoop's s3a in the JVM, which reads them from its own environment) finds
    the same ones; unset, each client falls back to its own chain (an instance role). They are left
    out of the repr so that no log or error prints them."""

    endpoint: str = ""
    region: str = "us-east-1"
    path_style: bool = False
    access_key_id: str = field(default="", repr=False)
    secret_access_key: str = field(default="", repr=False)

    @property
    def allow_http(self) -> bool:
        return self.endpoint.startswith("http://")


@dataclass(frozen=True)
class Settings:
    mode: str
    lake_root: str
    spark_master: str
    shuffle_partitions: int
    ivy_dir: Path
    catalog_dir: Path
    schema_dir: Path
    inbox_dir: Path
    jobs_dir: Path
    k_anonymity: int
    city_timezone: str
    # The warm engine: a Spark Connect server every task attaches to (itlake/lake/engine.py).
    spark_remote: str
    engine_port: int
    engine_bind: str
    engine_dir: Path
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL
    object_store: ObjectStore = ObjectStore()
    pseudonym_key_env: str = "ITLAKE_PSEUDONYM_KEY"
    # Where Airflow keeps its home and its task logs (Airflow's own variables and defaults), and
    # where Spark writes event logs when they are wanted (none by default): the security scan
    # reads them all for the pseudonym key.
    airflow_home: Path = Path.home() / "airflow"
    airflow_log_dir: Path = Path.home() / "airflow" / "logs"
    spark_event_log_dir: str = ""
    # The driver of a local session (itlake/lake/session.py): its UI, its memory, the partitions of
    # Delta's log replay and the log level of the JVM.
    spark_ui: bool = False
    driver_memory: str = "4g"
    delta_snapshot_partitions: int = 2
    spark_log_level: str = "WARN"
    # MaaS: a YAML file whose keys override the shipped itlake/maas/maas.yaml (None: the shipped one).
    maas_config: Path | None = None
    # Delta Sharing: the recipients file (token hashes, never in the repository) and the secret that
    # signs file URLs (empty: a random key per process, refused in production).
    sharing_recipients: Path = Path.home() / ".config" / "itlake" / "sharing-recipients.json"
    sharing_secret: str = field(default="", repr=False)

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    def pseudonym_key(self) -> bytes:
        """The HMAC key for pseudonyms; production mode refuses to run without one."""
        key = os.environ.get(self.pseudonym_key_env, "")
        if key:
            return key.encode("utf-8")
        if self.is_production:
            raise MissingSecretError(
                f"{self.pseudonym_key_env} is not set: production mode needs the HMAC key for "
                "pseudonyms (set it from a secret store or an Airflow connection)."
            )
        warnings.warn(
            f"{self.pseudonym_key_env} is not set; using the labelled demo key. "
            "Pseudonyms made with it protect nothing: use it for synthetic data only.",
            stacklevel=2,
        )
        return DEMO_PSEUDONYM_KEY.encode("utf-8")


    def feed_secret(self, env_name: str) -> str:
        """The value of a publisher's auth header, from the environment variable the catalogue names
        (`poll.auth_env`); a missing one stops the collector rather than polling without it."""
        value = os.environ.get(env_name, "")
        if not value:
            raise MissingSecretError(f"{env_name} is not set: a catalogue poll names it for an auth header.")
        return value

    def check_secrets(self) -> None:
        """Stop a run at its start, before any work, when production mode lacks a secret it needs."""
        if self.is_production:
            self.pseudonym_key()


def _path(name: str, default: Path) -> Path:
    return Path(os.environ.get(name, str(default))).expanduser()


def _optional_path(name: str) -> Path | None:
    value = os.environ.get(name, "")
    return Path(value).expanduser() if value else None


def _shipped(folder: str) -> Path:
    """The checkout's `folder` (catalog, schemas, jobs) when the package runs from a checkout, else
    the copy installed with the package."""
    checkout = REPO_ROOT / folder
    if (REPO_ROOT / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    return BUNDLED_DIR / folder


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings in force; tests that change the environment call `get_settings.cache_clear()`."""
    mode = os.environ.get("ITLAKE_MODE", "local")
    if mode not in ("local", "production"):
        raise ValueError(f"ITLAKE_MODE must be 'local' or 'production', not {mode!r}")
    airflow_home = _path("AIRFLOW_HOME", Path.home() / "airflow")
    return Settings(
        mode=mode,
        lake_root=os.environ.get("ITLAKE_LAKE_ROOT", str(Path.cwd() / "lake")),
        spark_master=os.environ.get("ITLAKE_SPARK_MASTER", "local[2]"),
        shuffle_partitions=int(os.environ.get("ITLAKE_SHUFFLE_PARTITIONS", "4")),
        ivy_dir=_path("ITLAKE_IVY_DIR", Path.home() / ".cache" / "itlake" / "ivy"),
        catalog_dir=_path("ITLAKE_CATALOG_DIR", _shipped("catalog")),
        schema_dir=_path("ITLAKE_SCHEMA_DIR", _shipped("schemas")),
        inbox_dir=_path("ITLAKE_INBOX", Path.cwd() / "inbox"),
        jobs_dir=_path("ITLAKE_JOBS_DIR", _shipped("jobs")),
        k_anonymity=int(os.environ.get("ITLAKE_K_ANONYMITY", "10")),
        city_timezone=os.environ.get("ITLAKE_CITY_TIMEZONE", "Asia/Shanghai"),
        spark_remote=os.environ.get("ITLAKE_SPARK_REMOTE", ""),
        engine_port=int(os.environ.get("ITLAKE_ENGINE_PORT", "15002")),
        engine_bind=os.environ.get("ITLAKE_ENGINE_BIND", "127.0.0.1"),
        engine_dir=_path("ITLAKE_ENGINE_DIR", Path.home() / ".cache" / "itlake" / "engine"),
        public_base_url=_base_url(os.environ.get("ITLAKE_PUBLIC_BASE_URL", DEFAULT_PUBLIC_BASE_URL)),
        airflow_home=airflow_home,
        airflow_log_dir=_path("AIRFLOW__LOGGING__BASE_LOG_FOLDER", airflow_home / "logs"),
        spark_event_log_dir=os.environ.get("ITLAKE_SPARK_EVENT_LOG_DIR", ""),
        spark_ui=_flag("ITLAKE_SPARK_UI", os.environ.get("ITLAKE_SPARK_UI", "false")),
        driver_memory=os.environ.get("ITLAKE_DRIVER_MEMORY", "4g"),
        delta_snapshot_partitions=int(os.environ.get("ITLAKE_DELTA_SNAPSHOT_PARTITIONS", "2")),
        spark_log_level=os.environ.get("ITLAKE_SPARK_LOG_LEVEL", "WARN"),
        maas_config=_optional_path("ITLAKE_MAAS_CONFIG"),
        sharing_recipients=_path(
            "ITLAKE_SHARING_RECIPIENTS", Path.home() / ".config" / "itlake" / "sharing-recipients.json"
        ),
        sharing_secret=os.environ.get("ITLAKE_SHARING_SECRET", ""),
        object_store=ObjectStore(
            endpoint=_endpoint(os.environ.get("ITLAKE_S3_ENDPOINT", "")),
            region=os.environ.get("ITLAKE_S3_REGION", "us-east-1"),
            path_style=_flag("ITLAKE_S3_PATH_STYLE", os.environ.get("ITLAKE_S3_PATH_STYLE", "false")),
            access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", ""),
            secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        ),
    )


def _endpoint(value: str) -> str:
    """The store's endpoint URL without a trailing slash; empty for AWS's own endpoint of the region."""
    if value and not value.startswith(("http://", "https://")):
        raise ValueError(f"ITLAKE_S3_ENDPOINT must be an http(s) URL, not {value!r}")
    return value.rstrip("/")


def _flag(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ValueError(f"{name} must be 'true' or 'false', not {value!r}")
    return value.lower() == "true"


def aws_sdk_environment() -> None:
    """Ask the AWS SDKs of this process and of the JVMs it starts (pyarrow's for C++, Hadoop's s3a
    for Java) to add a checksum to a request only where S3 requires one. Since 2025 they add CRC
    checksums to every upload by default, which S3-compatible stores (S3Proxy, older MinIO, OSS)
    refuse (`XAmzContentSHA256Mismatch`); the C++ SDK reads this from the environment only. A value
    the operator set is kept."""
    os.environ.update(aws_sdk_checksum_settings())


def aws_sdk_checksum_settings() -> dict[str, str]:
    """The AWS SDKs' checksum settings (see `aws_sdk_environment`): the operator's, else
    `when_required`; also handed to Spark executors on other machines (spark.executorEnv)."""
    names = ("AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION")
    return {name: os.environ.get(name, "when_required") for name in names}


def _base_url(value: str) -> str:
    """The public base URL with one trailing slash, so that relative paths join onto it."""
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"ITLAKE_PUBLIC_BASE_URL must be an http(s) URL, not {value!r}")
    return value.rstrip("/") + "/"


def export_to_process(variables: dict[str, str], *, keep_set: bool = False) -> None:
    """Set variables in this process's environment, for the libraries that read their settings
    there (PySpark, Spark Connect, Airflow, Great Expectations) and for the processes it starts;
    with `keep_set`, a variable the operator set already is kept. The settings are read again."""
    for name, value in variables.items():
        if keep_set:
            os.environ.setdefault(name, value)
        else:
            os.environ[name] = value
    get_settings.cache_clear()


def process_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of this process's environment with `extra` on top: the environment of a child process."""
    return {**os.environ, **(extra or {})}


@contextlib.contextmanager
def restored_after(*names: str) -> Iterator[None]:
    """Run the block, then put the variables `names` back as they were before it (unset ones unset),
    and read the settings again."""
    before = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


@contextlib.contextmanager
def using_lake(root) -> Iterator[Path]:
    """Point the settings, and so the processes started meanwhile, at the lake folder `root` for the
    duration, then back at the one before (the settings are cached, so the cache is cleared both
    ways). Within one process `itlake.lake.root.use_lake` does this without the environment."""
    before = os.environ.get("ITLAKE_LAKE_ROOT")
    os.environ["ITLAKE_LAKE_ROOT"] = str(root)
    get_settings.cache_clear()
    try:
        yield Path(root)
    finally:
        if before is None:
            os.environ.pop("ITLAKE_LAKE_ROOT", None)
        else:
            os.environ["ITLAKE_LAKE_ROOT"] = before
        get_settings.cache_clear()
