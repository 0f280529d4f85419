"""Development tooling stays out of production import paths (issue 18 item 5).

Production is ``stix_lib`` without ``stix_lib/dev`` and the CLI's dev commands (``simulate``,
``kernels``, which import from ``stix_lib.dev`` lazily), ``plugins/stix_ops`` without
``plugins/stix_ops/dev``, and ``dags``. None of it may import — at module level or lazily inside a
function — the simulator, the synthetic kernel writer, the dev runners or the test stands
(``stix_lib.dev``, ``stix_ops.dev``, ``tests``), nor name them in a dotted string (e.g. an
``importlib`` target or an Airflow ``hostname_callable``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: CLI commands that are development tools themselves (their imports of ``stix_lib.dev`` are lazy).
DEV_CLI_COMMANDS = {"stix_lib/cli/simulate_cmd.py", "stix_lib/cli/kernels_cmd.py"}
FORBIDDEN = re.compile(r"^(stix_lib\.dev|stix_ops\.dev|tests)(\.|$)")
_PACKAGE_OF = {"stix_lib": "stix_lib", "plugins/stix_ops": "stix_ops", "dags": ""}


def production_files(repo: Path = REPO) -> list[Path]:
    """The Python files of the production paths."""
    files = []
    for pattern in ("stix_lib/**/*.py", "plugins/stix_ops/**/*.py", "dags/*.py"):
        for path in sorted(repo.glob(pattern)):
            rel = path.relative_to(repo).as_posix()
            if rel.startswith(("stix_lib/dev/", "plugins/stix_ops/dev/")) or rel in DEV_CLI_COMMANDS:
                continue
            files.append(path)
    return files


def _module_of(rel: str) -> str:
    for prefix, package in _PACKAGE_OF.items():
        if rel.startswith(prefix + "/"):
            parts = [package, *rel[len(prefix) + 1 :].removesuffix(".py").split("/")]
            return ".".join(part for part in parts if part)
    return rel.removesuffix(".py").replace("/", ".")


def imported_names(source: str, module: str = "") -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every import (anywhere in the file) and every dotted string.

    Relative imports are resolved against ``module`` (the file's own dotted name).
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level] if module else []
                base = ".".join([*parent, base] if base else parent)
            found += [(node.lineno, f"{base}.{alias.name}" if base else alias.name) for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"[\w.]+", node.value):
            found.append((node.lineno, node.value))
    return found


def dev_references(path: Path, repo: Path = REPO) -> list[str]:
    """``file:line name`` of every forbidden reference in one file."""
    rel = path.relative_to(repo).as_posix()
    names = imported_names(path.read_text(encoding="utf-8"), _module_of(rel))
    return [f"{rel}:{line} {name}" for line, name in names if FORBIDDEN.match(name)]


def test_production_paths_do_not_import_dev_tooling() -> None:
    files = production_files()
    assert len(files) > 100, "the production file walk found too little: check the globs"
    offenders = [ref for path in files for ref in dev_references(path)]
    assert offenders == [], "production code imports dev tooling:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    "source",
    [
        "from stix_lib.dev.simulate.simulator import simulate\n",
        "def f():\n    import stix_lib.dev.synthetic_kernels as k\n    return k\n",
        "from stix_ops.dev import demo\n",
        "from ..dev.localservices import SshServer\n",
        'HOSTNAME = "stix_ops.dev.localstack.worker_hostname"\n',
        "from tests.conftest import reference_data\n",
    ],
)
def test_a_dev_import_is_found(tmp_path: Path, source: str) -> None:
    """Fault injection: each way of reaching dev tooling is reported, naming file and line."""
    target = tmp_path / "plugins" / "stix_ops" / "operators" / "bad.py"
    target.parent.mkdir(parents=True)
    target.write_text(source, encoding="utf-8")
    assert production_files(tmp_path) == [target]
    refs = dev_references(target, tmp_path)
    assert refs and refs[0].startswith("plugins/stix_ops/operators/bad.py:")


def test_dev_folders_and_dev_cli_commands_are_not_production(tmp_path: Path) -> None:
    for rel in ("stix_lib/dev/simulate/x.py", "plugins/stix_ops/dev/demo.py", *DEV_CLI_COMMANDS):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("from stix_lib.dev.simulate import simulate\n", encoding="utf-8")
    assert production_files(tmp_path) == []


def test_the_library_never_imports_airflow() -> None:
    """``stix_lib`` (dev tools included) has no ``import airflow``/``from airflow`` anywhere, lazy or not."""
    offenders = [
        f"{path.relative_to(REPO).as_posix()}:{node.lineno}"
        for path in sorted(REPO.glob("stix_lib/**/*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "airflow" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "airflow")
    ]
    assert offenders == [], "stix_lib imports Airflow:\n" + "\n".join(offenders)
