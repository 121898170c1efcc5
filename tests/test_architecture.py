"""The layers of docs/architecture.md, checked on the source: imports go one way only.

Every `import` of an intake module counts, also one inside a function: a lazy import
is still a dependency. A module's layer comes from where it lives (see `layer`).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

INTAKE = Path(__file__).parent.parent / "intake"

#: Low to high. A module may import its own layer and lower ones only.
LAYERS = ("engine", "core", "storage", "services", "web", "cli", "app")
#: Feature packages: their modules are spread over the layers by name.
FEATURES = ("intake.kiosk", "intake.invitations", "intake.studio")
WEB_NAMES = ("views", "admin", "forms")


def layer(module: str) -> str:
    """The layer of an intake module (docs/architecture.md has the table)."""
    package, _, name = module.rpartition(".")
    if module == "intake":
        return "app"
    if module.startswith("intake.cli") or (package in FEATURES and name == "cli"):
        return "cli"
    if module.startswith(("intake.engine",)) or module in ("intake.xlsx_limits", "intake.period"):
        return "engine"
    if module in ("intake.config", "intake.extensions", "intake.logs", "intake.passwords"):
        return "core"
    if module.startswith("intake.storage"):
        return "storage"
    if module == "intake.routes" or module.startswith(("intake.admin", "intake.public")):
        return "web"
    if package in FEATURES and name in WEB_NAMES:
        return "web"
    return "services"


def _modules() -> dict[str, Path]:
    found = {}
    for path in INTAKE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(INTAKE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _graph() -> dict[str, set[str]]:
    """Which intake modules each intake module imports."""
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name.split(".")
                    if path.name != "__init__.py":
                        package = package[:-1]
                    package = package[: len(package) - node.level + 1]
                    base = ".".join([*package, *([node.module] if node.module else [])])
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("intake") and target != name:
                    graph[name].add(target)
    return graph


GRAPH = _graph()


def _edges():
    return sorted((a, b) for a, targets in GRAPH.items() for b in targets)


def test_every_module_has_a_layer_and_the_graph_is_read():
    assert {layer(m) for m in _modules()} == set(LAYERS)
    assert ("intake.public.views", "intake.submissions") in _edges()


def test_no_import_goes_up_a_layer():
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = [
        f"{a} ({layer(a)}) imports {b} ({layer(b)})"
        for a, b in _edges()
        if rank[layer(b)] > rank[layer(a)]
    ]
    assert not upward, "\n".join(upward)


def test_the_imports_have_no_circle():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for target in sorted(GRAPH.get(module, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (circle := visit(target)):
                return circle
        stack.pop()
        state[module] = 2
        return None

    for module in sorted(_modules()):
        if module not in state and (circle := visit(module)):
            pytest.fail(" -> ".join(circle))


def test_no_module_imports_a_blueprints_views_or_a_command():
    views = {
        m for m in _modules() if m.rsplit(".", 1)[-1] in ("views", "admin") and layer(m) == "web"
    }
    commands = {m for m in _modules() if layer(m) == "cli"} - {"intake.cli"}
    wrong = [
        f"{a} imports {b}"
        for a, b in _edges()
        if (b in views and a != "intake.routes") or (b in commands and layer(a) != "cli")
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("package", ["engine"])
def test_the_engine_imports_no_flask(package):
    for path in (INTAKE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            assert not [n for n in names if n.split(".")[0].startswith("flask")], path


@pytest.mark.parametrize("module", ["submissions.py", "storage", "engine", "background.py"])
def test_plain_modules_do_not_read_the_request(module):
    path = INTAKE / module
    for source in [path] if path.is_file() else path.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        imported = {
            a.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flask")
            for a in node.names
        }
        assert "request" not in imported, source
