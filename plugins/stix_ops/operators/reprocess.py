"""Reprocessing operators (``stix_reprocess``): plan one UTC day, then reprocess its telemetry.

Thin adapters around :mod:`stix_lib.stages.reprocess`. The day is the run's logical date (UTC date;
Airflow 3 cron runs have zero-length data intervals, so nothing else is used), unless the ``day``
Param names one. Params left empty (``None``) are resolved when the task runs, never at parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseOperator, Param
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

#: ``stix_lib.stages.reprocess.END_LEVELS``, spelled out so that parsing the DAG does not import the library.
END_LEVELS = ("LB", "L0", "L1", "L2")
_PATH = ["null", "string"]


def reprocess_params() -> dict[str, Param]:
    """The trigger-form / ``--dag-run-conf`` Params of ``stix_reprocess``.

    Returns
    -------
    dict of str to Param
        ``version``, ``fits_dir``, ``end_level``, ``day``, ``idb_dir``, ``spice_dir``,
        ``spice_file``, ``soop_dir``, ``stop_on_error``, ``dry_run``.
    """
    return {
        "version": Param(
            None, type=["null", "integer"], minimum=1,
            description="processing version written into the products (_V<nn>); empty: the processing_version "
            "setting + 1 (the next version). Give it explicitly for a backfill, so every day gets the same",
        ),
        "fits_dir": Param(
            None, type=_PATH,
            description="output archive; empty: <data_root>/reprocess/V<version>. Relative paths are below data_root. "
            "The live archive is refused with the live version (writers merge into existing files)",
        ),
        "end_level": Param(
            "L2", type="string", enum=list(END_LEVELS), description="last level (TM -> LB -> L0 -> L1 -> L2)",
        ),
        "day": Param(
            None, type=_PATH, pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="UTC day YYYY-MM-DD; empty: the run's logical date (what a backfill sets per run). "
            "Do not put it into a backfill's conf: every run would reprocess that one day",
        ),
        "idb_dir": Param(None, type=_PATH, description="IDB root; empty: the idb_dir setting"),
        "spice_dir": Param(None, type=_PATH, description="SPICE kernel tree; empty: the spice_dir setting"),
        "spice_file": Param(None, type=_PATH, description="use this meta kernel instead of the latest ones"),
        "soop_dir": Param(None, type=_PATH, description="SOOP (LTP export) folder; empty: the from_soc_dir setting"),
        "stop_on_error": Param(False, type="boolean", description="stop at the first packet or file error"),
        "dry_run": Param(
            False, type="boolean", description="only plan: list the day's TM files and the output, process nothing",
        ),
    }  # fmt: skip


def _params(context: Mapping[str, Any]) -> Mapping[str, Any]:
    return context.get("params") or {}


class ReprocessPlanOperator(BaseOperator):
    """Find the day's telemetry in the ledger and resolve the options (:func:`stix_lib.stages.reprocess.plan_day`).

    Returns the plan (XCom): day, OBT window and the clock used, TM files, missing files, options.
    Unusable options (live archive with the live version, bad day) fail without retry.
    """

    def execute(self, context: Any) -> dict[str, Any]:
        """Plan the run's day."""
        from stix_lib.stages.reprocess import ReprocessError, plan_day, resolve_options, run_day
        from stix_ops.hooks.pipeline import StixPipelineHook

        params = _params(context)
        hook = StixPipelineHook()
        settings = hook.settings
        try:
            day = run_day(context.get("logical_date"), params.get("day"))
            options = resolve_options(
                settings,
                fits_dir=params.get("fits_dir"),
                version=params.get("version"),
                end_level=params.get("end_level") or "L2",
                idb_dir=params.get("idb_dir"),
                spice_dir=params.get("spice_dir"),
                spice_file=params.get("spice_file"),
                soop_dir=params.get("soop_dir"),
                stop_on_error=bool(params.get("stop_on_error")),
            )
        except ReprocessError as exc:
            raise AirflowFailException(str(exc)) from exc
        plan = plan_day(settings, hook.engine, day, options)
        self.log.info(
            "reprocess %s: %d TM file(s) -> %s as V%02d up to %s",
            plan["window"], len(plan["tm_files"]), options.fits_dir, options.version, options.end_level,
        )  # fmt: skip
        for path in plan["tm_files"]:
            self.log.info("  %s", path)
        return plan


class ReprocessDayOperator(BaseOperator):
    """Reprocess the planned TM files (:func:`stix_lib.stages.reprocess.reprocess`); skipped in a dry run.

    Returns the summary (XCom). File-level errors, missing inputs or a ``stop_on_error`` abort fail
    the task at the end without retry (they are not transient; the products that could be made
    are written); packet errors are logged and reported only.

    Parameters
    ----------
    plan
        The plan, templated: pass the plan task's ``output`` (also sets the dependency).
    """

    template_fields = ("plan",)

    def __init__(self, *, plan: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan

    def execute(self, context: Any) -> dict[str, Any]:
        """Reprocess the day."""
        from stix_lib.stages.reprocess import reprocess
        from stix_ops.hooks.pipeline import StixPipelineHook

        plan = self.plan
        options = plan["options"]
        if _params(context).get("dry_run"):
            raise AirflowSkipException(
                f"dry run: {len(plan['tm_files'])} TM file(s) of {plan['day']} would be reprocessed into "
                f"{options['fits_dir']} as V{options['version']:02d}"
            )
        summary = reprocess(StixPipelineHook().settings, plan)
        self.log.info(
            "%s: %d TM file(s) -> written %s; %d packet error(s), %d file error(s)",
            summary["day"], summary["tm_files"], summary["written"], summary["packet_errors"], summary["file_errors"],
        )  # fmt: skip
        if not summary["ok"]:
            problems = [f"{summary['file_errors']} file error(s)"]
            if summary["missing"]:
                problems.append(f"missing TM files {', '.join(summary['missing'][:10])}")
            if summary["aborted"]:
                problems.append(summary["aborted"])
            context["ti"].xcom_push(key="summary", value=summary)
            raise AirflowFailException(f"reprocessing {summary['day']}: " + "; ".join(problems))
        return summary
