"""Every DAG file parses and follows the deployment's policy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
#: DAGs meant to be replayed with `airflow backfill create` may use catchup.
BACKFILL_DAGS: set[str] = set()
EXPECTED_DAGS = {"stix_tm_ingest", "stix_tm_staging", "stix_spice_sync", "stix_conf_sync", "stix_fits_nas_sync"}


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags_present(dagbag):
    assert EXPECTED_DAGS <= set(dagbag.dag_ids)


def test_one_dag_per_file(dagbag):
    files = [dag.fileloc for dag in dagbag.dags.values()]
    assert len(files) == len(set(files))


@pytest.mark.parametrize("path", sorted(DAGS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_variable_get_at_parse_time(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:  # module level statements only
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and sub.attr == "get":
                target = sub.value
                if isinstance(target, ast.Name) and target.id == "Variable":
                    pytest.fail(f"{path.name}:{sub.lineno}: Variable.get at module level")


def _dags(dagbag):
    assert dagbag.dags, "no DAGs parsed"
    return list(dagbag.dags.values())


def test_policy(dagbag):
    from airflow.sdk import BaseSensorOperator

    from stix_ops.notifiers import FailureEmailNotifier

    problems = []
    for dag in _dags(dagbag):
        if not dag.tags or "stix" not in dag.tags:
            problems.append(f"{dag.dag_id}: missing tag 'stix'")
        if dag.catchup and dag.dag_id not in BACKFILL_DAGS:
            problems.append(f"{dag.dag_id}: catchup must be off")
        if not dag.doc_md:
            problems.append(f"{dag.dag_id}: no doc_md")
        for task in dag.tasks:
            where = f"{dag.dag_id}.{task.task_id}"
            if task.owner in (None, "", "airflow"):
                problems.append(f"{where}: no owner")
            if not task.retries or task.retries < 1:
                problems.append(f"{where}: no retries")
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            if not any(isinstance(cb, FailureEmailNotifier) for cb in callbacks):
                problems.append(f"{where}: no failure e-mail callback")
            if task.email_on_failure:
                problems.append(f"{where}: email_on_failure would send a second mail")
            if isinstance(task, BaseSensorOperator) and task.timeout >= 7 * 24 * 3600:
                problems.append(f"{where}: sensor without an explicit timeout")
    assert problems == []
