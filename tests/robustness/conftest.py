"""Good telemetry to damage, and the products of a clean run of the good files.

Three simulated deliveries on days far apart (their daily products never share a file): ``a``
and ``c`` are 20 min of a flare day, ``science`` holds bulk-science requests. Damaged inputs are
always built from ``c`` (or ``science``), so the products of ``a`` must come out of every damaged
batch exactly as from the clean run of ``a`` alone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from robustness_support import Corpus, run_pipeline

from stix_lib.settings import Settings


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    from stix_lib.dev.simulate import SimulationConfig, simulate
    from stix_lib.dev.synthetic_kernels import build_kernel_set

    reference = Path(os.environ["STIX_REFERENCE_DATA"])
    root = tmp_path_factory.mktemp("robustness")
    settings = Settings(data_root=root / "data", idb_dir=reference / "idb", conf_dir=reference / "stix-conf")
    settings.ensure_folders()
    build_kernel_set(settings.spice_dir, "2024-05-01", "2024-06-01", "2024-05-25")
    files = {}
    for name, day, scenario, seed in (
        ("a", "2024-05-10", "flare", 21),
        ("science", "2024-05-14", "bsd", 22),
        ("c", "2024-05-18", "flare", 23),
    ):
        result = simulate(
            SimulationConfig(start=f"{day}T10:00:00", duration=1200.0, out_dir=root / f"sim-{name}",
                             idb_dir=reference / "idb", scenario=scenario, seed=seed, files=1)
        )  # fmt: skip
        (path,) = [Path(p) for p in result.files]
        files[name] = shutil.copy(path, root / f"{name}.PktTmRaw.xml")
    clean_a = root / "clean-a"
    run = run_pipeline(settings, clean_a, [Path(files["a"])])
    assert all(r.status == "ok" for r in run.files), [r.to_dict() for r in run.files if r.status != "ok"]
    return Corpus(settings, Path(files["a"]), Path(files["c"]), Path(files["science"]), clean_a)


@pytest.fixture
def cli_env(corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Environment of ``stix-pipeline process``: the corpus settings, a TM folder holding ``a``."""
    settings = corpus.settings
    monkeypatch.setenv("STIX_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("STIX_IDB_DIR", str(settings.idb_dir))
    monkeypatch.setenv("STIX_CONF_DIR", str(settings.conf_dir))
    monkeypatch.setenv("STIX_SPICE_DIR", str(settings.spice_dir))
    monkeypatch.delenv("STIX_CONFIG", raising=False)
    tm = tmp_path / "tm"
    tm.mkdir()
    shutil.copy(corpus.a, tm / corpus.a.name)
    return {"tm": tm, "fits": tmp_path / "fits", "quarantine": tmp_path / "data" / "quarantine"}
