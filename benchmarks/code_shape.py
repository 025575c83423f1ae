"""The longest functions and modules of the package, as JSON.

The layout rule of this project is no function over 80 lines and no module over 450 lines in
``qa/``; this prints the longest of each so a reviewer sees how close the code is to it.

    python benchmarks/code_shape.py [--top 10]
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "qa"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 450


def measure(root: Path = ROOT) -> dict:
    """Line counts of every module and every function (methods and nested ones too)."""
    modules, functions = [], []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        name = str(path.relative_to(root.parent))
        modules.append({"module": name, "lines": len(source.splitlines())})
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                functions.append(
                    {
                        "function": f"{name}:{node.lineno} {node.name}",
                        "lines": node.end_lineno - first + 1,
                    }
                )
    modules.sort(key=lambda m: -m["lines"])
    functions.sort(key=lambda f: -f["lines"])
    return {
        "modules": len(modules),
        "functions": len(functions),
        "modules_over_limit": [m for m in modules if m["lines"] > MAX_MODULE_LINES],
        "functions_over_limit": [f for f in functions if f["lines"] > MAX_FUNCTION_LINES],
        "longest_modules": modules,
        "longest_functions": functions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10, help="how many of each to list")
    args = parser.parse_args()
    report = measure()
    report["longest_modules"] = report["longest_modules"][: args.top]
    report["longest_functions"] = report["longest_functions"][: args.top]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
