"""Rules of the code's shape that a reviewer would otherwise have to hunt for."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = ("api", "cli", "evals", "graph", "knowledge", "store", "tools", "ui")


def functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [
                (f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node)
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
    return found


SAYS_DEFAULT = ("DEFAULT_MARKETPLACE", "DEFAULT", "'default'")


def is_route(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """An HTTP route: its `?marketplace=` query parameter may be left out (documented)."""
    return any(ast.unparse(d).startswith(("router.", "app.")) for d in node.decorator_list)


def test_every_function_is_told_which_marketplace_it_works_for() -> None:
    """A thread or an order belongs to one marketplace: a function that works on one takes it
    without the default marketplace as a default, so a caller that forgets it fails the type
    check instead of silently reading or writing the default marketplace's thread of the same
    id. (None, where a function takes it, means "no marketplace filter" or "as the payload
    says"; HTTP routes keep their documented `?marketplace=` default.)"""
    defaulted = []
    for where, node in functions():
        if is_route(node):
            continue
        args = node.args
        positional = args.posonlyargs + args.args
        with_defaults = list(
            zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
        )
        with_defaults += [
            (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d
        ]
        defaulted += [
            where
            for arg, default in with_defaults
            if arg.arg == "marketplace" and ast.unparse(default) in SAYS_DEFAULT
        ]
    assert functions(), "the packages were found"
    assert defaulted == []


# What a module outside store/ and knowledge/ may take from SQLAlchemy: an engine, a connection
# or a session to hand over, and the errors it raises. Statements are the repositories' own.
MAY_TAKE = {
    "sqlalchemy": {"Engine", "Connection"},
    "sqlalchemy.orm": {"Session", "sessionmaker"},
    "sqlalchemy.exc": None,  # any error class
}
HOLD_SQL = ("store", "knowledge")
STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|SET|CREATE|ALTER|DROP|LOCK)\s")


def sql_outside_the_repositories() -> list[str]:
    found = []
    for package in (p for p in PACKAGES if p not in HOLD_SQL):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if STATEMENT.match(node.value):
                        found.append(f"{where} {node.value[:40]!r}")
                elif isinstance(node, ast.Import):
                    found += [
                        f"{where} import {a.name}"
                        for a in node.names
                        if a.name.startswith(("sqlalchemy", "store.models"))
                    ]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    module = node.module
                    if module.startswith("store.models"):
                        found.append(f"{where} from {module}")
                    elif module.startswith("sqlalchemy"):
                        allowed = MAY_TAKE.get(module, set())
                        found += [
                            f"{where} from {module} import {a.name}"
                            for a in node.names
                            if allowed is not None and a.name not in allowed
                        ]
    return found


def test_sql_is_written_only_in_the_repositories() -> None:
    """The map says store/ (and the knowledge base's own queries, knowledge/) hold the SQL: a
    statement written elsewhere is one a reader of store/ cannot see, and one a schema change
    misses. Outside them, no module builds a statement or touches the ORM's tables."""
    assert sql_outside_the_repositories() == []


LONGEST = 80  # lines a reader can hold of one function


def test_no_function_is_too_long_to_hold() -> None:
    """A function a newcomer must scroll through to follow is split into named steps (the
    dashboard's handlers, decide's table, the inbox's query and rows show how)."""
    too_long = [
        f"{where} ({node.end_lineno - node.lineno + 1} lines)"
        for where, node in functions()
        if "/migrations/" not in where and (node.end_lineno or 0) - node.lineno + 1 > LONGEST
    ]
    assert too_long == []
