# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Daily products (runbook cron C7, STIXCore `pipeline_daily.py`): LL03 plots and the ANC aspect product.

Daily at 08:00 UTC, and whenever L1 processing wrote products (`stix_fits_l1`). The run's data
interval has zero length (Airflow 3 cron timetable), so the days are computed explicitly: run day
D = the logical date's UTC date (an asset-triggered run: its `run_after`), data days
D - `days_back` … D - 1 (Param, default 40: past the 30-day age gate, with margin; 0 = the whole
archive).

1. `ll03_plots` — for each data day the latest-version L1 `ql-lightcurve` file is plotted (SVG +
   PNG preview in `LL03/YYYY/MM/DD/QL/`) when its day is complete (≥ 21540 4-s bins) or its data
   are more than 30 days old, it was created more than 1 s ago, and the processing history
   (pipeline DB, `processed_fits_products`) has no plot made after its `DATE`: a re-run makes
   nothing new, a rewritten input is plotted again. Emits `stix_ll03` when plots were written.
   Inputs that cannot be plotted fail the task at the end (no retry).
2. `anc_aspect` — needs STX-GSW in a licensed IDL: while the `idl_gsw_path` setting is empty the
   task logs one line and is skipped; no substitute product is made. Otherwise every L1 `hk-maxi`
   file of the data days with `VERSION` ≥ 2, data ending ≥ 24 h before the flown meta kernel's date
   and no aspect product made after its `DATE` goes, in batches of `idl_batchsize`, through the
   IDL command `idl_executable` (JSON in, JSON out) into `ANC/YYYY/MM/DD/ASP/
   solo_ANC_stix-asp-ephemeris_YYYYMMDD_V02U.fits` with SPICE positions, and is recorded in the
   processing history. Files without a product (failed IDL batch, ...) fail the task at the end
   (no retry) and stay due.
"""

from __future__ import annotations

from datetime import timedelta

from stix_ops.assets import FITS_L1
from stix_ops.dag_policy import events_or_cron, stix_dag
from stix_ops.operators.daily import AspectANCOperator, LL03PlotsOperator, daily_params

with stix_dag(
    "stix_daily_products",
    description="daily products: LL03 quick-look light-curve plots, ANC aspect (IDL)",
    schedule=events_or_cron("0 8 * * *", [FITS_L1]),
    dagrun_timeout=timedelta(hours=4),
    task_timeout=timedelta(hours=2),
    params=daily_params(),
    tags=["daily", "products"],
    doc_md=__doc__,
):
    LL03PlotsOperator(
        task_id="ll03_plots",
        doc_md="LL03 quick-look light-curve plots (SVG + PNG) of the complete or > 30-day-old days in the window; "
        "emits `stix_ll03` when plots were written. Failed inputs are named in the log and the mail; they stay "
        "due and the next run tries them again.",
    )
    AspectANCOperator(
        task_id="anc_aspect",
        execution_timeout=timedelta(hours=2),
        doc_md="ANC aspect product through STX-GSW in IDL (`idl_executable`, `idl_gsw_path`); skipped while "
        "`idl_gsw_path` is empty. Files without a product are listed in the log and stay due.",
    )
