"""The architecture holds: each package imports only the layers below it, and no function grows past 50 lines."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dldl_core"
# What each part of dldl_core may import from the package (besides itself), lowest layer first.
ALLOWED = {
    "assets": set(),
    "markdown": set(),
    "maths": set(),
    "models": {"assets", "maths"},
    "data": {"assets", "maths", "models"},
    "pipeline": {"assets", "maths", "models", "data"},
    "training": {"assets", "maths", "models", "data", "pipeline"},
    "evaluation": {"assets", "markdown", "maths", "models", "data", "pipeline"},
    "explain": {"assets", "markdown", "maths", "models", "data", "pipeline", "evaluation"},
    "ui": {"assets", "markdown", "maths", "models", "data", "pipeline", "evaluation", "explain"},
    "bench": {"assets", "markdown", "maths", "models", "data", "pipeline", "evaluation", "explain", "ui"},
    "cli": {"assets", "markdown", "maths", "models", "data", "pipeline", "training", "evaluation", "explain", "ui",
            "bench"},
    "__main__": {"cli"},
    "__init__": set(),  # its names are imported on first use, by string
}
LONGEST_FUNCTION = 50


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE).parts
    return relative[0] if len(relative) > 1 else path.stem


def _imported_parts(tree: ast.AST) -> set[str]:
    parts = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dldl_core":
            names = node.module.split(".")[1:] or [a.name for a in node.names]
            parts.update(names[:1] if node.module != "dldl_core" else names)
        elif isinstance(node, ast.Import):
            parts.update(a.name.split(".")[1] for a in node.names if a.name.startswith("dldl_core."))
    return parts


def test_every_package_imports_only_the_layers_below_it():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _part(path)
        assert part in ALLOWED, f"{path.relative_to(ROOT)}: a new part of the package: give it a layer here"
        extra = _imported_parts(ast.parse(path.read_text())) - ALLOWED[part] - {part}
        if extra:
            problems.append(f"{path.relative_to(ROOT)} ({part}) imports {sorted(extra)}")
    assert problems == []


def test_the_layer_check_sees_a_violation(tmp_path):
    tree = ast.parse("from dldl_core.ui.plots import x\nimport dldl_core.cli.main\nfrom dldl_core import maths\n")
    assert _imported_parts(tree) == {"ui", "cli", "maths"}


def test_no_function_of_the_package_or_the_app_is_longer_than_50_lines():
    long = []
    for path in sorted([*PACKAGE.rglob("*.py"), *(ROOT / "app").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST_FUNCTION:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []
