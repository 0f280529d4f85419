# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Process released telemetry: TM → LB per file, then LB → L0 → L1 → CAL per packet type.

Replaces STIXCore's watchdog service. Runs whenever staging releases files (and by hand with the
Params of `stix-pipeline process`). Every run picks up all staged or failed TM files that are not
processed yet, so nothing depends on a watermark. One mapped task per TM file converts it to LB
(an unusable file is quarantined with its reason); the LB files touched are grouped by packet type
and each group runs in parallel to L1/CAL; writers of the same daily product file are serialized
by a folder lock, so parallel runs never lose merged data. The last task stores a report per TM
file in the pipeline database, the product lineage and the ledger states.

Never an L1 product without kernels: LB and L0 (on-board time only) are always made, but an L1
product whose time the loaded SPICE kernels do not cover is held back and its TM file is ledgered
`waiting for kernels`. New kernels (`stix_spice_kernels`, from `stix_spice_sync`) trigger a run
that takes the waiting files again (so does a manual run); the daily safety run and
staging-triggered runs leave them alone.

Event-driven: a run starts on `stix_tm_staged` (staging released files) or `stix_spice_kernels`;
one daily safety run (03:40 UTC, after the other safety runs) picks up failed files and anything an
event missed. There is no hourly polling any more.
"""

from __future__ import annotations

from datetime import timedelta

from stix_ops.assets import FITS_L1, SPICE_KERNELS, TM_STAGED
from stix_ops.dag_policy import events_or_cron, stix_dag
from stix_ops.operators.processing import (
    PARAMS,
    TASK_DOCS,
    GroupLbOperator,
    LbToL1Operator,
    ProcessingCheckOperator,
    RecordOperator,
    SelectInputsOperator,
    TmToLbOperator,
)

with stix_dag(
    "stix_level_processing",
    description="TM -> LB -> L0 -> L1 -> CAL for released telemetry on staging/kernel events; daily catch-up",
    schedule=events_or_cron("40 3 * * *", TM_STAGED | SPICE_KERNELS),
    max_active_runs=4,
    dagrun_timeout=timedelta(hours=6),
    task_timeout=timedelta(hours=2),
    params=PARAMS,
    tags=["processing"],
    doc_md=__doc__,
):
    files = SelectInputsOperator(task_id="select_inputs", doc_md=TASK_DOCS["select_inputs"])
    lb = TmToLbOperator.partial(
        task_id="tm_to_lb", map_index_template="{{ tm_file }}", doc_md=TASK_DOCS["tm_to_lb"]
    ).expand(tm_file=files.output)
    groups = GroupLbOperator(
        task_id="group_lb", tm_results=lb.output, trigger_rule="all_done", doc_md=TASK_DOCS["group_lb"]
    )
    l1 = LbToL1Operator.partial(task_id="lb_to_l1", doc_md=TASK_DOCS["lb_to_l1"]).expand(lb_files=groups.output)
    summary = RecordOperator(
        task_id="record",
        tm_results=lb.output,
        group_reports=l1.output,
        outlets=[FITS_L1],
        trigger_rule="all_done",
        doc_md=TASK_DOCS["record"],
    )
    ProcessingCheckOperator(task_id="check", summary=summary.output, doc_md=TASK_DOCS["check"])
