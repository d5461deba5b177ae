"""The shape of the package: a small core that never imports the harness, and no import cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import mathsqrt

PACKAGE = Path(mathsqrt.__file__).parent
HARNESS = "mathsqrt.paper"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> Dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: Set[str]) -> Set[str]:
    """Modules of the package that ``name`` imports anywhere (lazy imports inside functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # "from pkg import sub" imports the submodule pkg.sub when there is one
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:  # "mathsqrt.nn.ZCAWhitening" -> "mathsqrt.nn"
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> Dict[str, Set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def test_the_core_never_imports_the_harness():
    for name, targets in _graph().items():
        if not name.startswith(HARNESS):
            assert not [t for t in targets if t.startswith(HARNESS)], name


def test_no_import_cycles():
    graph = _graph()
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # importing a package runs its __init__, which is not a cycle through its own submodules
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_import_mathsqrt_loads_no_plotting_or_data_libraries():
    code = (
        "import sys, mathsqrt; "
        "heavy = {'matplotlib', 'ipywidgets', 'sklearn', 'skimage', 'IPython', 'mathsqrt.paper'}; "
        "print(sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    assert mathsqrt.__version__ == version("mathsqrt")
