"""mkdocs hook: the command-line and configuration reference pages, generated from the code.

`reference/cli.md` walks the typer app of itlake/cli (every group and command, its arguments and
options, and the exit codes of itlake/cli/exit_codes.py); `reference/configuration.md` lists every
`ITLAKE_*` variable the package reads, with the module that reads it and its default, and the
meaning from docs/reference/settings.yaml. A variable the code reads but that file does not describe
is a warning, so `mkdocs build --strict` fails until it is described.

    mkdocs build --strict        # or: make docs
"""

from __future__ import annotations

import ast
import logging
import re
import sys
from pathlib import Path

import yaml

log = logging.getLogger("mkdocs.plugins.itlake_reference")
VARIABLE = re.compile(r"^ITLAKE_[A-Z0-9_]+$")


def on_files(files, config):
    from mkdocs.structure.files import File

    root = Path(config.config_file_path).resolve().parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    files.append(File.generated(config, "reference/cli.md", content=cli_page()))
    settings = yaml.safe_load((Path(config.docs_dir) / "reference" / "settings.yaml").read_text("utf-8"))
    files.append(File.generated(config, "reference/configuration.md", content=config_page(root, settings)))
    return files


def cli_commands():
    """(path, click command) for the root, every group and every command, in the app's order."""
    import typer.main

    from itlake.cli import app

    def walk(command, path):
        yield path, command
        for name, sub in _subcommands(command):
            yield from walk(sub, (*path, name))

    return list(walk(typer.main.get_command(app), ("itlake",)))


def _subcommands(command) -> list:
    """A group's visible commands (typer builds on its own copy of click, so no isinstance)."""
    return [(n, c) for n, c in getattr(command, "commands", {}).items() if not c.hidden]


def anchor(path: tuple[str, ...]) -> str:
    return "-".join(path)


def _usage(command, path) -> str:
    ctx = command.context_class(command, info_name=" ".join(path))
    pieces = " ".join([" ".join(path), *command.collect_usage_pieces(ctx)])
    return re.sub(r"\{(\w+)\}", lambda m: m.group(1).upper(), pieces)


def _type(param) -> str:
    """The choices of an enum, `flag` for a boolean, else the annotation's name (int, str, Path)."""
    import enum
    import typing

    descriptor = getattr(param, "type_descriptor", None)
    annotation = descriptor.annotation if descriptor else getattr(param, "type", None)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and typing.get_origin(annotation) is not list:
        annotation = args[0]
    many = typing.get_origin(annotation) is list
    if many:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        name = " \\| ".join(str(m.value) for m in annotation)
    elif annotation is bool or getattr(param, "is_flag", False):
        return "flag"
    else:
        name = getattr(annotation, "__name__", str(annotation))
    return f"{name} (repeatable)" if many and param.param_type_name == "option" else name


def _default(param) -> str:
    if param.required:
        return "required"
    value = param.default
    if value in (None, (), [], "") or getattr(param, "is_flag", False) and not value:
        return ""
    return f"`{getattr(value, 'value', value)}`"


def _cell(text: str) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def cli_page() -> str:
    from itlake.cli.exit_codes import EXIT_CODES

    lines = [
        "# Command-line reference",
        "",
        "Generated from the typer app in `itlake/cli` when the site is built; `itlake COMMAND --help`",
        "prints the same. Every command that reports takes `--json` and then prints JSON on stdout.",
        "",
        "## Exit codes",
        "",
        "| status | meaning |",
        "|---|---|",
        *(f"| {code} | {_cell(meaning)} |" for code, meaning in EXIT_CODES.items()),
        "",
    ]
    for path, command in cli_commands():
        level = "#" * min(len(path) + 1, 4)
        lines += [f"{level} `{' '.join(path)}` {{#{anchor(path)}}}", ""]
        if command.help:
            lines += [command.help.strip().replace("\b\n", ""), ""]
        lines += ["```", _usage(command, path), "```", ""]
        subs = _subcommands(command)
        if subs:
            lines += ["| command | what |", "|---|---|"]
            for name, sub in subs:
                what = _cell(sub.get_short_help_str(200))
                lines.append(f"| [`{name}`](#{anchor((*path, name))}) | {what} |")
            lines.append("")
        params = [p for p in command.params if p.name != "help"]
        if params:
            lines += ["| argument or option | type | default | what |", "|---|---|---|---|"]
            for p in params:
                if p.param_type_name == "option":
                    names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
                else:
                    names = f"`{(p.metavar or p.name).upper()}`" + (" ..." if p.nargs == -1 else "")
                what = _cell(getattr(p, "help", "") or "")
                lines.append(f"| {names} | {_type(p)} | {_default(p)} | {what} |")
            lines.append("")
    return "\n".join(lines) + "\n"


def environment_reads(package: Path) -> dict[str, dict]:
    """Every ITLAKE_* variable named in the package: the modules naming it and, where a call reads it
    with a default (`os.environ.get(NAME, default)`, `_path(NAME, default)`), that default."""
    found: dict[str, dict] = {}
    # The settings module first: where another module also sets a variable, its default is the one in force.
    for path in sorted(package.rglob("*.py"), key=lambda p: (p.name != "config.py", p)):
        tree = ast.parse(path.read_text("utf-8"))
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        constants = {
            t.id: n.value.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign)
            and isinstance(n.value, ast.Constant)
            and isinstance(n.value.value, str)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and VARIABLE.match(node.value):
                found.setdefault(node.value, {"modules": set(), "default": None})["modules"].add(module)
            if not isinstance(node, ast.Call) or not node.args:
                continue
            reader = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if reader in ("get", "getenv", "_path"):
                first = node.args[0]
                literal = isinstance(first, ast.Constant)
                name = first.value if literal else constants.get(getattr(first, "id", ""))
                if isinstance(name, str) and VARIABLE.match(name) and len(node.args) > 1:
                    default = node.args[1]
                    entry = found.setdefault(name, {"modules": set(), "default": None})
                    entry["modules"].add(module)
                    if isinstance(default, ast.Constant) and entry["default"] is None:
                        entry["default"] = f"`{default.value}`" if default.value != "" else "(unset)"
    return found


def config_page(root: Path, settings: dict) -> str:
    reads = environment_reads(root / "itlake")
    lines = [
        "# Configuration reference",
        "",
        "Generated from the code when the site is built: every `ITLAKE_*` environment variable the",
        "`itlake` package reads, the module that names it, and its default. The settings in",
        "`itlake/config.py` are read once per process (`get_settings()`).",
        "",
        "| variable | default | read in | meaning |",
        "|---|---|---|---|",
    ]
    for name in sorted(reads):
        described = settings.get(name)
        if described is None:
            log.warning("docs/reference/settings.yaml does not describe %s, which the code reads", name)
            described = {}
        default = reads[name]["default"] or described.get("default") or "(unset)"
        modules = ", ".join(f"`{m}`" for m in sorted(reads[name]["modules"]))
        lines.append(f"| `{name}` | {_cell(default)} | {modules} | {_cell(described.get('meaning', ''))} |")
    return "\n".join(lines) + "\n"
