"""The house's rules about who imports whom, read from the source with `ast` (nothing is imported).

Dependencies point one way: the project's gates/ and model/, tests/ and
benchmarks/ -> the `mlgate` package (src/mlgate) -> libraries; inside it, only
the pytest plugin and the shipped gates know pytest. Each rule is a function over a module graph (module name ->
the names it imports), so each is shown to fail on a small fake graph with a
violation in it as well as to pass on the real tree.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.support.project import ROOT

SRC = ROOT / "src"
LIBRARY = ("mlgate",)
PYTEST_SIDE = ("mlgate.plugin", "mlgate.gates")
PROJECT = ("gates", "model")
WEB_FRAMEWORKS = ("starlette", "uvicorn", "fastapi", "httpx")
PURE_SERVING_CORE = (
    "mlgate.serving.payload",
    "mlgate.serving.client_errors",
    "mlgate.serving.column_types",
    "mlgate.serving.columns",
    "mlgate.serving.request_formats",
    "mlgate.serving.batching",
)

Graph = dict[str, set[str]]


# --- reading the tree ------------------------------------------------------------------------


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, is_package: bool) -> set[str]:
    """Every module name `source` imports, anywhere in it (lazy imports inside functions too).

    `from a.b import c` yields both `a.b` and `a.b.c`: c may be a module or a
    name in a.b; `resolve` keeps whichever is a module of the tree.
    """
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            names.add(origin)
            names.update(f"{origin}.{alias.name}" for alias in node.names)
    return names


def read_graph(root: Path, packages: Iterable[str]) -> Graph:
    graph: Graph = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            name = module_name(path, root)
            graph[name] = imported_names(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
    return graph


def resolve(graph: Graph, name: str) -> str | None:
    """The module of the tree that `name` names, if any."""
    return name if name in graph else None


def internal_edges(graph: Graph) -> dict[str, set[str]]:
    return {
        module: {target for name in names if (target := resolve(graph, name)) and target != module}
        for module, names in graph.items()
    }


# --- the rules: each returns what breaks it, empty when it holds --------------------------------


def import_cycles(graph: Graph) -> list[list[str]]:
    """Cycles among the graph's own modules, each as the path that closes it."""
    edges = internal_edges(graph)
    cycles, state = [], {}  # state: 1 on the current path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    return cycles


def _is_within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def forbidden_imports(
    graph: Graph, importers: Iterable[str], forbidden: Iterable[str], allowed: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(module, name) pairs where a module under `importers`, and not under `allowed`, imports a name under `forbidden`."""
    importers, forbidden, allowed = tuple(importers), tuple(forbidden), tuple(allowed)
    return sorted(
        (module, name)
        for module, names in graph.items()
        if _is_within(module, importers) and not _is_within(module, allowed)
        for name in names
        if _is_within(name, forbidden)
    )


def imports_of_test_modules(graph: Graph) -> list[tuple[str, str]]:
    """(module, name) pairs where any module imports a test module: tests.test_* or tests.*.test_*."""
    return sorted(
        (module, name)
        for module, names in graph.items()
        for name in names
        if name.startswith("tests.") and any(part.startswith("test_") for part in name.split(".")[1:])
    )




# --- the rules on the real tree --------------------------------------------------------------


@pytest.fixture(scope="module")
def library() -> Graph:
    """The mlgate package as the source says its modules import each other."""
    return read_graph(SRC, LIBRARY)


@pytest.fixture(scope="module")
def everything(library) -> Graph:
    """The library, the reference project's gates and model, the tests and the benchmarks."""
    return {**library, **read_graph(ROOT, (*PROJECT, "tests", "benchmarks"))}


def test_the_graph_is_read_from_the_tree(library, everything):
    assert {"mlgate.tracking", "mlgate.serving.payload", "mlgate.plugin.session", "mlgate.monitoring.sidecar",
            "mlgate.team.server"} <= set(library)
    assert "tests.unit.test_house" in everything and "mlgate.settings" in library["mlgate.tracking.store"]
    assert "gates.model.test_model_gates" in everything


def test_no_import_cycle_in_the_package(library):
    assert import_cycles(library) == []


def test_the_library_never_imports_pytest_outside_the_plugin_and_the_gates(library):
    outside = {m: names for m, names in library.items() if not _is_within(m, PYTEST_SIDE)}
    assert forbidden_imports(outside, LIBRARY, ["pytest", "_pytest"]) == []


def test_the_library_never_imports_the_project_or_its_tests(library):
    assert forbidden_imports(library, LIBRARY, [*PROJECT, "tests", "benchmarks"]) == []


def test_the_plugin_entry_point_imports_only_pytest_until_a_session_asks(library):
    """Installing mlgate must cost nothing in a run that collects no gate: the entry module stays light."""
    top_level = ast.parse((SRC / "mlgate" / "plugin" / "__init__.py").read_text(encoding="utf-8")).body
    imported = {alias.name for node in top_level if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in top_level if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "pathlib", "pytest", "mlgate.plugin.layout"}
    layout = ast.parse((SRC / "mlgate" / "plugin" / "layout.py").read_text(encoding="utf-8")).body
    assert {a.name for n in layout if isinstance(n, ast.Import) for a in n.names} <= {"pytest"}


def test_only_model_tracking_imports_mlflow(library):
    assert forbidden_imports(library, LIBRARY, ["mlflow"], allowed=["mlgate.tracking"]) == []


def test_the_serving_core_imports_no_web_framework(library):
    assert forbidden_imports(library, PURE_SERVING_CORE, WEB_FRAMEWORKS) == []


def test_team_mode_imports_neither_model_nor_gates(library):
    """The team server is processes and a database: it must start on a machine that cannot train."""
    heavy = ["mlgate.tracking", "mlgate.training", "mlgate.data", "mlgate.plugin", "mlgate.gates", "mlgate.serving"]
    assert forbidden_imports(library, ["mlgate.team"], heavy) == []


def test_monitoring_never_imports_the_plugin(library):
    assert forbidden_imports(library, ["mlgate.monitoring"], PYTEST_SIDE) == []


def test_no_module_imports_a_test_module(everything):
    assert imports_of_test_modules(everything) == []


# --- each rule fails on a graph that breaks it ----------------------------------------------


def test_a_cycle_is_found_however_long(tmp_path):
    graph = {"model.a": {"model.b"}, "model.b": {"model.c", "numpy"}, "model.c": {"model.a"}, "model.d": {"model.a"}}
    assert import_cycles(graph) == [["model.a", "model.b", "model.c", "model.a"]]
    assert import_cycles({"gates.x": {"monitoring.y"}, "monitoring.y": {"gates.x"}}) == [
        ["gates.x", "monitoring.y", "gates.x"]
    ]
    assert import_cycles({"model.a": {"model.b"}, "model.b": set()}) == []


def test_a_cycle_through_a_lazy_import_in_a_function_is_found(tmp_path):
    for name, text in {
        "mlgate/__init__.py": "",
        "mlgate/a.py": "from mlgate import b\n",
        "mlgate/b.py": "def later():\n    from mlgate.a import thing\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = read_graph(tmp_path, ["mlgate"])
    assert import_cycles(graph) == [["mlgate.a", "mlgate.b", "mlgate.a"]]


def test_relative_imports_are_resolved_to_their_module():
    names = imported_names("from . import payload\nfrom ..tracking import load_servable\n", "mlgate.serving.app", False)
    assert {"mlgate.serving.payload", "mlgate.tracking"} <= names


@pytest.mark.parametrize(
    "source, rule",
    [
        ("import pytest", "pytest"),
        ("from _pytest.fixtures import fixture", "pytest"),
        ("from gates.model.test_model_gates import test_x", "gates"),
    ],
)
def test_the_library_importing_pytest_or_the_project_is_found(source, rule):
    graph = {"mlgate.session.report": imported_names(source, "mlgate.session.report", False)}
    assert forbidden_imports(graph, LIBRARY, ["pytest", "_pytest", *PROJECT])
    assert not forbidden_imports({"tests.x": graph["mlgate.session.report"]}, LIBRARY, ["pytest", *PROJECT])


def test_mlflow_imported_outside_model_tracking_is_found():
    graph = {
        "mlgate.tracking": {"mlflow", "mlflow.sklearn"},
        "mlgate.tracking.models": {"mlflow.sklearn"},  # the package's own modules are the door too
        "mlgate.trackingx": {"mlflow"},  # a module whose name only starts alike is not
        "mlgate.monitoring.metrics": {"mlflow.entities"},
        "mlgate.plugin.session": {"mlflowx"},  # another package whose name starts alike
    }
    assert forbidden_imports(graph, LIBRARY, ["mlflow"], allowed=["mlgate.tracking"]) == [
        ("mlgate.monitoring.metrics", "mlflow.entities"), ("mlgate.trackingx", "mlflow")
    ]


@pytest.mark.parametrize("framework", WEB_FRAMEWORKS)
def test_a_web_framework_in_the_serving_core_is_found(framework):
    graph = {"mlgate.serving.batching": {"asyncio", f"{framework}.requests"}, "mlgate.serving.app": {framework}}
    assert forbidden_imports(graph, PURE_SERVING_CORE, WEB_FRAMEWORKS) == [
        ("mlgate.serving.batching", f"{framework}.requests")
    ]


def test_monitoring_importing_the_plugin_is_found():
    graph = {"mlgate.monitoring.sidecar": {"mlgate.plugin.measure"}, "mlgate.plugin.perf_fixtures": {"mlgate.monitoring.sidecar"}}
    assert forbidden_imports(graph, ["mlgate.monitoring"], PYTEST_SIDE) == [
        ("mlgate.monitoring.sidecar", "mlgate.plugin.measure")
    ]


@pytest.mark.parametrize(
    "name", ["tests.test_exporter", "tests.integration.test_sidecar", "tests.unit.test_house.scrape"]
)
def test_importing_a_test_module_is_found(name):
    graph = {"tests.integration.test_other": {name, "tests.support.processes"}}
    assert imports_of_test_modules(graph) == [("tests.integration.test_other", name)]
    assert imports_of_test_modules({"tests.x": {"tests.support.ports", "tests.conftest"}}) == []
