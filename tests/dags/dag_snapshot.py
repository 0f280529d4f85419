"""Dump every DAG of a tree as sorted JSON, to compare the DAGs before and after a refactoring.

Usage (from any folder; the tree's own ``dags/`` and ``plugins/`` are used)::

    python tests/dags/dag_snapshot.py /work/main before.json
    python tests/dags/dag_snapshot.py /work/wt/plugin after.json
    diff before.json after.json

Each DAG is its serialized form (what the scheduler stores: schedule, params, tasks, dependencies,
outlets, deadline, ...) plus the task attributes that serialization leaves implicit (owner,
retries, callbacks, trigger rules, upstream tasks). Object addresses are removed so that two
runs of the same tree give the same file.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path


def snapshot(root: Path) -> dict:
    """The DAGs of ``root/dags`` (with ``root/plugins`` on the path) as a JSON-ready dict."""
    home = tempfile.mkdtemp(prefix="dag-snapshot-")
    os.environ.update(
        AIRFLOW_HOME=home,
        AIRFLOW__CORE__DAGS_FOLDER=str(root / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(root / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
    )
    sys.path[:0] = [str(root), str(root / "plugins")]
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    bag = DagBag(dag_folder=str(root / "dags"))
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    result = {}
    for dag_id, dag in sorted(bag.dags.items()):
        data = DagSerialization.serialize_dag(dag)
        for key in ("fileloc", "relative_fileloc", "_processor_dags_folder"):
            data.pop(key, None)
        data["_tasks_extra"] = {
            task.task_id: {
                "owner": task.owner,
                "retries": task.retries,
                "retry_delay": str(task.retry_delay),
                "execution_timeout": str(task.execution_timeout),
                "trigger_rule": str(task.trigger_rule),
                "on_failure_callback": repr(task.on_failure_callback),
                "email_on_failure": task.email_on_failure,
                "outlets": repr(task.outlets),
                "upstream": sorted(task.upstream_task_ids),
                "doc_md": task.doc_md,
                "template_fields": list(task.template_fields),
            }
            for task in dag.tasks
        }
        data["_dag_extra"] = {
            "params": repr(dag.params),
            "deadline": repr(dag.deadline),
            "timetable": repr(dag.timetable),
            "default_args": repr(dag.default_args),
            "owner": dag.owner,
            "tags": sorted(dag.tags),
        }
        result[dag_id] = data
    return result


def main() -> None:
    root, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    text = json.dumps(snapshot(root), indent=1, sort_keys=True, default=str)
    out.write_text(re.sub(r" at 0x[0-9a-f]+", "", text))
    print(f"{out}: DAGs of {root}")


if __name__ == "__main__":
    main()
