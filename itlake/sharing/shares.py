"""What is shared: shares, schemas and tables from the catalogue, through the publishing gate.

Every entry whose sharing method includes `delta_sharing` and that the gate lets out is a table:
share `agencies` holds the conditionally shared resources (有条件共享), share `public` the
unconditionally shared ones (无条件共享); the schema is the lake layer, the table the contract name.
Shared tables carry Delta's change data feed (`delta.enableChangeDataFeed`), so recipients can
read what changed between versions; `enable_change_data_feed` turns it on with delta-rs. Pure
Python: no Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

from itlake.catalog.resources import SHARE_BY_TYPE


@dataclass(frozen=True)
class SharedTable:
    share: str
    schema: str
    name: str
    code: str

    @property
    def key(self) -> str:
        return f"{self.share}.{self.schema}.{self.name}"


def shared_tables(catalog) -> list[SharedTable]:
    from itlake.catalog.contracts import load_contract
    from itlake.catalog.policy import refusal_reasons

    tables = []
    for entry in catalog.entries:
        if "delta_sharing" not in entry.sharing.method:
            continue
        for name in entry.schema:
            if refusal_reasons(entry, load_contract(name)):
                continue
            tables.append(SharedTable(SHARE_BY_TYPE[entry.sharing.type], entry.layer, name, entry.code))
    return sorted(tables, key=lambda t: t.key)


CHANGE_DATA_FEED = "delta.enableChangeDataFeed"


def enable_change_data_feed(tables: list[SharedTable], root: str | None = None) -> list[str]:
    """Turn the change data feed on for every shared table the lake holds that lacks it (one
    metadata commit each); returns the keys of the tables changed. From then on every writer,
    Spark's MERGE and delta-rs alike, leaves change data files that /changes serves."""
    from itlake.lake.paths import table_path
    from itlake.lake.storage import is_delta_table, open_delta

    changed = []
    for table in tables:
        uri = table_path(table.schema, table.name, root)
        if not is_delta_table(uri):
            continue
        delta = open_delta(uri)
        if delta.metadata().configuration.get(CHANGE_DATA_FEED) != "true":
            delta.alter.set_table_properties({CHANGE_DATA_FEED: "true"})
            changed.append(table.key)
    return changed
