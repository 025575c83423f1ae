"""The package layout the README describes: imports flow one way, and nothing grows too long.

The layers are listed bottom-up; a module may import its own layer and those below it, never
one above (the corpus readers know nothing of models, the library nothing of its shells).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qa"

LAYERS = [
    {"types", "errors"},
    {"config", "batching", "atomic", "memory"},
    {"modelhub", "corpus"},
    {"retrieve"},
    {"index"},
    {"read", "annotate"},
    {"components", "pipeline", "demo"},
    {"evaluate"},
    {"train"},
    {"ui"},
    {"cli"},
]
LAYER_OF = {part: level for level, parts in enumerate(LAYERS) for part in parts}


def _part(module: str) -> str:
    """The top-level part of ``qa`` a dotted name belongs to (``qa.read.reader`` -> ``read``)."""
    return module.split(".")[1]


def _imports(path: Path) -> set[str]:
    """Every ``qa.*`` module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(n for n in names if n.startswith("qa.") and n != "qa.__init__")
    return found


def _modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.parent != PACKAGE or p.stem != "__init__"]


def test_every_part_of_the_package_has_a_layer():
    parts = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in _modules()}
    assert parts - {"models", "profiles", "data"} <= set(LAYER_OF), sorted(parts - set(LAYER_OF))


def test_no_module_imports_a_layer_above_it():
    upward = []
    for path in _modules():
        own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for module in _imports(path):
            if LAYER_OF[_part(module)] > LAYER_OF[own]:
                upward.append(f"{path.relative_to(ROOT)} imports {module}")
    assert upward == []


def test_functions_and_modules_stay_short():
    spec = importlib.util.spec_from_file_location("code_shape", ROOT / "benchmarks/code_shape.py")
    code_shape = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code_shape)
    report = code_shape.measure(PACKAGE)
    assert report["modules_over_limit"] == []
    assert report["functions_over_limit"] == []
