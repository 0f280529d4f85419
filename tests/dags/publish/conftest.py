"""Fixtures of the ``stix_soar_publish`` DAG tests.

The synthetic product writers come from ``publish_support``; the local RID API, the SSH server
and the SMTP sink from ``tests/fixtures/services.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _no_stixpy_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic products of these tests are not stixpy-loadable: the gate's stixpy and
    conservation checks are off."""
    monkeypatch.setenv("STIX_PUBLISH_STIXPY_CHECK", "false")
    monkeypatch.setenv("STIX_PUBLISH_CONSERVATION_CHECK", "false")  # no LB parents beside them either


@dataclass
class Soar:
    """One publishing setup: archive, target, RID LUT, settings (exported as ``STIX_*``)."""

    settings: Any
    fits: Path
    target: Path
    lut: Path
    rid_api: Any


@pytest.fixture
def soar(settings, rid_api_server, monkeypatch: pytest.MonkeyPatch) -> Soar:
    """Local SOAR target below the data root, a RID LUT one API window old, quick RID retries."""
    from stix_lib.ridlut import refresh
    from stix_lib.ridlut.table import COLUMNS

    monkeypatch.setenv("STIX_RID_LUT_UPDATE_URL", rid_api_server.url)
    monkeypatch.delenv("STIX_SOAR_HOST", raising=False)
    monkeypatch.setattr(refresh, "RID_API_RETRY_PAUSE", 0.0)
    recent = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT00:00:00")
    rows = [f"{rid},{rid},{recent},20,xray-cpd,flare {rid},imaging,,IOR{rid},local" for rid in (1, 2, 3)]
    lut = Path(settings.rid_lut_file)
    lut.parent.mkdir(parents=True, exist_ok=True)
    lut.write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n")
    return Soar(settings, Path(settings.fits_archive_dir), Path(settings.soar_target_dir), lut, rid_api_server)


@pytest.fixture
def soar_connection(ssh_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """``stix_soar`` SSH connection to the loopback sshd (key file, pinned host key); remote target folder."""
    remote = tmp_path / "soar-remote" / "esa"
    remote.mkdir(parents=True)
    conn = ssh_server.connection()
    monkeypatch.setenv("AIRFLOW_CONN_STIX_SOAR", json.dumps(conn))
    monkeypatch.setenv("STIX_SOAR_HOST", "127.0.0.1")
    monkeypatch.setenv("STIX_SOAR_TARGET_DIR", str(remote))
    return {**conn, "remote": remote}


@pytest.fixture
def unpause_nas_sync():
    """Call to unpause ``stix_fits_nas_sync`` (Airflow queues asset-triggered runs of unpaused DAGs only).

    The DAG must be in the metadata database already (any ``dag.test()`` writes the whole dags
    folder). Its pause flag and queued asset triggers are restored afterwards.
    """
    from airflow.models.asset import AssetDagRunQueue
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select, update

    dag_id = "stix_fits_nas_sync"
    before: list[bool] = []

    def unpause() -> str:
        with create_session() as session:
            before.append(session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == dag_id)))
            session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False))
        return dag_id

    yield unpause
    if before:
        with create_session() as session:
            session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))
            session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=before[0]))
