"""The shape of the package, read from its source with `ast` (nothing is imported or run):

- only itlake/config.py touches the process environment;
- the modules of itlake/ import each other without a cycle;
- a stage never imports a stage later in the flow, and only itlake/orchestration imports Airflow.

What counts as an import: every `import` and `from ... import` of the package, at module level and
inside functions alike (a function-level import still ties the two modules together; it only runs
later). Imports under `if TYPE_CHECKING:` are left out: they never run. `from a.b import c` is an
import of the module a.b.c when there is one, else of a.b. Importing a.b.c also runs a/b/__init__.py;
that implied import is not counted, since a package's __init__ runs before its modules and its own
imports are counted in their place.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "itlake"

# The stages in the order data flows through them (feeds -> lake -> quality -> gold -> serving). A
# module of a stage may import its own stage and the ones before it, never one after it. The quality
# rules come before ingest here: ingest applies them as the gate between bronze and silver, so it
# imports them, and they know nothing of ingest. The catalogue (itlake/catalog), the settings
# (config.py), geography (itlake/geo) and the lake's storage (itlake/lake) are the ground every
# stage stands on: they are in no stage and import none. privacy, collect and demo serve several
# stages and are in none; the check holds them to nothing.
STAGES = (
    ("feeds", ("itlake.feeds",)),
    ("quality", ("itlake.quality",)),
    ("ingest", ("itlake.ingest",)),
    ("gold", ("itlake.gold", "itlake.maas")),
    ("serving", ("itlake.publish", "itlake.sharing", "itlake.portal", "itlake.query")),
    ("orchestration", ("itlake.orchestration", "itlake.cli")),
)
GROUND = ("itlake.config", "itlake.catalog", "itlake.geo", "itlake.lake")
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:`."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imports(path: Path, name: str, known: set[str]) -> list[tuple[str, int]]:
    """(imported module of the package, line) for every import in the file at `path`."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    skipped = _type_checking_blocks(tree)
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    found.append((sub, node.lineno))
                elif base in known:
                    found.append((base, node.lineno))
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first such import}, within the package."""
    files = modules(package)
    known = set(files)
    graph: dict[str, dict[str, int]] = {}
    for name, path in files.items():
        edges = graph.setdefault(name, {})
        for target, line in imports(path, name, known):
            if target != name:
                edges.setdefault(target, line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        # Iterative depth-first search: the graph is deep enough to make recursion a risk.
        work = [(node, iter(sorted(graph.get(node, {}))))]
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[current] = min(low[current], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def describe_cycle(component: list[str], graph, files) -> str:
    inside = set(component)
    ties = [
        f"{files[a].relative_to(ROOT)}:{line} imports {b}"
        for a in component
        for b, line in sorted(graph[a].items())
        if b in inside
    ]
    return " <-> ".join(component) + "\n    " + "\n    ".join(ties)


def environment_uses(path: Path) -> list[tuple[int, str]]:
    """(line, code) of every use of the process environment in one file."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_NAMES:
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Name) and node.id in ENVIRONMENT_NAMES:
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "posix", "nt"):
            names = [a.name for a in node.names if a.name in ENVIRONMENT_NAMES]
            if names:
                found.append((node.lineno, f"from {node.module} import {', '.join(names)}"))
    return sorted(set(found))


def stage_of(module: str) -> int | None:
    for rank, (_, packages) in enumerate(STAGES):
        if any(module == p or module.startswith(p + ".") for p in packages):
            return rank
    return None


# --- the checks run on the package ---


def test_only_config_reads_or_sets_the_environment():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {code}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != PACKAGE / "config.py"
        for line, code in environment_uses(path)
    ]
    assert not offenders, "only itlake/config.py may touch the environment:\n" + "\n".join(offenders)


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    files = modules()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(describe_cycle(c, graph, files) for c in found)


def test_no_stage_imports_a_later_stage_and_the_ground_imports_no_stage():
    graph = import_graph()
    files = modules()
    wrong = []
    for module, targets in sorted(graph.items()):
        mine = stage_of(module)
        grounded = any(module == g or module.startswith(g + ".") for g in GROUND)
        for target, line in sorted(targets.items()):
            theirs = stage_of(target)
            if theirs is None:
                continue
            if grounded or (mine is not None and theirs > mine):
                where = STAGES[mine][0] if mine is not None else "the ground"
                wrong.append(
                    f"{files[module].relative_to(ROOT)}:{line}: {module} ({where}) imports "
                    f"{target} ({STAGES[theirs][0]})"
                )
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)


def test_only_orchestration_imports_airflow():
    outside = []
    for name, path in modules().items():
        if name.startswith("itlake.orchestration"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                named = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                named = [node.module or ""]
            else:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            outside += [f"{where}: {m}" for m in named if m.split(".")[0] == "airflow"]
    assert not outside, "Airflow imported outside itlake/orchestration:\n" + "\n".join(outside)


# --- the checks checked, on small packages written here ---


@pytest.fixture
def toy(tmp_path):
    def write(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = tmp_path / "pkg" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return tmp_path / "pkg"

    return write


def test_the_environment_check_finds_each_way_of_reaching_it(toy):
    package = toy(
        {
            "a.py": "import os\nX = os.environ.get('A')\nY = os.getenv('B')\n",
            "b.py": "from os import environ\n\n\ndef f():\n    return environ['C']\n",
            "c.py": '"""Reads nothing from the environment."""\nimport os\nP = os.path.join("a", "b")\n',
        }
    )
    assert environment_uses(package / "a.py") == [(2, "os.environ"), (3, "os.getenv")]
    assert environment_uses(package / "b.py") == [(1, "from os import environ"), (5, "environ")]
    assert environment_uses(package / "c.py") == []


def test_the_cycle_check_counts_function_imports_and_skips_type_checking(toy):
    package = toy(
        {
            "__init__.py": "",
            "a.py": "from pkg.b import x\n",
            "b.py": "x = 1\n\n\ndef f():\n    from pkg import a\n    return a\n",
            "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.d import y\n",
            "d.py": "from pkg.c import TYPE_CHECKING\n",
            "sub/__init__.py": "",
            "sub/e.py": "from . import f\n",
            "sub/f.py": "from ..sub.e import z\n",
        }
    )
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.b": 1}
    assert graph["pkg.b"] == {"pkg.a": 5}
    assert graph["pkg.c"] == {}
    assert graph["pkg.sub.e"] == {"pkg.sub.f": 1}
    assert graph["pkg.sub.f"] == {"pkg.sub.e": 1}
    assert cycles(graph) == [["pkg.a", "pkg.b"], ["pkg.sub.e", "pkg.sub.f"]]
