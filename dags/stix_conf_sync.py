# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Check out the latest STIX-CONF release (runbook crons C4a and C4b).

In the working copy `conf_dir` (cloned from `conf_repo_url` if missing): `git fetch --tags`,
check out the tag of the most recently tagged commit (`git describe --tags $(git rev-list --tags
--max-count=1)`; untagged newer commits are ignored), then — only if that worked — write
`VERSION.TXT` atomically and record the version in the pipeline DB (`conf_versions`).
Processing reads the version per run (`stix_lib.stages.conf_sync.current_conf_version`).
`sync_public_conf` does the same in the public copy `conf_public_dir` (the runbook's web folder
`/var/www/data/STIX-CONF`; skipped while the setting is empty), without recording a version.
Daily at 22:20, both copies in the same run, independently (the runbook's 4-hourly public-copy cron
is folded in: both follow the same tags, and an event-driven pipeline keeps clock runs to the
calendar jobs; trigger the DAG by hand to publish a release at once).
"""

from __future__ import annotations

from datetime import timedelta

from stix_ops.dag_policy import stix_dag, utc_cron
from stix_ops.operators.conf import ConfSyncOperator, PublicConfSyncOperator

with stix_dag(
    "stix_conf_sync",
    description="check out the most recently tagged STIX-CONF commit and record its version",
    schedule=utc_cron("20 22 * * *"),
    dagrun_timeout=timedelta(minutes=30),
    task_timeout=timedelta(minutes=15),
    tags=["config"],
    doc_md=__doc__,
):
    ConfSyncOperator(
        task_id="sync_conf",
        doc_md="Fetch STIX-CONF tags, check out the newest tagged commit, write `VERSION.TXT` and record the "
        "version. On failure: read the git error in the log (network, credentials `conf_repo_url`, a locally "
        "modified working copy in `conf_dir`), fix it and clear the task.",
    )
    PublicConfSyncOperator(
        task_id="sync_public_conf",
        doc_md="The same for the public copy `conf_public_dir` (web folder); skipped while that setting is "
        "empty. On failure: the git error names the folder; the pipeline copy is not affected.",
    )
