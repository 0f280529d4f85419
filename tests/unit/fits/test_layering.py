"""Package layering read from the source files (an ast walk, nothing imported).

Dependencies run one way: ``fits`` below ``lb`` below ``products``. Every import counts,
including those inside functions and under ``TYPE_CHECKING``, and so do imports reached
through other ``stix_lib`` modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import stix_lib

SOURCE = Path(stix_lib.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    """``stix_lib`` modules ``path`` imports (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # ``from pkg import module``
    return {name for name in found if name == "stix_lib" or name.startswith("stix_lib.")}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in SOURCE.rglob("*.py")}
    return {name: {m for m in _imports(path, name) if m in modules} for name, path in modules.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> dict[str, str]:
    """Modules reachable from the modules of package ``start``: module -> the module importing it."""
    via = {name: name for name in graph if name == start or name.startswith(start + ".")}
    todo = list(via)
    while todo:
        current = todo.pop()
        for target in graph[current]:
            if target not in via:
                via[target] = current
                todo.append(target)
    return via


def _in(package: str, module: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize(
    ("lower", "upper"),
    [("stix_lib.lb", "stix_lib.products"), ("stix_lib.fits", "stix_lib.lb"), ("stix_lib.fits", "stix_lib.products")],
)
def test_lower_package_does_not_import_upper(lower: str, upper: str) -> None:
    reached = _reachable(_graph(), lower)
    offending = sorted(f"{reached[m]} -> {m}" for m in reached if _in(upper, m))
    assert not offending, f"{lower} imports {upper}: {offending}"


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The walk finds a function-level ``from stix_lib.products... import`` (the check can fail)."""
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from stix_lib.products.writer import ProductWriter\n    return ProductWriter\n")
    assert "stix_lib.products.writer" in _imports(source, "stix_lib.lb.probe")
