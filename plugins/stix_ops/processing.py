"""Task callables of ``stix_level_processing`` (decorated with ``@task`` in the DAG file).

Each callable reads the run's Params, builds the pipeline from the settings and calls one step of
:mod:`stix_lib.pipeline.tasks`; everything passed between tasks is JSON.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from airflow.sdk import Param, get_current_context

from stix_ops.assets import FITS_L1, SPICE_KERNELS

log = logging.getLogger(__name__)

LEVELS = ["TM", "LB", "L0", "L1", "L2", "ALL"]

#: JSON-schema type of an optional override: empty (``None``) is valid, so the trigger form opens submittable.
OPTIONAL = ["null", "string"]

#: Trigger-form Params, mirroring ``stix-pipeline process``; empty values mean "from the settings".
PARAMS: dict[str, Param] = {
    "start_level": Param("TM", enum=LEVELS, description="Level of the input files (-b/--start_level)."),
    "end_level": Param("L2", enum=LEVELS, description="Last level to produce (-e/--end_level); L2 includes CAL."),
    "input_files": Param(
        None, type=["null", "array"], items={"type": "string"},
        description="Absolute paths to process (-i/--input_files). Empty: every staged or failed TM file "
        "of the ledger that is not processed yet (catch-up).",
    ),
    "filter": Param(None, type=OPTIONAL, description="Glob on input file names (-F/--filter), e.g. *2024.135*."),
    "fits_dir": Param(None, type=OPTIONAL, description="Output FITS archive (-f/--fits_dir); empty: the setting."),
    "idb_dir": Param(None, type=OPTIONAL, description="IDB root override (--idb_dir); empty: the setting."),
    "spice_dir": Param(None, type=OPTIONAL, description="SPICE kernel tree override (-s/--spice_dir)."),
    "spice_file": Param(None, type=OPTIONAL, description="Explicit meta kernel (-S/--spice_file)."),
    "soop_dir": Param(None, type=OPTIONAL, description="SOOP export folder (-p/--soop_dir)."),
    "stop_on_error": Param(
        False, type="boolean", description="Fail a task at its first problem (--stop_on_error) instead of "
        "reporting and continuing (--continue_on_error)."
    ),
}  # fmt: skip


#: ``doc_md`` of the tasks (the UI's task details): what each does and what to do when it fails.
TASK_DOCS: dict[str, str] = {
    "select_inputs": "TM files to process: `input_files`, else every staged or failed ledger file not processed "
    "yet (catch-up), filtered by `filter`.",
    "tm_to_lb": "TM -> LB for one TM file (the map index is its name). An unusable file is quarantined with "
    "its reason (ledger, `stix-pipeline status`); the other files go on. On failure: the mail names the file "
    "and the error; fix or replace the file and clear this map index.",
    "group_lb": "Group the LB files written by this run per packet type, one `lb_to_l1` task per group.",
    "lb_to_l1": "LB -> L0 -> L1 (-> CAL) for one packet type; writers of the same daily file are serialized by "
    "a folder lock. On failure: the error names the LB file; the next run retries the TM file.",
    "record": "Store the per-file reports, the product lineage and the ledger states; emits `stix_fits_l1` "
    "when L1 files were written (-> daily products, NAS mirror).",
    "check": "Fail (one mail listing each file and its reason) when a TM file failed or was quarantined.",
}

def _params() -> dict[str, Any]:
    return dict(get_current_context()["params"])


def _setup() -> tuple[Any, Any, dict[str, Any]]:
    from stix_ops.hooks.pipeline import StixPipelineHook

    hook = StixPipelineHook()
    hook.settings.ensure_folders()
    return hook.settings, hook.engine, _params()


def pipeline_options(params: dict[str, Any]) -> Any:
    """The run's :class:`~stix_lib.pipeline.options.PipelineOptions` (empty Params: from the settings).

    The Params named as a ``PipelineOptions`` field set that field.
    """
    from stix_lib.pipeline.options import PipelineOptions

    return PipelineOptions.from_overrides(
        fits_dir=params.get("fits_dir"),
        idb_dir=params.get("idb_dir"),
        spice_dir=params.get("spice_dir"),
        spice_file=params.get("spice_file"),
        soop_dir=params.get("soop_dir"),
        end_level=params.get("end_level") or "L2",
        stop_on_error=bool(params.get("stop_on_error")),
    )


def _pipeline(settings: Any, params: dict[str, Any]) -> Any:
    from stix_lib.pipeline.build import build_pipeline

    return build_pipeline(settings, pipeline_options(params))


def include_waiting(run_type: str, triggering_assets: list[str]) -> bool:
    """Whether a run takes the TM files ``waiting for kernels``: new kernels woke it, or a person started it.

    Parameters
    ----------
    run_type
        The DAG run's type (``manual``, ``scheduled``, ``asset_triggered``, ``backfill``).
    triggering_assets
        Names of the assets whose events triggered the run.
    """
    return "manual" in run_type.lower() or SPICE_KERNELS.name in triggering_assets


def _triggering_assets(context: Any) -> list[str]:
    events = context.get("triggering_asset_events") or {}
    try:
        return [str(getattr(asset, "name", asset)) for asset in events]
    except Exception:  # noqa: BLE001 - no events is the safe answer (hourly catch-up only)
        return []


def select_inputs() -> list[str]:
    """TM files to process (empty when the run starts above TM: those inputs go to the LB step)."""
    from stix_lib.pipeline.tasks import select_tm_files

    context = get_current_context()
    settings, engine, params = _setup()
    if params["start_level"] not in ("TM", "ALL"):
        return []
    from stix_lib.pipeline.orchestrator import sweep_stale_partials

    sweep_stale_partials(Path(params["fits_dir"] or settings.fits_archive_dir))  # leftovers of killed writers
    waiting = include_waiting(str(getattr(context.get("dag_run"), "run_type", "")), _triggering_assets(context))
    return select_tm_files(
        engine, input_files=params["input_files"] or (), name_filter=params["filter"] or "", include_waiting=waiting
    )


def tm_to_lb(tm_file: str) -> dict[str, Any]:
    """TM → LB for one file (the mapped task is labelled with the file name)."""
    from stix_lib.pipeline.tasks import tm_to_lb_step

    context = get_current_context()
    context["tm_file"] = Path(tm_file).name  # map_index_template="{{ tm_file }}": UI label and alert subject
    settings, engine, params = _setup()
    return tm_to_lb_step(_pipeline(settings, params), settings, engine, tm_file)


def group_lb(tm_results: list[dict[str, Any]]) -> list[list[str]]:
    """LB (or given start-level) files per packet type, one list per parallel task."""
    from stix_lib.pipeline.tasks import lb_groups

    params = _params()
    results = list(tm_results or [])
    if params["start_level"] not in ("TM", "ALL"):
        results = [{"lb_files": params["input_files"] or []}]
    return lb_groups(results)


def lb_to_l1(lb_files: list[str]) -> list[dict[str, Any]]:
    """LB (or L0/L1) → L0 → L1 (→ CAL) for the files of one packet type."""
    from stix_lib.pipeline.orchestrator import Level

    settings, _engine, params = _setup()
    pipeline = _pipeline(settings, params)
    start = "LB" if params["start_level"] in ("TM", "ALL") else params["start_level"]
    if Level.parse(params["end_level"]) <= Level.parse(start):
        return []
    run = pipeline.run([Path(p) for p in lb_files], start_level=start, end_level=params["end_level"])
    return [report.to_dict() for report in run.files]


def record(tm_results: list[dict[str, Any]], group_reports: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Reports, lineage and ledger states; an asset event when L1 files were written."""
    from stix_lib.pipeline.tasks import record_step

    context = get_current_context()
    settings, engine, params = _setup()
    archive = Path(params["fits_dir"] or settings.fits_archive_dir)
    summary = record_step(engine, archive, list(tm_results or []), list(group_reports or []), context["run_id"])
    if summary["written"]["L1"]:
        context["outlet_events"][FITS_L1].extra = {"files": [Path(p).name for p in summary["written"]["L1"]]}
    return summary


def check(summary: dict[str, Any]) -> None:
    """Make the run red when something needs an operator; the rest is already done.

    * every TM file quarantined as unusable and every science request incomplete for longer than
      ``request_incomplete_alert`` → one data-problem mail each (file, reason, next step);
    * TM files that failed → one failure mail listing them (they are retried by the next run).

    Files ``waiting for kernels`` are not a failure: they are logged and processed again when the
    kernel asset triggers the next run.
    """
    from stix_lib.monitor.data_problems import incomplete_request, unusable_tm_file
    from stix_lib.pipeline import incomplete
    from stix_ops.notifiers import data_problems_failure, mail_data_problems

    for name, reason in sorted((summary.get("waiting") or {}).items()):
        log.warning("%s: %s", name, reason)
    settings, engine, _params = _setup()
    quarantine = settings.quarantine_dir
    unusable = summary.get("unusable") or {}
    problems = [unusable_tm_file(name, reason, quarantine) for name, reason in sorted(unusable.items())]
    overdue = incomplete.overdue(engine, settings.request_incomplete_alert)
    problems += [incomplete_request(request, settings.request_incomplete_alert) for request in overdue]
    failed = sorted(name for name, status in summary["files"].items() if status == "failed")
    mail_data_problems(problems)
    incomplete.mark_alerted(engine, [request.key for request in overdue])
    if failed:
        from airflow.sdk.exceptions import AirflowFailException  # retrying would not change the verdict

        reasons = summary.get("failed") or {}
        listing = "; ".join(f"{name} failed: {reasons.get(name) or 'see the task log'}" for name in failed)
        raise AirflowFailException(
            f"{len(failed)} TM file(s) not processed: {listing}. Failed files are retried by the next run"
            + (f"; {len(problems)} data problem(s) were mailed separately" if problems else "")
        )
    if problems:
        raise data_problems_failure(problems)
