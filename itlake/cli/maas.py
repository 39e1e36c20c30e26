"""`itlake maas report`: the worst demand-supply gaps of a service date, the matching KPIs, the map."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import typer
from rich.console import Console
from rich.table import Table

from itlake.cli.exit_codes import FAILED
from itlake.cli.output import JSON_HELP, print_json

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()
errors = Console(stderr=True)


class ZoneLevel(StrEnum):
    district = "district"
    h3_r8 = "h3_r8"


@app.callback()
def maas() -> None:
    """MaaS demand-supply tables."""


@app.command()
def report(
    day: str = typer.Option("", "--date", help="service date YYYY-MM-DD (default: the latest built)"),
    top: int = typer.Option(10, help="how many gap cells to list"),
    level: ZoneLevel = typer.Option(
        ZoneLevel.district, help="zone level: districts or H3 cells of resolution 8"
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Print the cells with the most unmet demand, the day's matching KPIs and the map's path."""
    from itlake.config import get_settings
    from itlake.lake.storage import LakeStorage
    from itlake.maas.report import NoMaasTablesError, city_kpis, latest_day, worst_gaps
    from itlake.maas.unmet_map import map_path

    tz = get_settings().city_timezone
    try:
        service_date = date.fromisoformat(day) if day else latest_day()
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {day!r}", param_hint="--date") from None
    except NoMaasTablesError as err:
        errors.print(f"[red]{err}[/]")
        raise typer.Exit(FAILED) from None
    try:
        gaps = worst_gaps(service_date, level=level.value, top=top, tz=tz)
        kpis = city_kpis(service_date)
    except NoMaasTablesError as err:
        errors.print(f"[red]{err}[/]")
        raise typer.Exit(FAILED) from None
    png = map_path()
    drawn = LakeStorage.for_uri(png).exists(png)
    if as_json:
        print_json(
            {
                "date": service_date,
                "level": level.value,
                "gaps": gaps.to_dict(orient="records"),
                "kpis": kpis or None,
                "map": png if drawn else None,
            }
        )
        return
    table = Table(
        "zone",
        "name",
        "local time",
        "service",
        "demand",
        "supply",
        "unmet",
        "supply/demand",
        title=f"worst gaps on {service_date} ({level}, 15-minute intervals)",
    )
    for row in gaps.itertuples():
        ratio = "" if row.supply_demand_ratio != row.supply_demand_ratio else f"{row.supply_demand_ratio:.2f}"
        table.add_row(
            row.zone_id,
            row.zone_name,
            row.local_start,
            row.service,
            f"{row.demand:,}",
            f"{row.supply:,}",
            f"{row.unmet_demand:,}",
            ratio,
        )
    console.print(table if len(gaps) else f"no gap cells on {service_date} at level {level}")
    if kpis:
        wait = kpis["wait_average_s"]
        p95 = kpis["wait_p95_s"]
        console.print(
            f"ride matching, whole city: {kpis['requests']:,} requests, {kpis['rides']:,} rides, "
            f"rejectionRate {kpis['rejection_rate']:.1%}, waitAverage "
            + ("-" if wait != wait or wait is None else f"{wait:.0f} s")
            + ", wait_p95 "
            + ("-" if p95 != p95 or p95 is None else f"{p95:.0f} s")
        )
    if drawn:
        console.print(f"unmet demand map: {png}")
