"""`itlake portal build`: a static site of the released open datasets, in {lake}/open/portal/.

The release folders are read and the site is written through the storage layer
(itlake/lake/storage.py): on a lake in a bucket the site goes to the bucket too (or to `--out`, a
local folder), ready for a static web server in front of the bucket.

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

import posixpath
import typing
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from itlake.catalog.contracts import Contract, load_contract
from itlake.catalog.resources import CatalogEntry, load_catalog
from itlake.lake.paths import system_table_path, table_path
from itlake.lake.storage import LakeStorage
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


def _href(target: str, page_folder: str) -> str:
    return posixpath.relpath(target, page_folder)


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


def dataset_view(catalog, entry: CatalogEntry, folders: list[str], log, quality, pages: str) -> DatasetView:
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
        preview=preview(f"{folders[-1]}/data.parquet", geometry),
        quality=quality_lines(quality, [entry.name, *sources]),
        releases_href=_href(folders[-1].rsplit("/", 1)[0], pages),
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


def _clear(storage: LakeStorage, folder: str) -> None:
    """Remove what an earlier build wrote, so a withdrawn dataset leaves no page behind."""
    if storage.exists(folder):
        storage.delete_folder(folder)


def build_portal(out: Path | str | None = None, advance=None) -> dict:
    """Write the site; returns the folder, the pages written and the number of datasets shown.
    `advance(1)`, when given, is called after each catalogue entry is looked at (a progress bar)."""
    catalog = load_catalog()
    open_dir = table_path("open", "releases").rsplit("/", 1)[0]
    out = str(out).rstrip("/") if out is not None else f"{open_dir}/portal"
    storage = LakeStorage.for_uri(out)
    pages = f"{out}/datasets"
    _clear(storage, pages)
    _clear(storage, f"{out}/static")
    for source in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        storage.copy_in(source, f"{out}/static/{source.relative_to(STATIC).as_posix()}", replace=True)
    storage.write_text(f"{out}/static/zones.js", zones_script())
    log = read_delta(system_table_path("publication_log"))
    quality = read_delta(system_table_path("quality_results"))
    env = environment()
    views = []
    for entry in catalog.entries:
        folders = version_folders(f"{open_dir}/releases/{entry.name}")
        if folders:
            views.append(dataset_view(catalog, entry, folders, log, quality, pages))
        if advance is not None:
            advance(1)
    written = []
    for view in views:
        if view.map_layer is not None:
            storage.write_text(f"{pages}/{view.entry.name}.map.js", map_script(view.map_layer))
        page = f"{pages}/{view.entry.name}.html"
        storage.write_text(
            page,
            env.get_template("dataset.html").render(
                root="../", d=view, synthetic_text=SYNTHETIC_BANNER, title=f"{view.entry.title.en} — itlake"
            ),
        )
        written.append(page)
    index = f"{out}/index.html"
    storage.write_text(
        index,
        env.get_template("index.html").render(
            root="",
            title="itlake open data 开放数据",
            datasets=views,
            themes=themes(catalog, views),
            cycles=[c for c in CYCLES if any(v.entry.update_cycle == c for v in views)],
        ),
    )
    return {"portal": out, "datasets": len(views), "pages": [index, *written]}
