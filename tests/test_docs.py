"""The documentation site: it builds with `mkdocs build --strict`, its reference names every command
of the CLI and every variable the package reads, and the README stays short."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from itlake.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _hook():
    spec = importlib.util.spec_from_file_location("docs_reference_hook", DOCS / "hooks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the typer app, walked here independently of the docs hook."""
    found = []

    def walk(command, path):
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                walk(sub, (*path, name))

    walk(typer.main.get_command(app), ("itlake",))
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_site_builds_strict_with_every_section(site):
    for page in [
        "getting-started",
        "concepts/catalogue",
        "concepts/contracts",
        "concepts/layers",
        "concepts/ledger",
        "feeds/gtfs",
        "quality",
        "publishing",
        "sharing",
        "maas",
        "querying",
        "operations/engine",
        "operations/object-storage",
        "operations/security",
        "operations/reliability",
        "operations/benchmarks",
        "reference/cli",
        "reference/configuration",
    ]:
        assert (site / page / "index.html").is_file(), page


def test_every_cli_command_has_a_section_in_the_reference(site):
    html = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([^"]+)"', html))
    paths = command_paths()
    assert ("itlake", "catalog", "validate") in paths and ("itlake", "sql") in paths
    missing = ["-".join(p) for p in paths if "-".join(p) not in ids]
    assert missing == []


def test_every_cli_command_is_described_in_a_written_page():
    written = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md"))
    missing = [" ".join(p) for p in command_paths() if len(p) > 1 and " ".join(p) not in written]
    assert missing == []


def test_the_configuration_reference_lists_what_the_settings_read(site):
    html = (site / "reference" / "configuration" / "index.html").read_text(encoding="utf-8")
    for variable, default in [
        ("ITLAKE_LAKE_ROOT", "./lake"),
        ("ITLAKE_K_ANONYMITY", "10"),
        ("ITLAKE_SPARK_MASTER", "local[2]"),
        ("ITLAKE_SHUFFLE_PARTITIONS", "4"),
    ]:
        row = re.search(rf"<td><code>{variable}</code></td>\s*<td>(.*?)</td>", html, re.S)
        assert row is not None, variable
        assert f"<code>{default}</code>" in row.group(1), (variable, row.group(1))


def test_environment_reads_finds_names_modules_and_literal_defaults(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "config.py").write_text(
        'import os\nA = os.environ.get("ITLAKE_ALPHA", "7")\nB = _path("ITLAKE_BETA", ROOT / "x")\n'
    )
    (package / "other.py").write_text(
        'import os\nNAME = "ITLAKE_GAMMA"\nC = os.environ.get(NAME, "")\n'
        'os.environ.setdefault("ITLAKE_ALPHA", "9")\nos.environ.pop("ITLAKE_BETA", None)\n'
    )
    reads = _hook().environment_reads(package)
    assert reads == {
        "ITLAKE_ALPHA": {"modules": {"pkg.config", "pkg.other"}, "default": "`7`"},
        "ITLAKE_BETA": {"modules": {"pkg.config", "pkg.other"}, "default": None},
        "ITLAKE_GAMMA": {"modules": {"pkg.other"}, "default": "(unset)"},
    }


def test_the_readme_is_short_and_names_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    for needed in ("make demo", "make test-fast", "Java 17", "python3-venv", "4 GB", "make docs"):
        assert needed in text, needed
