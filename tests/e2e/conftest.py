"""The two end-to-end scenarios, each run once per session and shared by the tests that check them.

``demo_run``: ``make demo`` (SQLite, LocalExecutor, local SOC folders). ``prod_run``: the same
scenario on the production stack (PostgreSQL, Redis, two Celery workers, FAB; SOC exchange, SOAR
and NAS behind a loopback OpenSSH server). Both return ``(root, summary)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, reference_data: Path) -> tuple[Path, dict]:
    from stix_ops.dev import demo

    base = tmp_path_factory.mktemp("e2e-demo")
    summary_file = base / "demo-summary.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STIX_REFERENCE_DATA", str(reference_data))
        code = demo.run_demo(root=base / "demo", summary_file=summary_file)
    summary = json.loads(summary_file.read_text())
    assert code == 0, summary["errors"]
    return base / "demo", summary


@pytest.fixture(scope="session")
def prod_run(tmp_path_factory: pytest.TempPathFactory, reference_data: Path) -> tuple[Path, dict]:
    from stix_ops.dev import prodstack

    root = tmp_path_factory.mktemp("e2e-prod") / "prod"
    return root, prodstack.run_scenario(root, reference_data)
