"""Daily-product operators (``stix_daily_products``): LL03 light-curve plots, ANC aspect product.

Thin adapters around :mod:`stix_lib.daily`. The processing history is the pipeline database's
``processed_fits_products`` table (:class:`stix_lib.daily.DatabaseHistory`). The LL03 task emits
:data:`~stix_ops.assets.LL03` through the alias :data:`LL03_PLOTTING` only when it wrote plots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import AssetAlias, BaseOperator, Param
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from stix_ops.assets import LL03

if TYPE_CHECKING:
    from stix_ops.hooks.pipeline import StixPipelineHook

#: Alias through which the LL03 task emits :data:`~stix_ops.assets.LL03` conditionally.
LL03_PLOTTING = AssetAlias(name="stix_ll03_plotting")
#: ``stix_lib.daily.DEFAULT_DAYS_BACK``, spelled out so that parsing the DAG does not import the library.
DEFAULT_DAYS_BACK = 40
#: Plot names listed in an asset event (the rest is counted).
EVENT_FILES_MAX = 200


def daily_params() -> dict[str, Param]:
    """The trigger-form Params of ``stix_daily_products``: ``days_back`` and ``fits_dir``."""
    return {
        "days_back": Param(
            DEFAULT_DAYS_BACK, type="integer", minimum=0,
            description="data days looked at: the run day - days_back ... the day before the run day "
            "(the run day is the logical date's UTC date); 0 = the whole archive",
        ),
        "fits_dir": Param(
            None, type=["null", "string"],
            description="archive read (L1) and written (LL03); empty: the fits_archive_dir setting",
        ),
    }  # fmt: skip


class _DailyProductOperator(BaseOperator):
    """Common part of the daily-product operators: the window and the archive, templated from the Params.

    Parameters
    ----------
    days_back
        Data days before the run day (0: the whole archive); default the ``days_back`` Param.
    fits_dir
        Archive read and written (empty: the ``fits_archive_dir`` setting); default the ``fits_dir`` Param.
    """

    template_fields: Sequence[str] = ("days_back", "fits_dir")

    def __init__(
        self,
        *,
        days_back: int | str = "{{ params.days_back }}",
        fits_dir: str | None = "{{ params.fits_dir or '' }}",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.days_back = days_back
        self.fits_dir = fits_dir

    def _hook(self) -> StixPipelineHook:
        """The pipeline hook with ``fits_dir`` applied to its settings."""
        from stix_ops.hooks.pipeline import StixPipelineHook

        settings = StixPipelineHook().settings
        return StixPipelineHook(settings.replace(fits_archive_dir=Path(self.fits_dir)) if self.fits_dir else settings)

    def _days(self, context: Mapping[str, Any]) -> tuple[str, list[Any] | None, str]:
        """Run day (logical date's UTC date; a manual run without logical date: its ``run_after``), data days
        (``None``: the whole archive) and the window as text for the log."""
        from stix_lib.daily import plot_days, run_day

        day = run_day(context.get("logical_date") or context["dag_run"].run_after)
        days = plot_days(day, int(self.days_back))
        return day.isoformat(), days, "whole archive" if days is None else f"{days[0]} .. {days[-1]}"


class LL03PlotsOperator(_DailyProductOperator):
    """LL03 plots of the complete days in the window (:func:`stix_lib.daily.run_ll03`, gates of §8.4).

    Returns the pass summary (XCom). Inputs that cannot be plotted fail the task at the end
    without retry, after every other plot was made.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [LL03_PLOTTING])
        super().__init__(**kwargs)

    def execute(self, context: Any) -> dict[str, Any]:
        """Plot what is due."""
        from stix_lib.daily import DatabaseHistory, run_ll03

        hook = self._hook()
        run_day, days, window = self._days(context)
        result = run_ll03(hook.settings, DatabaseHistory(hook.engine), days)
        for reason in result.skipped:
            self.log.info("not due: %s", reason)
        self.log.info(
            "LL03 (run day %s, data days %s): %d input(s), %d plot file(s) written, %d error(s)",
            run_day, window, result.inputs, len(result.written), len(result.errors),
        )  # fmt: skip
        summary = {"run_day": run_day, "window": window, **result.as_dict()}
        plots = [Path(p).name for p in result.written if p.endswith(".svg")]
        if plots:
            context["outlet_events"][LL03_PLOTTING].add(
                LL03, extra={"files": plots[:EVENT_FILES_MAX], "more_files": max(0, len(plots) - EVENT_FILES_MAX)}
            )
        if result.errors:
            context["ti"].xcom_push(key="summary", value=summary)
            raise AirflowFailException(f"{len(result.errors)} LL03 input(s) failed: " + "; ".join(result.errors[:5]))
        return summary


class AspectANCOperator(_DailyProductOperator):
    """The ANC aspect product (:func:`stix_lib.daily.run_aspect`): skipped with one log line without IDL.

    While ``idl_gsw_path`` is empty the task is skipped (:data:`stix_lib.daily.IDL_NOT_CONFIGURED`).
    Otherwise the due L1 ``hk-maxi`` files of the window go through the IDL bridge
    (``idl_executable``, batches of ``idl_batchsize``) into daily ANC files, each recorded in the
    processing history. Files that got no product (IDL missing or failing, unreadable input,
    SPICE gaps) fail the task at the end without retry, after every other file was processed;
    they stay due for the next run. Returns the pass summary (XCom).
    """

    def execute(self, context: Any) -> dict[str, Any]:
        """Skip without IDL, else make what is due."""
        from stix_lib.daily import idl_missing

        hook = self._hook()
        reason = idl_missing(hook.settings)
        if reason:
            raise AirflowSkipException(reason)
        from stix_lib.daily import DatabaseHistory, run_aspect

        run_day, days, window = self._days(context)
        result = run_aspect(hook.settings, DatabaseHistory(hook.engine), days)
        for why in result.skipped:
            self.log.info("not due: %s", why)
        self.log.info(
            "ANC aspect (run day %s, data days %s): %d input(s), %d due, %d processed, %d file(s) written, "
            "%d failed",
            run_day, window, result.inputs, len(result.due), len(result.processed), len(result.written),
            len(result.failed),
        )  # fmt: skip
        summary = {"run_day": run_day, "window": window, **result.as_dict()}
        if result.failed:
            context["ti"].xcom_push(key="summary", value=summary)
            raise AirflowFailException(
                f"{len(result.failed)} HK file(s) got no ANC aspect product: " + "; ".join(result.errors[:5])
            )
        return summary
