"""`itlake portal build`: a static site of the released open datasets, in {lake}/open/portal/.

    portal/index.html                 every released dataset, with search and filters by theme
                                      (catalogue class and item), update cycle and text
    portal/datasets/<name>.html       description, licence, quality, a preview of the first rows,
                                      an interactive map where the data has a place, downloads,
                                      the schema and the release history
    portal/datasets/<name>.map.js     the map's layer (itlake/portal/maps.py)
    portal/static/                    style, scripts, the district outlines (zones.js) and Leaflet
                                      (vendored, with its licence)

The pages are Jinja2 templates (itlake/portal/templates/); search, filters and maps run in the
browser, so any static web server can serve the site. Everything is local: no CDN, no web fonts,
no basemap tiles. Links are relative and point at files only, never at a folder, so they answer
under `itlake serve` (which serves {lake}/open at /), under any web server over {lake}/open, and
from the disk. The one exception is the index's link to the whole DCAT catalogue, which
`itlake serve` answers at /catalog.jsonld and /catalog.ttl. The lake is read with pyarrow and
delta-rs (itlake/portal/facts.py): no JVM.
"""

from __future__ import annotations

import os
import shutil
import typing
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from itlake.catalog.contracts import Contract, load_contract
from itlake.catalog.resources import CatalogEntry, load_catalog
from itlake.lake.paths import system_table_path, table_path
from itlake.lake.storage import local_folder
from itlake.portal.facts import (
    Preview,
    Release,
    is_synthetic,
    preview,
    quality_lines,
    read_delta,
    release_history,
    version_folders,
)
from itlake.portal.maps import map_layer, map_script, zones_script
from itlake.publish.release import SYNTHETIC_BANNER

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
# Cycles in the catalogue's own order, fastest first, for the filter's list.
CYCLES: tuple[str, ...] = typing.get_args(CatalogEntry.model_fields["update_cycle"].annotation)


@dataclass
class DatasetView:
    """One released dataset, as the index and its own page show it."""

    entry: CatalogEntry
    contract: Contract
    theme: str  # "05.03": catalogue class and item
    theme_name: str
    synthetic: bool
    history: list[Release]
    preview: Preview
    quality: list[tuple[str, str, str]]
    releases_href: str  # the dataset's release folder, relative to the page
    map_layer: dict | None = None
    search_text: str = field(default="")

    @property
    def latest(self) -> Release:
        return self.history[0]


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = _size
    env.filters["thousands"] = lambda n: f"{n:,}"
    return env


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n} B"


def _href(target: Path, page_folder: Path) -> str:
    return Path(os.path.relpath(target, page_folder)).as_posix()


def search_text(entry: CatalogEntry, contract: Contract, theme_name: str) -> str:
    """What the search box matches: code, titles, abstracts, theme, provider and column names."""
    words = [
        entry.code,
        entry.name,
        entry.title.zh,
        entry.title.en,
        entry.abstract.zh,
        entry.abstract.en,
        theme_name,
        entry.provider.name,
        *(c.name for c in contract.columns),
    ]
    return " ".join(words).lower()


def dataset_view(catalog, entry: CatalogEntry, folders: list[Path], log, quality, pages: Path) -> DatasetView:
    contract = load_contract(entry.schema[0])
    cls = catalog.classes[entry.class_]
    item = cls.item(entry.item)
    theme_name = f"{cls.name.zh} {cls.name.en} · {item.name.zh} {item.name.en}"
    sources = [name for code in entry.related for name in catalog.get(code).schema]
    geometry = [c.name for c in contract.columns if c.geometry is not None]
    return DatasetView(
        entry=entry,
        contract=contract,
        theme=f"{entry.class_}.{entry.item}",
        theme_name=theme_name,
        synthetic=is_synthetic(folders[-1]),
        history=release_history(entry.name, folders, log),
        preview=preview(folders[-1] / "data.parquet", geometry),
        quality=quality_lines(quality, [entry.name, *sources]),
        releases_href=_href(folders[-1].parent, pages),
        map_layer=map_layer(folders[-1], contract),
        search_text=search_text(entry, contract, theme_name),
    )


def themes(catalog, views: list[DatasetView]) -> list[dict]:
    """The classes and items that hold a released dataset, for the theme filter."""
    used = {v.theme for v in views}
    out = []
    for code, cls in sorted(catalog.classes.items()):
        items = [
            {"code": f"{code}.{i.code}", "name": f"{i.name.zh} {i.name.en}"}
            for i in cls.items
            if f"{code}.{i.code}" in used
        ]
        if items:
            out.append({"code": code, "name": f"{cls.name.zh} {cls.name.en}", "items": items})
    return out


def _clear(folder: Path) -> None:
    """Remove what an earlier build wrote, so a withdrawn dataset leaves no page behind."""
    if folder.is_dir():
        shutil.rmtree(folder)


def build_portal(out: Path | None = None, advance=None) -> dict:
    """Write the site; returns the folder, the pages written and the number of datasets shown.
    `advance(1)`, when given, is called after each catalogue entry is looked at (a progress bar)."""
    catalog = load_catalog()
    # The portal reads the release folders on this machine (a lake on object storage: not yet).
    open_dir = local_folder(table_path("open", "releases")).parent
    out = Path(out) if out is not None else open_dir / "portal"
    pages = out / "datasets"
    _clear(pages)
    _clear(out / "static")
    pages.mkdir(parents=True)
    shutil.copytree(STATIC, out / "static")
    (out / "static" / "zones.js").write_text(zones_script(), encoding="utf-8")
    log = read_delta(system_table_path("publication_log"))
    quality = read_delta(system_table_path("quality_results"))
    env = environment()
    views = []
    for entry in catalog.entries:
        folders = version_folders(open_dir / "releases" / entry.name)
        if folders:
            views.append(dataset_view(catalog, entry, folders, log, quality, pages))
        if advance is not None:
            advance(1)
    written = []
    for view in views:
        if view.map_layer is not None:
            (pages / f"{view.entry.name}.map.js").write_text(map_script(view.map_layer), encoding="utf-8")
        page = pages / f"{view.entry.name}.html"
        page.write_text(
            env.get_template("dataset.html").render(
                root="../", d=view, synthetic_text=SYNTHETIC_BANNER, title=f"{view.entry.title.en} — itlake"
            ),
            encoding="utf-8",
        )
        written.append(str(page))
    index = out / "index.html"
    index.write_text(
        env.get_template("index.html").render(
            root="",
            title="itlake open data 开放数据",
            datasets=views,
            themes=themes(catalog, views),
            cycles=[c for c in CYCLES if any(v.entry.update_cycle == c for v in views)],
        ),
        encoding="utf-8",
    )
    return {"portal": str(out), "datasets": len(views), "pages": [str(index), *written]}
