"""Every DAG file parses and follows the deployment's policy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
#: DAGs meant to be replayed with backfills (`stix-pipeline reprocess`) may use catchup.
BACKFILL_DAGS: set[str] = set()
#: Every file of dags/ and the DAG it defines: a new file must be added here, a removed one taken out.
DAG_FILES = {
    "stix_conf_sync.py": "stix_conf_sync",
    "stix_daily_products.py": "stix_daily_products",
    "stix_fits_nas_sync.py": "stix_fits_nas_sync",
    "stix_level_processing.py": "stix_level_processing",
    "stix_pipeline_monitor.py": "stix_pipeline_monitor",
    "stix_pipeline_watch.py": "stix_pipeline_watch",
    "stix_reprocess.py": "stix_reprocess",
    "stix_reprocess_monthly.py": "stix_reprocess_monthly",
    "stix_soar_publish.py": "stix_soar_publish",
    "stix_spice_sync.py": "stix_spice_sync",
    "stix_tm_ingest.py": "stix_tm_ingest",
    "stix_tm_release_timer.py": "stix_tm_release_timer",
    "stix_tm_staging.py": "stix_tm_staging",
}


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_every_dag_file_is_known():
    """The files in dags/ are exactly the listed ones (a new DAG file fails here until it is listed)."""
    assert sorted(p.name for p in DAGS_DIR.glob("*.py")) == sorted(DAG_FILES)


@pytest.mark.parametrize("path", sorted(DAGS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_dag_processor_reads_the_file(path):
    """In safe mode the dag-processor skips files without the words "airflow" and "dag" (silently)."""
    from airflow.utils.file import might_contain_dag_via_default_heuristic

    assert might_contain_dag_via_default_heuristic(str(path)), f"{path.name} would be skipped by the dag-processor"


def test_each_file_defines_its_dag(dagbag):
    found = {Path(dag.fileloc).name: dag_id for dag_id, dag in dagbag.dags.items()}
    assert found == DAG_FILES


@pytest.mark.parametrize("path", sorted(DAGS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_dag_built_by_the_policy_constructor(path):
    """Every DAG file builds its DAG with ``stix_ops.dag_policy.stix_dag``, never with ``DAG(...)`` itself."""
    tree = ast.parse(path.read_text())
    called = {
        node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert "stix_dag" in called
    assert not called & {"DAG", "dag"}, f"{path.name}: builds a DAG without the policy constructor"


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


# -- monitoring: timeouts everywhere, exactly one failure mail, the monitor DAG -------------------


def test_every_run_and_task_is_bounded(dagbag):
    """dagrun_timeout on every DAG, execution_timeout on every task, sensors give up within the run."""
    from datetime import timedelta

    from airflow.sdk import BaseSensorOperator

    problems = []
    for dag in _dags(dagbag):
        run_limit = dag.dagrun_timeout
        if run_limit is None:
            problems.append(f"{dag.dag_id}: no dagrun_timeout")
        for task in dag.tasks:
            where = f"{dag.dag_id}.{task.task_id}"
            if task.execution_timeout is None:
                problems.append(f"{where}: no execution_timeout")
            elif run_limit is not None and task.execution_timeout > run_limit:
                problems.append(
                    f"{where}: execution_timeout {task.execution_timeout} exceeds dagrun_timeout {run_limit}"
                )
            if isinstance(task, BaseSensorOperator) and run_limit is not None:
                if timedelta(seconds=task.timeout) > run_limit:
                    problems.append(f"{where}: sensor timeout {task.timeout} s exceeds dagrun_timeout {run_limit}")
    assert problems == []


def test_exactly_one_failure_mail_per_task(dagbag):
    """One FailureEmailNotifier per task, no Airflow default mail (no ``email``), no DAG-level or retry mail."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    from stix_ops.notifiers import FailureEmailNotifier

    def as_list(callbacks):
        return callbacks if isinstance(callbacks, list) else [callbacks] if callbacks else []

    mailers = (FailureEmailNotifier, SmtpNotifier)
    problems = []
    for dag in _dags(dagbag):
        if any(isinstance(cb, mailers) for cb in as_list(dag.on_failure_callback)):
            problems.append(f"{dag.dag_id}: DAG-level failure mail would duplicate the task mail")
        for task in dag.tasks:
            where = f"{dag.dag_id}.{task.task_id}"
            count = sum(isinstance(cb, FailureEmailNotifier) for cb in as_list(task.on_failure_callback))
            if count != 1:
                problems.append(f"{where}: {count} FailureEmailNotifier callbacks (want exactly 1)")
            if any(isinstance(cb, mailers) for cb in as_list(task.on_retry_callback)):
                problems.append(f"{where}: mails on retry")
            if task.email:
                problems.append(f"{where}: `email` set, Airflow would send its own failure/retry mails")
    assert problems == []


def test_monitor_dag_schedule_and_deadline(dagbag):
    """stix_pipeline_monitor is the manual "check now" pass; stix_pipeline_watch watches (test_event_schedules)."""
    dag = dagbag.get_dag("stix_pipeline_monitor")
    assert type(dag.timetable).__name__ == "NullTimetable"
    assert dag.max_active_runs == 1 and dag.catchup is False
    deadlines = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    assert [d.callback.path for d in deadlines] == ["stix_ops.notifiers.deadline_missed_mail"]
    assert all(d.interval < dag.dagrun_timeout for d in deadlines)


# -- daily products and reprocessing (catchup off: stix_reprocess is replayed by backfills (stix-pipeline reprocess),
# which does not need catchup) --------------------------------------------------------------------------------


def test_daily_and_reprocess_schedules(dagbag):
    expected = {
        "stix_daily_products": "0 8 * * *", "stix_reprocess": "0 0 * * *", "stix_reprocess_monthly": "0 0 1 * *",
    }  # fmt: skip
    for dag_id, cron in expected.items():
        dag = dagbag.get_dag(dag_id)
        timetable = getattr(dag.timetable, "timetable", dag.timetable)  # daily products: also on stix_fits_l1
        assert (timetable.expression, str(timetable.timezone), dag.catchup) == (cron, "UTC", False)
