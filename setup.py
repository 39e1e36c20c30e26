"""Build step: the catalogue, the contracts and the Spark jobs ship inside the package.

They live at the top of the repository (catalog/, schemas/, jobs/), where the DAGs, the tests and
spark-submit read them in a checkout; the wheel carries copies under itlake/_bundled/, which
itlake/config.py uses when no checkout is around the package. Everything else is in pyproject.toml.

    uv build            # or: python -m build
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("catalog", "schemas", "jobs")


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        # An editable install reads the checkout's own folders.
        if getattr(self, "editable_mode", False):
            return
        for name in BUNDLED:
            shutil.copytree(
                Path(name),
                Path(self.build_lib) / "itlake" / "_bundled" / name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )


setup(cmdclass={"build_py": BuildWithResources})
