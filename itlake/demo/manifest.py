"""`manifest.json`: what the generator wrote, with checksums, row counts and the planted dirt.

The manifest marks the data as synthetic (`"synthetic": true`); ingest reads it to know which
rows are deliberately wrong, so tests can check that quality rules catch exactly those rows.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

GENERATOR = "itlake demo generate"
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Dirt:
    """One deliberately bad row: `row` is the 1-based data row number (the header is not counted)."""

    feed: str
    row: int
    kind: str


@dataclass(frozen=True)
class FeedFile:
    """One written file. For the GTFS zip, `rows` counts the data rows of all its tables."""

    feed: str
    path: str
    sha256: str
    rows: int
    encoding: str


@dataclass
class Manifest:
    version: str
    seed: int
    scale: float
    date: str
    files: list[FeedFile] = field(default_factory=list)
    dirt: list[Dirt] = field(default_factory=list)
    synthetic: bool = True
    generator: str = GENERATOR

    def to_dict(self) -> dict:
        return {
            "synthetic": self.synthetic,
            "generator": self.generator,
            "version": self.version,
            "seed": self.seed,
            "scale": self.scale,
            "date": self.date,
            "files": [asdict(f) for f in sorted(self.files, key=lambda f: f.path)],
            "dirt": [asdict(d) for d in sorted(self.dirt, key=lambda d: (d.feed, d.row, d.kind))],
        }

    def write(self, out_dir: Path) -> Path:
        path = out_dir / MANIFEST_NAME
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        path.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def read(cls, out_dir: Path) -> Manifest:
        raw = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        return cls(
            version=raw["version"],
            seed=raw["seed"],
            scale=raw["scale"],
            date=raw["date"],
            files=[FeedFile(**f) for f in raw["files"]],
            dirt=[Dirt(**d) for d in raw["dirt"]],
            synthetic=raw["synthetic"],
            generator=raw["generator"],
        )


@dataclass(frozen=True)
class FeedOutput:
    """What a feed writer returns: the file, its data rows and the dirt it planted."""

    feed: str
    path: Path
    rows: int
    encoding: str
    dirt: tuple[Dirt, ...] = ()


def feed_dir(out_dir: Path, feed: str, date: dt.date) -> Path:
    """`<out>/<feed>/<YYYY-MM-DD>/`, the inbox layout the ingest DAGs read."""
    path = out_dir / feed / date.isoformat()
    path.mkdir(parents=True, exist_ok=True)
    return path
