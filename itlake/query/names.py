"""How a query names lake tables, and the rewrite of those names into engine views.

A query addresses a lake table in one of three ways:

- by layer and table, as the catalogue spells it: ``silver.taxi_gps``, ``gold.taxi_trip``,
  ``bronze.taxi_gps``, ``quarantine.waybill``, ``_system.ingest_ledger``;
- by catalogue code in backquotes: ```03.02.002``` (a code is not an identifier, so it is quoted);
- by catalogue code as an identifier: ``c_03_02_002`` (for tools that cannot quote).

An entry with several tables (GTFS: ``03.01.001``) names one of them after the code:
```03.01.001.gtfs_stop``` or ``c_03_01_001_gtfs_stop``. A code always means the entry's own layer
(silver, gold or open); bronze and quarantine tables are named by layer.

`resolve_sql` finds these names outside string literals and comments, checks each against the
tables in the lake, and rewrites it to a view name (``silver__taxi_gps``) that both engines accept.
A name that follows FROM or JOIN and is not a lake table is an error listing the closest names;
elsewhere an unknown ``layer.x`` is left alone, since it may be an alias and a column
(``gold.trip_id`` where ``gold`` aliases a table).

Pure Python: the fast engine uses it without Spark.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from itlake.lake.paths import table_path
from itlake.lake.root import LAYERS

# Layers a query can read: landing/ holds raw files, not tables.
QUERY_LAYERS = tuple(layer for layer in LAYERS if layer != "landing")
SYSTEM_TABLES = ("catalog", "ingest_ledger", "quality_results", "publication_log")
# Statements a query may start with: the tool reads the lake, it never changes it.
READ_STATEMENTS = {"SELECT", "WITH", "VALUES", "TABLE", "FROM", "DESCRIBE", "EXPLAIN", "SHOW"}
TABLE_POSITION = {"FROM", "JOIN"}
# Keywords that start a clause: after FROM or JOIN, a comma still separates tables until one of these.
CLAUSES = {"SELECT", "FROM", "JOIN", "WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "ON", "USING", "UNION",
           "WINDOW", "QUALIFY", "EXCEPT", "INTERSECT"}  # fmt: skip

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_LAYER_REF = re.compile(
    rf"`?(?P<layer>{'|'.join(QUERY_LAYERS)})`?\s*\.\s*(?:`(?P<qname>[^`]+)`|(?P<name>{_IDENT}))",
    re.IGNORECASE,
)
_CODE_QUOTED = re.compile(r"`(?P<code>\d{2}\.\d{2}\.\d{3})(?:\.(?P<part>[^`]+))?`")
_CODE_IDENT = re.compile(r"c_(?P<a>\d{2})_(?P<b>\d{2})_(?P<c>\d{3})(?:_(?P<part>[a-z][a-z0-9_]*))?", re.I)
_WORD = re.compile(_IDENT)
_TABLE_DIR = re.compile(r"^[a-z_][a-z0-9_]*$")


class QueryError(ValueError):
    """A query that cannot run; the message says which name or option is wrong and what to do."""


class UnknownTableError(QueryError):
    """A name in the query that is no lake table; the message lists the closest names."""


@dataclass(frozen=True)
class TableRef:
    """One lake table a query reads: `label` as the user writes it, `view` as the engines see it."""

    layer: str
    name: str
    path: str

    @property
    def label(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def view(self) -> str:
        return f"{self.layer}__{self.name}"


@dataclass(frozen=True)
class ResolvedQuery:
    """The query with lake names rewritten to views, and the tables it reads (in order of use)."""

    sql: str
    tables: tuple[TableRef, ...]

    def original_names(self, message: str) -> str:
        """An engine's message with view names turned back into the names the user wrote."""
        for ref in self.tables:
            message = message.replace(ref.view, ref.label)
        return message


def lake_tables(root: str) -> dict[str, str]:
    """`layer.name` -> path of every Delta table under a lake root, on disk or in a bucket."""
    from itlake.lake.storage import LakeStorage

    storage = LakeStorage.for_uri(root)
    found: dict[str, str] = {}
    for layer in QUERY_LAYERS:
        for folder in storage.table_folders(f"{root}/{layer}"):
            name = folder.rsplit("/", 1)[1]
            if _TABLE_DIR.match(name):
                found[f"{layer}.{name}"] = table_path(layer, name, root)
    return found


class Namer:
    """Resolves lake names against one lake root (the default lake's by default)."""

    def __init__(self, root: str | None = None):
        from itlake.lake.root import default_lake

        self.root = (root or default_lake().root).rstrip("/")
        self.tables = lake_tables(self.root)
        self._catalog = None

    @property
    def catalog(self):
        if self._catalog is None:
            from itlake.catalog.resources import load_catalog

            self._catalog = load_catalog()
        return self._catalog

    def ref(self, layer: str, name: str) -> TableRef | None:
        """The table `layer.name` if the lake has it."""
        label = f"{layer.lower()}.{name.lower()}"
        if label in self.tables:
            return TableRef(layer.lower(), name.lower(), self.tables[label])
        return None

    def by_code(self, code: str, part: str | None, written: str) -> TableRef:
        """The table of catalogue entry `code` (its table `part`, for an entry with several)."""
        try:
            entry = self.catalog.get(code)
        except KeyError:
            codes = [f"`{e.code}`" for e in self.catalog.entries]
            raise UnknownTableError(self._unknown_message(written, f"`{code}`", codes)) from None
        if part is None:
            if len(entry.schema) > 1:
                listed = ", ".join(f"`{code}.{t}`" for t in entry.schema)
                raise UnknownTableError(
                    f"{written}: catalogue entry {code} ({entry.name}) has {len(entry.schema)} tables; "
                    f"name one: {listed}"
                )
            part = entry.schema[0]
        if part not in entry.schema:
            raise UnknownTableError(
                self._unknown_message(written, f"{code}.{part}", [f"{code}.{t}" for t in entry.schema])
            )
        ref = self.ref(entry.layer, part)
        if ref is None:
            raise UnknownTableError(
                f"{written} is catalogue entry {code} ({entry.layer}.{part}), which has no Delta table "
                f"in the lake at {self.root} yet"
            )
        return ref

    def unknown_table(self, written: str, layer: str, name: str) -> UnknownTableError:
        label = f"{layer.lower()}.{name.lower()}"
        try:
            entry = self.catalog.get(label)
        except KeyError:
            entry = None
        if entry is not None:
            return UnknownTableError(
                f"{written} is catalogue entry {entry.code}, which has no Delta table in the lake at "
                f"{self.root} yet"
            )
        return UnknownTableError(self._unknown_message(written, label, self.candidates()))

    def candidates(self) -> list[str]:
        """Every name a query may use: lake tables and catalogue tables, and codes in backquotes."""
        names = set(self.tables)
        for entry in self.catalog.entries:
            names.update(f"{entry.layer}.{t}" for t in entry.schema)
            names.add(f"`{entry.code}`")
        names.update(f"_system.{t}" for t in SYSTEM_TABLES)
        return sorted(names)

    def _unknown_message(self, written: str, key: str, candidates: list[str]) -> str:
        close = difflib.get_close_matches(key, candidates, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"{written} is not a table in the lake at {self.root}{hint} (`itlake tables` lists them)"


def _skip_quoted(sql: str, i: int, quote: str) -> int:
    """Index just past the literal or identifier opened by `quote` at i (doubled quotes escape)."""
    j = i + 1
    while j < len(sql):
        if sql[j] == "\\" and quote == "'":
            j += 2
            continue
        if sql[j] == quote:
            if j + 1 < len(sql) and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    raise QueryError(f"unterminated {quote}...{quote} starting at character {i + 1} of the query")


def resolve_sql(sql: str, namer: Namer) -> ResolvedQuery:
    """Rewrite the lake names of one read-only statement into view names; see the module doc."""
    out: list[str] = []
    tables: dict[str, TableRef] = {}
    previous = ""  # the last keyword or punctuation outside literals, upper-cased
    clause = ""  # the last clause keyword, to tell a list of tables from a list of columns
    first_word = ""
    i, n = 0, len(sql)

    def use(ref: TableRef, end: int) -> None:
        nonlocal i, previous
        tables.setdefault(ref.label, ref)
        out.append(ref.view)
        i, previous = end, "TABLE_NAME"

    while i < n:
        ch = sql[i]
        after_ident = i > 0 and (sql[i - 1].isalnum() or sql[i - 1] in "_.")
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise QueryError(f"unterminated /* comment starting at character {i + 1} of the query")
            out.append(sql[i : end + 2])
            i = end + 2
        elif ch in "'\"":
            end = _skip_quoted(sql, i, ch)
            out.append(sql[i:end])
            i, previous = end, "LITERAL"
        elif ch == "`" and (m := _CODE_QUOTED.match(sql, i)):
            use(namer.by_code(m["code"], m["part"], m.group(0)), m.end())
        elif not after_ident and (m := _LAYER_REF.match(sql, i)) and not sql.startswith(".", m.end()):
            name = m["qname"] or m["name"]
            ref = namer.ref(m["layer"], name)
            if ref is not None:
                use(ref, m.end())
            elif previous in TABLE_POSITION or (previous == "," and clause in TABLE_POSITION):
                raise namer.unknown_table(m.group(0), m["layer"], name)
            else:
                out.append(m.group(0))
                i, previous = m.end(), "IDENT"
        elif not after_ident and (m := _CODE_IDENT.match(sql, i)) and not _continues_word(sql, m.end()):
            code = f"{m['a']}.{m['b']}.{m['c']}"
            use(namer.by_code(code, m["part"], m.group(0)), m.end())
        elif ch == "`":
            end = _skip_quoted(sql, i, "`")
            out.append(sql[i:end])
            i, previous = end, "IDENT"
        elif not after_ident and (m := _WORD.match(sql, i)):
            word = m.group(0).upper()
            first_word = first_word or word
            clause = word if word in CLAUSES else clause
            out.append(m.group(0))
            i, previous = m.end(), word
        else:
            if ch == ";" and sql[i + 1 :].strip():
                raise QueryError("one statement at a time: the query has text after ';'")
            if not ch.isspace():
                first_word = first_word or ch
                previous = ch
            out.append(ch)
            i += 1
    if first_word not in READ_STATEMENTS and first_word != "(":
        raise QueryError(
            f"only read-only queries run here (SELECT, WITH, VALUES, DESCRIBE, EXPLAIN, SHOW); "
            f"this one starts with {first_word or 'nothing'}"
        )
    return ResolvedQuery("".join(out), tuple(tables.values()))


def _continues_word(sql: str, end: int) -> bool:
    return end < len(sql) and (sql[end].isalnum() or sql[end] == "_")
