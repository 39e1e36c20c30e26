"""The container stack as written: docker/compose.yaml, docker/Dockerfile, docker/.env.example.

No image is built and no container started here (the development machines have the docker
client only). The compose file is parsed with PyYAML (which resolves the `<<` merge keys the
same way Compose does) and checked against hand-written expectations; `docker compose config`
runs too when the compose plugin is installed (it needs no engine).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
ENV_EXAMPLE = DOCKER / ".env.example"

EXPECTED_SERVICES = {
    "postgres",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "spark-master",
    "spark-worker",
    "engine",
    "collector",
    "minio",
    "minio-init",
}
AIRFLOW_SERVICES = {name for name in EXPECTED_SERVICES if name.startswith("airflow-")}
ITLAKE_IMAGE_SERVICES = AIRFLOW_SERVICES | {"spark-master", "spark-worker", "engine", "collector"}

SECRET_KEY = re.compile(r"PASSWORD|SECRET|KEY|TOKEN")
# A whole value that is one `${NAME}` reference, optionally `${NAME:?message}`; a default
# (`${NAME:-value}`) is refused because the default would be a literal secret.
REFERENCE = re.compile(r"^\$\{(?P<name>[A-Z][A-Z0-9_]*)(?::?\?[^}]*)?\}$")
# Every `${NAME...}` in the compose file, and whether it carries a default.
ANY_REFERENCE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Z][A-Z0-9_]*)(?P<mod>:?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    """A service's environment as a mapping, whichever of the two Compose forms it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {key: value for key, value in pairs}
    return {key: ("" if value is None else str(value)) for key, value in env.items()}


def command_text(service: dict) -> str:
    parts = []
    for field in ("entrypoint", "command"):
        value = service.get(field)
        if value is None:
            continue
        parts.extend(value if isinstance(value, list) else [value])
    return " ".join(str(part) for part in parts)


def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert "=" in line, f".env.example: not KEY=value: {line!r}"
        key, value = line.split("=", 1)
        pairs[key.strip()] = value.strip()
    return pairs


# -- compose.yaml --------------------------------------------------------------------------


def test_compose_spec_without_version_key(compose):
    assert "version" not in compose, "the Compose spec has no top-level `version:`"
    assert set(compose) <= {"name", "services", "volumes", "networks", "configs", "secrets"} | {
        key for key in compose if key.startswith("x-")
    }


def test_service_names_are_exactly_the_stack(services):
    assert set(services) == EXPECTED_SERVICES


def test_every_service_has_an_image_or_a_build(services):
    for name, service in services.items():
        assert service.get("image") or service.get("build"), f"{name} has neither image nor build"


def test_airflow_and_spark_run_the_itlake_image_built_from_docker_dockerfile(services):
    images = set()
    for name in ITLAKE_IMAGE_SERVICES:
        service = services[name]
        build = service.get("build")
        assert isinstance(build, dict), f"{name}: build must name the context and Dockerfile"
        context = (DOCKER / build["context"]).resolve()
        assert context == REPO, f"{name}: the build context must be the repository root"
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE
        images.add(service["image"])
    assert len(images) == 1 and next(iter(images)).startswith("itlake:")


def test_third_party_images(services):
    assert services["postgres"]["image"] == "postgres:16"
    assert services["minio"]["image"].split(":")[0] == "minio/minio"
    assert services["minio-init"]["image"].split(":")[0] == "minio/mc"


def test_airflow_uses_postgres_and_the_local_executor(services):
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        conn = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
        assert conn.startswith("postgresql"), f"{name}: SQL_ALCHEMY_CONN is {conn!r}"
        # The password part of the URL is a reference to .env, never a literal.
        match = re.match(r"^postgresql\+psycopg2://airflow:(?P<password>[^@]+)@postgres/airflow$", conn)
        assert match, f"{name}: unexpected SQL_ALCHEMY_CONN {conn!r}"
        assert REFERENCE.match(match["password"]), f"{name}: the database password must come from .env"
        assert REFERENCE.match(match["password"])["name"] == "POSTGRES_PASSWORD"
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert REFERENCE.match(env["AIRFLOW__API_AUTH__JWT_SECRET"])


def test_itlake_settings_in_airflow_and_spark_worker(services):
    for name in AIRFLOW_SERVICES | {"spark-worker"}:
        env = environment(services[name])
        assert env["ITLAKE_MODE"] == "production"
        assert env["ITLAKE_SPARK_MASTER"] == "spark://spark-master:7077"
        assert env["ITLAKE_LAKE_ROOT"] == "s3a://lake/lake"
        assert env["ITLAKE_S3_ENDPOINT"] == "http://minio:9000"
        assert REFERENCE.match(env["ITLAKE_PSEUDONYM_KEY"])["name"] == "ITLAKE_PSEUDONYM_KEY"
        # S3A's credential chain reads the AWS_* names; they carry the same .env values.
        assert env["AWS_ACCESS_KEY_ID"] == env["ITLAKE_S3_ACCESS_KEY"]
        assert env["AWS_SECRET_ACCESS_KEY"] == env["ITLAKE_S3_SECRET_KEY"]


def test_no_literal_secret_in_any_environment(services):
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_KEY.search(key):
                assert value and REFERENCE.match(value), (
                    f"{name}: {key} must be a ${{...}} reference to docker/.env, not {value!r}"
                )


def test_no_placeholder_from_env_example_leaks_into_compose():
    text = COMPOSE.read_text()
    for key, value in env_example().items():
        if value.startswith("change-me"):
            assert value not in text, f"{key}'s placeholder is written in compose.yaml"


def test_startup_order(services):
    postgres = services["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])

    init = services["airflow-init"]
    assert "db migrate" in command_text(init)
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"

    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name

    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"


def test_airflow_components_and_ports(services):
    assert "api-server" in command_text(services["airflow-apiserver"])
    assert "8080:8080" in services["airflow-apiserver"]["ports"]
    assert command_text(services["airflow-scheduler"]).endswith("scheduler")
    assert command_text(services["airflow-dag-processor"]).endswith("dag-processor")
    assert command_text(services["airflow-triggerer"]).endswith("triggerer")


def test_spark_standalone_master_and_worker(services):
    master, worker = services["spark-master"], services["spark-worker"]
    master_cmd, worker_cmd = command_text(master), command_text(worker)
    assert "spark-class" in master_cmd and "org.apache.spark.deploy.master.Master" in master_cmd
    assert "spark-class" in worker_cmd and "org.apache.spark.deploy.worker.Worker" in worker_cmd
    assert "spark://spark-master:7077" in worker_cmd
    assert "7077:7077" in master["ports"]
    assert "8081:8081" in worker["ports"]
    assert worker["depends_on"]["spark-master"]["condition"] == "service_healthy"


def test_minio_serves_data_and_init_creates_the_lake_bucket(services):
    assert command_text(services["minio"]).split() == ["server", "/data", "--console-address", ":9001"]
    init = command_text(services["minio-init"])
    assert "mc mb" in init and "local/lake" in init


# -- .env.example --------------------------------------------------------------------------


def test_env_example_holds_placeholders_only():
    assert ENV_EXAMPLE.is_file()
    pairs = env_example()
    benign = {"AIRFLOW_UID": "50000"}
    for key, value in pairs.items():
        if key in benign:
            assert value == benign[key]
        else:
            assert value.startswith("change-me"), f".env.example: {key}={value!r} is not a placeholder"


def test_env_example_defines_every_required_compose_variable():
    defined = set(env_example())
    required = {
        m["name"]
        for m in ANY_REFERENCE.finditer(COMPOSE.read_text())
        if not (m["mod"] or "").lstrip(":").startswith("-")
    }
    assert required, "compose.yaml takes its secrets from .env"
    assert required <= defined, f"missing from .env.example: {sorted(required - defined)}"


def test_the_filled_in_env_file_is_ignored_by_git():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("git or the repository metadata is not available")
    result = subprocess.run(
        ["git", "check-ignore", "-q", "docker/.env"], cwd=REPO, capture_output=True, check=False
    )
    assert result.returncode == 0, "docker/.env (real secrets) must be git-ignored"


# -- Dockerfile ----------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_from_airflow_3_with_java_17():
    instructions = dockerfile_instructions()
    froms = [args for word, args in instructions if word == "FROM"]
    assert froms and re.match(r"^apache/airflow:3\.\d+\.\d+-python3\.11\b", froms[0])
    runs = " ".join(args for word, args in instructions if word == "RUN")
    assert re.search(r"apt-get install [^;&]*openjdk-17-(jdk|jre)-headless", runs)
    env = " ".join(args for word, args in instructions if word == "ENV")
    assert "JAVA_HOME=" in env and "ITLAKE_IVY_DIR=/opt/itlake/ivy" in env


def test_dockerfile_installs_the_lock_and_the_project_and_runs_as_airflow():
    instructions = dockerfile_instructions()
    copied = " ".join(args for word, args in instructions if word == "COPY")
    needed = ["requirements.lock", "pyproject.toml", "setup.py", "README.md", "LICENSE", "MANIFEST.in"]
    for path in (*needed, "itlake/", "catalog/", "schemas/", "jobs/", "dags/"):
        assert path in copied, f"the image does not copy {path}"
    runs = " ".join(args for word, args in instructions if word == "RUN")
    assert "pip install --no-cache-dir -r" in runs
    assert "--no-deps /opt/itlake" in runs, "the project is installed non-editably"
    assert "apache-airflow-providers-postgres" in runs
    users = [args for word, args in instructions if word == "USER"]
    assert users[-1] == "airflow", "the image must end running as the airflow user"


def test_docker_compose_config_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker binary on this machine")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed (docker compose version failed)")
    # `config` only parses, interpolates and validates: it needs no engine.
    result = subprocess.run(
        [docker, "compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
