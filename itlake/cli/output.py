"""What every `itlake` command shares on its way out: JSON on stdout, and the one-line usage error.

A command that reports takes `--json` and then prints one JSON document on stdout (dates and times
as ISO 8601, NaN as null); the exit status means the same with or without it
(itlake/cli/exit_codes.py).
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn

import typer

from itlake.cli.exit_codes import USAGE

JSON_HELP = "print JSON instead of a table"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # a numpy scalar
        return _plain(value.item())
    return value


def print_json(value: Any) -> None:
    """One JSON document on stdout."""
    typer.echo(json.dumps(_plain(value), indent=2, ensure_ascii=False))


def usage_error(message: str) -> NoReturn:
    """One line on stderr and exit status 2: the command was not started."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(USAGE)
