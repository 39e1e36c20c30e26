"""`itlake catalog`: list, show, validate and export the information resource catalogue.

itlake catalog list
itlake catalog show taxi_gps            # or a code: 03.02.001
itlake catalog validate                 # exit code 1 on any error
itlake catalog export --format dcat --out dcat.jsonld
itlake catalog export --format turtle --out dcat.ttl
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from itlake.cli.exit_codes import FAILED
from itlake.cli.output import JSON_HELP, print_json, usage_error

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The information resource catalogue.")


def _console():
    from rich.console import Console

    return Console()


def _load():
    from itlake.catalog.resources import CatalogError, load_catalog

    try:
        return load_catalog()
    except CatalogError as exc:
        typer.echo(f"The catalogue is invalid ({len(exc.errors)} errors):", err=True)
        for line in exc.errors:
            typer.echo(line, err=True)
        raise typer.Exit(FAILED) from None


class ExportFormat(StrEnum):
    dcat = "dcat"
    jsonld = "jsonld"
    turtle = "turtle"


@app.command("list")
def list_entries(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """One line per resource: code, name, titles, layer, update cycle, opening and sharing."""
    from rich.table import Table

    entries = _load().entries
    if as_json:
        print_json([e.model_dump(mode="json", by_alias=True) for e in entries])
        return

    table = Table(
        "code",
        "name",
        "title (zh)",
        "title (en)",
        "layer",
        "update",
        "open",
        "sharing",
        title="information resource catalogue",
    )
    for e in entries:
        table.add_row(
            e.code, e.name, e.title.zh, e.title.en, e.layer, e.update_cycle, e.open.level, e.sharing.type
        )
    _console().print(table)


@app.command()
def show(
    code_or_name: str = typer.Argument(..., help="a code (03.02.001), name (taxi_gps) or table"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Every field of one entry, then the columns of each of its contracts."""
    from rich.table import Table

    from itlake.catalog.contracts import load_contract

    catalog = _load()
    try:
        entry = catalog.get(code_or_name)
    except KeyError as exc:
        usage_error(exc.args[0])
    if as_json:
        print_json(
            {
                "entry": entry.model_dump(mode="json", by_alias=True),
                "family": entry.family,
                "is_published": entry.is_published,
                "contracts": {name: load_contract(name).model_dump(mode="json") for name in entry.schema},
            }
        )
        return
    console = _console()
    fields = Table("field", "value", title=f"{entry.code} {entry.name}", show_header=False)
    for key, value in entry.model_dump(mode="json", by_alias=True).items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        fields.add_row(key, text)
    fields.add_row("family", entry.family)
    fields.add_row("is_published", str(entry.is_published))
    console.print(fields)
    for name in entry.schema:
        contract = load_contract(name)
        columns = Table(
            "column",
            "type",
            "null",
            "pii",
            "source",
            "range / allowed",
            "description",
            title=f"{name}: {contract.grain}  key {contract.primary_key}",
        )
        for c in contract.columns:
            limits = c.range if c.range is not None else c.allowed
            columns.add_row(
                c.name,
                c.type + (f" ({c.geometry}, {c.crs})" if c.geometry else ""),
                "yes" if c.nullable else "no",
                c.pii,
                c.source or "",
                "" if limits is None else json.dumps(list(limits), ensure_ascii=False),
                f"{c.description.zh} / {c.description.en}",
            )
        console.print(columns)


@app.command()
def validate(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Validate every entry, its cross-references and its contracts; exit code 1 on any error."""
    from itlake.catalog.resources import CatalogError, load_catalog

    try:
        catalog = load_catalog()
    except CatalogError as exc:
        if as_json:
            print_json({"ok": False, "errors": exc.errors})
        else:
            for line in exc.errors:
                typer.echo(line)
            typer.echo(f"{len(exc.errors)} errors")
        raise typer.Exit(FAILED) from None
    if as_json:
        print_json({"ok": True, "entries": len(catalog)})
    else:
        typer.echo(f"{len(catalog)} entries OK")


@app.command()
def export(
    format: ExportFormat = typer.Option(
        ExportFormat.dcat,
        "--format",
        help="dcat or jsonld (DCAT-AP JSON-LD), or turtle (the same graph in Turtle)",
    ),
    out: Path | None = typer.Option(None, "--out", help="write here instead of printing"),
    synthetic: list[str] = typer.Option([], "--synthetic", help="code of a resource holding synthetic data"),
) -> None:
    """Print or write the published part of the catalogue as DCAT-AP / mobilityDCAT-AP metadata."""
    from rdflib.namespace import DCAT, RDF

    from itlake.catalog.dcat import catalog_graph, catalog_uri, to_jsonld, to_turtle

    catalog = _load()
    try:
        graph = catalog_graph(catalog, synthetic_codes=set(synthetic))
    except KeyError as exc:
        usage_error(exc.args[0])
    if format == ExportFormat.turtle:
        text = to_turtle(graph)
    else:
        text = json.dumps(to_jsonld(graph, catalog_uri(graph)), ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    typer.echo(f"wrote {len(set(graph.subjects(RDF.type, DCAT.Dataset)))} datasets to {out}")
