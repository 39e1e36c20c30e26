"""What is shared: shares, schemas and tables from the catalogue, through the publishing gate.

Every entry whose sharing method includes `delta_sharing` and that the gate lets out is a table:
share `agencies` holds the conditionally shared resources (有条件共享), share `public` the
unconditionally shared ones (无条件共享); the schema is the lake layer, the table the contract name.
Pure Python: no Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

from itlake.catalog import SHARE_BY_TYPE


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
    from itlake.contracts import load_contract
    from itlake.publish.gate import refusal_reasons

    tables = []
    for entry in catalog.entries:
        if "delta_sharing" not in entry.sharing.method:
            continue
        for name in entry.schema:
            if refusal_reasons(entry, load_contract(name)):
                continue
            tables.append(SharedTable(SHARE_BY_TYPE[entry.sharing.type], entry.layer, name, entry.code))
    return sorted(tables, key=lambda t: t.key)
