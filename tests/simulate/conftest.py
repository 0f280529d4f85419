"""Shared fixtures of the simulator tests: the IDB manager and one simulated period."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix_lib.simulate.simulator import SimulationConfig, SimulationResult, simulate


@pytest.fixture(scope="session")
def flare_run(tmp_path_factory: pytest.TempPathFactory, idb_dir: Path) -> SimulationResult:
    """Three hours with a flare, science requests, aspect bursts and HK mini (scenario ``all``)."""
    out = tmp_path_factory.mktemp("sim-all")
    config = SimulationConfig(
        start="2021-08-01T06:00:00", duration=3 * 3600.0, out_dir=out, idb_dir=idb_dir, scenario="all", seed=11
    )
    return simulate(config)
