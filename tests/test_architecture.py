"""The dependency rule, checked on the import graph (issue 14): a check anyone can run.

`domain` <- `projections` <- `consumers` <- `infra`, and inside `infra` the sub-packages
by role, each importing only those below it:

    logging <- interface <- persistence <- config <- application <- messaging <- tools
    <- entrypoints

- `domain/` imports only the standard library, `eventsourcing.domain` and itself;
- `projections/` never imports `consumers`, `infra` or `bench`; `consumers/` never
  `infra` or `bench` (they reach the outside through `consumers/ports.py`);
- no module of `infra/` imports a package above its own.

Every import statement counts, wherever it is: at the top, inside a function (a lazy
import is still a dependency), under `TYPE_CHECKING`. The graph is read with `ast` from
the source, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("domain", "projections", "consumers", "infra")
# lowest first: a module may import its own package and the ones listed before it
INFRA_LAYERS = (
    "infra.logging",
    "infra.interface",
    "infra.persistence",
    "infra.config",
    "infra.application",
    "infra.messaging",
    "infra.tools",
    "infra.entrypoints",
)
DOMAIN_MAY_IMPORT = ("eventsourcing.domain",)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imports(path: Path) -> Iterator[tuple[int, str]]:
    return imports_in(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def imports_in(
    source: str,
    module: str,
    *,
    is_package: bool = False,
) -> Iterator[tuple[int, str]]:
    """(line, imported module) of every import in the source, relative ones resolved."""
    here = module.split(".")
    package = here if is_package else here[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                target = ".".join(p for p in (base, node.module) if p)
            else:
                target = node.module or ""
            if target == "infra" or node.module is None:  # `from .. import config`
                for alias in node.names:
                    yield node.lineno, f"{target}.{alias.name}"
            else:
                yield node.lineno, target


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def layer_of(name: str) -> int | None:
    for rank, package in enumerate(INFRA_LAYERS):
        if within(name, package):
            return rank
    return None


def verdict(me: str, target: str) -> str | None:
    """Why module `me` may not import `target`, or None when it may."""
    package, top = me.split(".", maxsplit=1)[0], target.split(".", maxsplit=1)[0]
    if package == "domain":
        if (
            top in sys.stdlib_module_names
            or top == "domain"
            or any(within(target, ok) for ok in DOMAIN_MAY_IMPORT)
        ):
            return None
        return "domain imports only the standard library and eventsourcing.domain"
    if package == "projections" and top in ("consumers", "infra", "bench"):
        return "projections are folds: they import no consumer, no infra"
    if package == "consumers" and top in ("infra", "bench"):
        return "consumers reach infra through consumers/ports.py, never by import"
    if package != "infra" or top not in ("infra", "bench") or target == "infra":
        return None
    if top == "bench":
        return "the product never imports the bench"
    mine, theirs = layer_of(me), layer_of(target)
    if mine is None and me != "infra":
        return f"{me} is in no layer of INFRA_LAYERS"
    if theirs is None:
        return f"{target} is in no layer of INFRA_LAYERS"
    if mine is not None and theirs > mine:
        return f"{INFRA_LAYERS[mine]} may not import {INFRA_LAYERS[theirs]}, a layer above it"
    return None


def violations() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {package: [] for package in PRODUCT}
    for package in PRODUCT:
        for path in modules(package):
            for line, target in imports(path):
                why = verdict(module_name(path), target)
                if why is not None:
                    found[package].append(
                        f"{path.relative_to(ROOT)}:{line} imports {target}: {why}"
                    )
    return found


FOUND = violations()


@pytest.mark.parametrize("package", ["domain", "projections", "consumers", "infra"])
def test_no_import_runs_back_up_a_layer(package: str) -> None:
    """domain <- projections <- consumers <- infra; in infra, by role (module docstring)."""
    assert FOUND[package] == []


def test_every_infra_module_has_a_layer() -> None:
    """A new folder of infra/ is placed in the rule before it is used."""
    for path in modules("infra"):
        name = module_name(path)
        assert name == "infra" or layer_of(name) is not None, name


def test_the_check_sees_every_kind_of_import() -> None:
    """The check itself can fail: relative, lazy and TYPE_CHECKING imports are seen."""
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from infra.application.ledger import Ledger\n"
        "def f():\n    from ..infra import config\n    import infra.tools.demo\n"
    )
    seen = [t for _, t in imports_in(source, "consumers.probe")]
    assert seen == ["typing", "infra.application.ledger", "infra.config", "infra.tools.demo"]


@pytest.mark.parametrize(
    ("me", "target", "allowed"),
    [
        ("domain.account", "datetime", True),
        ("domain.account", "eventsourcing.domain", True),
        ("domain.account", "eventsourcing.application", False),
        ("domain.account", "orjson", False),
        ("projections.journal", "domain.money", True),
        ("projections.store", "infra.persistence.sqlite", False),
        ("consumers.privacy_keeper", "projections.store", True),
        ("consumers.privacy_keeper", "infra.persistence.keystore", False),
        ("infra.application.bootstrap", "infra.persistence.keystore", True),
        ("infra.persistence.keystore", "infra.application.ledger", False),
        ("infra.application.ledger", "infra.entrypoints.http.idempotency", False),
        ("infra.entrypoints.cli.handlers", "infra.tools.scenario", True),
        ("infra.tools.scenario", "infra.entrypoints.cli.main", False),
        ("infra.interface.presenter", "infra.config", False),
    ],
)
def test_the_rule(me: str, target: str, allowed: bool) -> None:
    assert (verdict(me, target) is None) is allowed
