"""What a command that runs the pipeline checks before it starts: production mode's secrets."""

from __future__ import annotations

import typer
from rich.console import Console


def require_secrets(console: Console) -> None:
    """Exit with status 2 and say why when production mode lacks a secret (ITLAKE_PSEUDONYM_KEY)."""
    from itlake.config import MissingSecretError, get_settings

    try:
        get_settings().check_secrets()
    except MissingSecretError as err:
        console.print(f"[red]✗ stopped at start:[/] {err}")
        raise typer.Exit(2) from None
