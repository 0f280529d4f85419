"""Operators of ``stix_level_processing``: TM -> LB per file, then LB -> L0 -> L1 -> CAL per packet type.

Each operator reads the run's Params, builds the pipeline from the settings and calls one step of
:mod:`stix_lib.pipeline.tasks`; what one task hands to the next is an XComArg (templated operator
argument) and everything passed between tasks is JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, Param

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

def _params(context: Mapping[str, Any]) -> dict[str, Any]:
    return dict(context["params"])


def _setup(context: Mapping[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """Settings (folders created), pipeline database engine and the run's Params."""
    from stix_ops.hooks.pipeline import StixPipelineHook

    hook = StixPipelineHook()
    hook.settings.ensure_folders()
    return hook.settings, hook.engine, _params(context)


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




class SelectInputsOperator(BaseOperator):
    """TM files to process: ``input_files``, else the ledger's catch-up, filtered by ``filter`` (XCom: paths).

    Empty when the run starts above TM (those inputs go to the LB step). Files ``waiting for
    kernels`` are taken only by a manual run or one the kernel asset woke (:func:`include_waiting`).
    """

    def execute(self, context: Any) -> list[str]:
        """Sweep leftovers of killed writers, then select the TM files."""
        from stix_lib.pipeline.orchestrator import sweep_stale_partials
        from stix_lib.pipeline.tasks import select_tm_files

        settings, engine, params = _setup(context)
        if params["start_level"] not in ("TM", "ALL"):
            return []
        sweep_stale_partials(Path(params["fits_dir"] or settings.fits_archive_dir))  # leftovers of killed writers
        waiting = include_waiting(str(getattr(context.get("dag_run"), "run_type", "")), _triggering_assets(context))
        return select_tm_files(
            engine, input_files=params["input_files"] or (), name_filter=params["filter"] or "", include_waiting=waiting
        )


class TmToLbOperator(BaseOperator):
    """TM -> LB for one file; map it over :class:`SelectInputsOperator`'s output.

    The XCom is the file's result of :func:`stix_lib.pipeline.tasks.tm_to_lb_step`, also pushed key by
    key (``multiple_outputs``). With ``map_index_template="{{ tm_file }}"`` each mapped task is
    labelled with the TM file name (UI and alert subject).

    Parameters
    ----------
    tm_file
        Path of the TM file (templated; an XComArg when mapped with ``.expand(tm_file=...)``).
    **kwargs
        Passed to :class:`BaseOperator` (``multiple_outputs`` is always on).
    """

    template_fields = ("tm_file",)

    def __init__(self, *, tm_file: str, **kwargs: Any) -> None:
        kwargs["multiple_outputs"] = True
        super().__init__(**kwargs)
        self.tm_file = tm_file

    def execute(self, context: Any) -> dict[str, Any]:
        """Convert the file (an unusable one is quarantined and reported, not raised)."""
        from stix_lib.pipeline.tasks import tm_to_lb_step

        context["tm_file"] = Path(self.tm_file).name  # map_index_template="{{ tm_file }}": UI label and alert subject
        settings, engine, params = _setup(context)
        return tm_to_lb_step(_pipeline(settings, params), settings, engine, self.tm_file)


class GroupLbOperator(BaseOperator):
    """LB (or given start-level) files per packet type, one list per parallel ``lb_to_l1`` task (XCom).

    Parameters
    ----------
    tm_results
        The results of the TM -> LB tasks (templated; pass the mapped task's ``output``).
    """

    template_fields = ("tm_results",)

    def __init__(self, *, tm_results: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tm_results = tm_results

    def execute(self, context: Any) -> list[list[str]]:
        """Group the files."""
        from stix_lib.pipeline.tasks import lb_groups

        params = _params(context)
        results = list(self.tm_results or [])
        if params["start_level"] not in ("TM", "ALL"):
            results = [{"lb_files": params["input_files"] or []}]
        return lb_groups(results)


class LbToL1Operator(BaseOperator):
    """LB (or L0/L1) -> L0 -> L1 (-> CAL) for the files of one packet type (XCom: the file reports).

    Parameters
    ----------
    lb_files
        The group's files (templated; an XComArg when mapped with ``.expand(lb_files=...)``).
    """

    template_fields = ("lb_files",)

    def __init__(self, *, lb_files: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lb_files = lb_files

    def execute(self, context: Any) -> list[dict[str, Any]]:
        """Run the levels up to ``end_level``."""
        from stix_lib.pipeline.orchestrator import Level

        settings, _engine, params = _setup(context)
        pipeline = _pipeline(settings, params)
        start = "LB" if params["start_level"] in ("TM", "ALL") else params["start_level"]
        if Level.parse(params["end_level"]) <= Level.parse(start):
            return []
        run = pipeline.run([Path(p) for p in self.lb_files], start_level=start, end_level=params["end_level"])
        return [report.to_dict() for report in run.files]


class RecordOperator(BaseOperator):
    """Reports, lineage and ledger states; an event of its outlet ``stix_fits_l1`` lists the L1 files written.

    The XCom is the summary of :func:`stix_lib.pipeline.tasks.record_step`, also pushed key by key
    (``multiple_outputs``).

    Parameters
    ----------
    tm_results
        The TM -> LB results (templated; the mapped task's ``output``).
    group_reports
        The LB -> L1 reports (templated; the mapped task's ``output``).
    **kwargs
        Passed to :class:`BaseOperator`; give ``outlets=[FITS_L1]``.
    """

    template_fields = ("tm_results", "group_reports")

    def __init__(self, *, tm_results: Any, group_reports: Any, **kwargs: Any) -> None:
        kwargs["multiple_outputs"] = True
        super().__init__(**kwargs)
        self.tm_results = tm_results
        self.group_reports = group_reports

    def execute(self, context: Any) -> dict[str, Any]:
        """Record the run."""
        from stix_lib.pipeline.tasks import record_step

        settings, engine, params = _setup(context)
        archive = Path(params["fits_dir"] or settings.fits_archive_dir)
        summary = record_step(
            engine, archive, list(self.tm_results or []), list(self.group_reports or []), context["run_id"]
        )
        if summary["written"]["L1"]:
            context["outlet_events"][FITS_L1].extra = {"files": [Path(p).name for p in summary["written"]["L1"]]}
        return summary


class ProcessingCheckOperator(BaseOperator):
    """Make the run red when something needs an operator; the rest is already done.

    * every TM file quarantined as unusable and every science request incomplete for longer than
      ``request_incomplete_alert`` -> one data-problem mail each (file, reason, next step);
    * TM files that failed -> one failure mail listing them (they are retried by the next run).

    Files ``waiting for kernels`` are not a failure: they are logged and processed again when the
    kernel asset triggers the next run.

    Parameters
    ----------
    summary
        The record task's summary (templated; its ``output``).
    """

    template_fields = ("summary",)

    def __init__(self, *, summary: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.summary = summary

    def execute(self, context: Any) -> None:
        """Mail the data problems; fail on failed files or data problems."""
        from stix_lib.monitor.data_problems import incomplete_request, unusable_tm_file
        from stix_lib.pipeline import incomplete
        from stix_ops.notifiers import data_problems_failure, mail_data_problems

        summary = self.summary
        for name, reason in sorted((summary.get("waiting") or {}).items()):
            log.warning("%s: %s", name, reason)
        settings, engine, _params = _setup(context)
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
