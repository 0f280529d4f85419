# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Mirror the FITS archive to the NAS (runbook cron C5: `rsync -avLo --delete fits/ nas/`).

After L1 processing or SOAR publishing (`stix_fits_l1`, `stix_soar_published`), plus one daily
safety run at 01:00 UTC.
Additions, changes and deletions are mirrored; temp names (dot files, `*.tmp`, `*.part`) are never
copied nor deleted, so a product being written never reaches the NAS half-written. Local target
`nas_mirror_dir`, or over SSH (`stix_nas` connection) when `nas_host` is set. A missing archive, or
an empty one over a non-empty mirror, is refused instead of wiping the mirror.
"""

from __future__ import annotations

from datetime import timedelta

from stix_ops.assets import FITS_L1, SOAR_PUBLISHED
from stix_ops.dag_policy import events_or_cron, stix_dag
from stix_ops.operators.nas import FitsNasSyncOperator

with stix_dag(
    "stix_fits_nas_sync",
    description="rsync --delete the FITS archive to the NAS, skipping temp files",
    schedule=events_or_cron("0 1 * * *", FITS_L1 | SOAR_PUBLISHED),
    dagrun_timeout=timedelta(hours=3),
    task_timeout=timedelta(hours=2),
    tags=["archive"],
    doc_md=__doc__,
):
    FitsNasSyncOperator(
        task_id="mirror_fits",
        doc_md="`rsync --delete` of the FITS archive to `nas_mirror_dir` (or `nas_host` over SSH), temp files "
        "excluded. Refuses a missing or empty archive. On failure: check the NAS mount / SSH connection "
        "`stix_nas` named in the error, then clear the task.",
    )
