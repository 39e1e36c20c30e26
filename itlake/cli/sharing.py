"""`itlake sharing`: the shared tables, and recipients with their profile files."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from itlake.cli.output import JSON_HELP, print_json

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


class Share(StrEnum):
    """The shares of itlake/sharing/shares.py SHARE_BY_TYPE (a test keeps the two the same)."""

    agencies = "agencies"
    public = "public"


@app.command("tables")
def tables(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Every table the Delta Sharing endpoint offers, by share, from the catalogue and the gate."""
    from itlake.catalog.resources import load_catalog
    from itlake.sharing.shares import shared_tables

    offered = shared_tables(load_catalog())
    if as_json:
        print_json([{"share": t.share, "schema": t.schema, "table": t.name, "code": t.code} for t in offered])
        return
    out = Table("share", "schema", "table", "code", title="Delta Sharing tables")
    for t in offered:
        out.add_row(t.share, t.schema, t.name, t.code)
    console.print(out)


@app.command("enable-cdf")
def enable_cdf(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Turn on the change data feed of every shared table the lake holds (delta.enableChangeDataFeed)."""
    from itlake.catalog.resources import load_catalog
    from itlake.sharing.shares import enable_change_data_feed, shared_tables

    changed = enable_change_data_feed(shared_tables(load_catalog()))
    if as_json:
        print_json({"changed": list(changed)})
        return
    for key in changed:
        console.print(f"[green]✓[/] {key}: change data feed on")
    console.print(f"{len(changed)} tables changed; the others had it on already or do not exist yet")


@app.command("add-recipient")
def add_recipient(
    name: str = typer.Argument(..., help="recipient name, e.g. the agency"),
    share: list[Share] = typer.Option(..., "--share", help="share it may read (repeatable)"),
    profile: Path = typer.Option(..., help="where to write the recipient's profile file (.share)"),
    endpoint: str | None = typer.Option(
        None, help="the server's public URL; default: ITLAKE_PUBLIC_BASE_URL + delta-sharing"
    ),
    days: int = typer.Option(365, help="days until the token expires"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Create a bearer token for a recipient; only its hash is kept in the recipients file."""
    from itlake.config import get_settings
    from itlake.sharing.recipients import create_recipient, recipients_path

    endpoint = endpoint or get_settings().public_base_url + "delta-sharing"
    shares = [s.value for s in share]
    recipient = create_recipient(name, shares, endpoint=endpoint, profile=profile, days=days)
    if as_json:
        print_json(
            {
                "name": name,
                "shares": list(recipient.shares),
                "expires_at": recipient.expires_at,
                "profile": profile,
                "recipients_file": recipients_path(),
            }
        )
        return
    console.print(
        f"[green]✓[/] recipient {name}: shares {', '.join(recipient.shares)}, token expires "
        f"{recipient.expires_at:%Y-%m-%d}\n  profile (give it to the recipient): {profile}\n"
        f"  recipients file (hashed tokens): {recipients_path()}"
    )
