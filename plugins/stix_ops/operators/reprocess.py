"""Reprocessing operators: plan one UTC day (``stix_reprocess``) or a month of days
(``stix_reprocess_monthly``), then reprocess their telemetry.

Thin adapters around :mod:`stix_lib.stages.reprocess`. The day is the run's logical date (UTC date;
Airflow 3 cron runs have zero-length data intervals, so nothing else is used), unless the ``day``
Param names one; a monthly run's days are its logical date's month (or ``month``) clipped to
``first_day`` .. ``last_day``. Params left empty (``None``) are resolved when the task runs, never at
parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseOperator, Param
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

#: ``stix_lib.stages.reprocess.END_LEVELS``, spelled out so that parsing the DAG does not import the library.
END_LEVELS = ("LB", "L0", "L1", "L2")
_PATH = ["null", "string"]


def reprocess_params(monthly: bool = False) -> dict[str, Param]:
    """The trigger-form / ``--dag-run-conf`` Params of ``stix_reprocess`` (or ``stix_reprocess_monthly``).

    Parameters
    ----------
    monthly
        The Params of the monthly DAG: ``month``, ``first_day`` and ``last_day`` instead of ``day``.

    Returns
    -------
    dict of str to Param
        ``version``, ``fits_dir``, ``end_level``, ``day`` (monthly: ``month``, ``first_day``,
        ``last_day``), ``idb_dir``, ``spice_dir``, ``spice_file``, ``soop_dir``, ``stop_on_error``,
        ``dry_run``.
    """
    params = {
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
    if not monthly:
        return params
    del params["day"]
    block = {
        "month": Param(
            None, type=_PATH, pattern=r"^\d{4}-\d{2}$",
            description="month YYYY-MM; empty: the run's logical date's month (what a backfill sets per run). "
            "For a manual run of an old month",
        ),
        "first_day": Param(
            None, type=_PATH, pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="first day of the campaign YYYY-MM-DD (stix-pipeline reprocess sets it): earlier days of "
            "the month are left out; empty: the month's first day",
        ),
        "last_day": Param(
            None, type=_PATH, pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="last day of the campaign YYYY-MM-DD (stix-pipeline reprocess sets it): later days of the "
            "month are left out; empty: the month's last day",
        ),
    }  # fmt: skip
    names = list(params)
    at = names.index("end_level") + 1
    return {name: (params | block)[name] for name in [*names[:at], *block, *names[at:]]}


def _params(context: Mapping[str, Any]) -> Mapping[str, Any]:
    return context.get("params") or {}


def _problems(summary: Mapping[str, Any]) -> str:
    """Why a day's reprocessing failed: file errors, missing TM files, the abort message."""
    problems = [f"{summary['file_errors']} file error(s)"]
    if summary["missing"]:
        problems.append(f"missing TM files {', '.join(summary['missing'][:10])}")
    if summary["aborted"]:
        problems.append(summary["aborted"])
    return "; ".join(problems)


def _resolve_options(settings: Any, params: Mapping[str, Any]) -> Any:
    """:func:`stix_lib.stages.reprocess.resolve_options` from the run's Params."""
    from stix_lib.stages.reprocess import resolve_options

    return resolve_options(
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


class ReprocessPlanOperator(BaseOperator):
    """Find the day's telemetry in the ledger and resolve the options (:func:`stix_lib.stages.reprocess.plan_day`).

    Returns the plan (XCom): day, OBT window and the clock used, TM files, missing files, options.
    Unusable options (live archive with the live version, bad day) fail without retry.
    """

    def execute(self, context: Any) -> dict[str, Any]:
        """Plan the run's day."""
        from stix_lib.stages.reprocess import ReprocessError, plan_day, run_day
        from stix_ops.hooks.pipeline import StixPipelineHook

        params = _params(context)
        hook = StixPipelineHook()
        settings = hook.settings
        try:
            day = run_day(context.get("logical_date"), params.get("day"))
            options = _resolve_options(settings, params)
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
            context["ti"].xcom_push(key="summary", value=summary)
            raise AirflowFailException(f"reprocessing {summary['day']}: {_problems(summary)}")
        return summary


class ReprocessMonthPlanOperator(BaseOperator):
    """Plan every day of the run's month block (:func:`stix_lib.stages.reprocess.plan_block`).

    The block is the logical date's month (or the ``month`` Param) clipped to ``first_day`` ..
    ``last_day``. Returns the block plan (XCom): one day plan per day, with the options. Unusable
    options fail without retry.
    """

    def execute(self, context: Any) -> dict[str, Any]:
        """Plan the run's days."""
        from stix_lib.stages.reprocess import ReprocessError, block_days, plan_block
        from stix_ops.hooks.pipeline import StixPipelineHook

        params = _params(context)
        hook = StixPipelineHook()
        settings = hook.settings
        try:
            days = block_days(
                context.get("logical_date"), params.get("month"), params.get("first_day"), params.get("last_day")
            )
            options = _resolve_options(settings, params)
        except ReprocessError as exc:
            raise AirflowFailException(str(exc)) from exc
        block = plan_block(settings, hook.engine, days, options)
        span = f"{days[0]} .. {days[-1]}" if days else "no day (the campaign does not touch this month)"
        self.log.info(
            "reprocess %s (%d day(s)): %d TM file(s) -> %s as V%02d up to %s",
            span, len(days), block["tm_files"], options.fits_dir, options.version, options.end_level,
        )  # fmt: skip
        for plan in block["days"]:
            self.log.info("  %s: %d TM file(s)", plan["window"], len(plan["tm_files"]))
        return block


class ReprocessMonthOperator(BaseOperator):
    """Reprocess the planned days one after the other in one task (:func:`stix_lib.stages.reprocess.reprocess_block`).

    One process, one IDB and SPICE load for the whole block: the task start-up is paid once per
    month, not once per day. Each day is its own pipeline run; the log has one progress line per day
    and the XCom one summary per day. Days with file errors or missing inputs fail the task at the
    end, without retry, naming them (the other days' products are written): fix the input, then
    rerun one day with ``stix-pipeline reprocess --from DAY --to DAY --run-per day`` or clear this task.

    Parameters
    ----------
    block
        The block plan, templated: pass the plan task's ``output`` (also sets the dependency).
    """

    template_fields = ("block",)

    def __init__(self, *, block: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.block = block

    def execute(self, context: Any) -> dict[str, Any]:
        """Reprocess the days of the block."""
        from stix_lib.stages.reprocess import reprocess_block
        from stix_ops.hooks.pipeline import StixPipelineHook

        block = self.block
        options = block["options"]
        days = len(block["days"])
        if _params(context).get("dry_run"):
            raise AirflowSkipException(
                f"dry run: {block['tm_files']} TM file(s) of {days} day(s) would be reprocessed into "
                f"{options['fits_dir']} as V{options['version']:02d}"
            )

        def progress(index: int, summary: dict[str, Any]) -> None:
            self.log.info(
                "day %d/%d %s: %s, %d TM file(s) -> written %s; %d packet error(s), %d file error(s)",
                index, days, summary["day"], "ok" if summary["ok"] else "FAILED", summary["tm_files"],
                summary["written"], summary["packet_errors"], summary["file_errors"],
            )  # fmt: skip

        result = reprocess_block(StixPipelineHook().settings, block, on_day=progress)
        if not result["ok"]:
            context["ti"].xcom_push(key="summary", value=result)
            reasons = [f"{day} ({_problems(result['days'][day])})" for day in result["failed"]]
            raise AirflowFailException(
                f"reprocessing {len(result['failed'])} of {days} day(s) failed: " + ", ".join(reasons)
            )
        return result
