"""Start-up cost of ``stix-pipeline``: heavy libraries are imported only by the runs that use them.

No timing here (the figures are in benchmarks/RESULTS.md): a fresh interpreter does the work and
reports ``sys.modules``; the test fails when a module-level import drags in a library the command
never uses (scipy alone costs ~0.4 s of CPU per process, every Airflow task pays it again).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

#: Libraries no command needs just to build its parser (``--help``, argument errors).
HEAVY_FOR_PARSER = ("astropy", "scipy", "matplotlib", "sqlalchemy", "spiceypy", "httpx", "sunpy", "stixpy", "pandas")
#: Libraries a TM -> L0/L1 run does not use (no database, no plots; FITS cards, units and column
#: YAML are written without astropy, IDB spline curves evaluated without scipy.interpolate).
UNUSED_BY_PROCESS = ("astropy", "scipy", "matplotlib", "sqlalchemy", "httpx", "sunpy", "stixpy", "pandas")


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """Top-level packages in ``sys.modules`` after ``code`` ran in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))\n"
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "plugins"), environment.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=environment, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_building_the_cli_parser_imports_no_heavy_library() -> None:
    modules = _modules_after("from stix_lib.cli.main import build_parser\nbuild_parser()")
    assert "stix_lib" in modules  # the probe ran against this tree
    assert sorted(modules.intersection(HEAVY_FOR_PARSER)) == []


@pytest.mark.parametrize("level", ["L0", "L1"])
def test_tm_to_l1_run_imports_only_what_it_uses(reference_data: Path, tmp_path: Path, level: str) -> None:
    tm_dir = tmp_path / "tm"
    tm_dir.mkdir()
    shutil.copy(reference_data / "tm" / "moc_test.PktTmRaw.xml", tm_dir)
    env = {
        "STIX_DATA_ROOT": str(tmp_path / "data"),
        "STIX_IDB_DIR": str(reference_data / "idb"),
        "STIX_CONF_DIR": str(reference_data / "stix-conf"),
        "STIX_SPICE_DIR": str(reference_data / "spice" / "kernels"),
        "STIX_MISSION_TIME_MARGIN_BEFORE_LAUNCH": "120d",  # moc_test is ground-test data of 2019-11-27
    }
    code = (
        "from stix_lib.cli.main import main\n"
        f"assert main(['process', '-t', {str(tm_dir)!r}, '-f', {str(tmp_path / 'fits')!r}, '-e', {level!r}]) == 0\n"
    )
    modules = _modules_after(code, env)
    assert len(list((tmp_path / "fits" / level).rglob("*.fits"))) == 7  # the run did reach its level
    assert {"numpy", "spiceypy", "yaml"} <= modules  # what it does use (guards the probe itself)
    assert sorted(modules.intersection(UNUSED_BY_PROCESS)) == []


@pytest.mark.parametrize("package", ["stix_lib.cal", "stix_lib.products", "stix_lib.publish", "stix_lib.spice"])
def test_lazy_package_exports_resolve(package: str) -> None:
    """Every name a lazily exporting package lists in ``__all__`` can be imported from it."""
    import importlib

    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == []
    assert set(module.__all__) <= set(dir(module))
