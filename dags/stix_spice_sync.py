# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Sync SPICE kernels and SOOP files from the SOC and unzip new kernel zips (runbook cron C3).

`sync_from_soc` copies the SOC `from_soc` tree (`STIX_FROM_SOC_SOURCE`, over the `stix_soc`
SSH connection) into `from_soc_dir`. `unzip_kernels` unzips every `solo_ANC*20*zip` not yet in
the `spice_zips` ledger into the kernel tree: CRC-checked, no absolute paths, `..` or symlinks,
extracted to a temp folder and moved into place file by file. Only successes are ledgered; a bad
zip fails the task at the end (one mail naming it) and is retried next run. New kernels emit
`stix_spice_kernels` (latest flown and predicted meta kernel), which re-runs staging.

Runs when the triggerer's watcher of `from_soc_source` (asset `stix_soc_from_soc`) sees a new or
changed file in the tree, and once a day at 03:10 UTC as a safety run (rsync and the `spice_zips`
ledger make a run without news a no-op).
"""

from __future__ import annotations

from datetime import timedelta

from stix_ops.dag_policy import events_or_cron, stix_dag
from stix_ops.operators.spice import FromSocSyncOperator, KernelUnzipOperator
from stix_ops.watchers import FROM_SOC_EXCHANGE

with stix_dag(
    "stix_spice_sync",
    description="rsync from_soc (SPICE zips, SOOP) and unzip new kernel zips safely",
    schedule=events_or_cron("10 3 * * *", [FROM_SOC_EXCHANGE]),
    dagrun_timeout=timedelta(hours=1),
    task_timeout=timedelta(minutes=40),
    tags=["ingest", "spice"],
    doc_md=__doc__,
):
    sync = FromSocSyncOperator(
        task_id="sync_from_soc",
        doc_md="rsync the SOC `from_soc` tree (kernel zips, SOOP) into `from_soc_dir` over the `stix_soc` "
        "connection (or locally). On failure: check the SSH connection / source folder named in the error.",
    )
    sync >> KernelUnzipOperator(
        task_id="unzip_kernels",
        doc_md="Unzip new `solo_ANC*20*zip` kernel zips safely into the kernel tree and ledger them; emits "
        "`stix_spice_kernels`. A bad zip is named in the mail and retried by the next run.",
    )
