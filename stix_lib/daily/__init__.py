"""Daily products (runbook cron C7, STIXCore ``pipeline_daily.py``): LL03 plots and the ANC aspect product.

LL03 (quick-look light-curve plot, SVG + PNG preview):

* :mod:`~stix_lib.daily.ll03_run` — which days a run looks at and the step over their latest L1
  ``ql-lightcurve`` files;
* :mod:`~stix_lib.daily.ll03_gates` — the per-file gates and the plot step (:class:`LL03Step`);
* :mod:`~stix_lib.daily.ll03_plot` — reading the light curve and drawing the plot;
* :mod:`~stix_lib.daily.ll03_names` — plot names, archive folders, input versions.

Both products: :mod:`~stix_lib.daily.processing_history` — did an output get made from the
current input (:class:`ProcessingHistory`; the database's :class:`DatabaseHistory`, the output
file's :class:`OutputFileHistory`).

ANC aspect: :mod:`~stix_lib.daily.aspect` — the IDL requirement and input gates;
:mod:`~stix_lib.daily.aspect_run` the step (input tables :mod:`~stix_lib.daily.aspect_table`,
IDL calls :mod:`~stix_lib.daily.idl_bridge`, files :mod:`~stix_lib.daily.aspect_product`).
"""

from stix_lib.daily.aspect import IDL_NOT_CONFIGURED, aspect_due, aspect_inputs, idl_missing
from stix_lib.daily.aspect_run import AspectResult, run_aspect
from stix_lib.daily.ll03_gates import COMPLETE_DAY_BINS, LL03Step, ll03_due
from stix_lib.daily.ll03_names import ll03_paths, ll03_stem
from stix_lib.daily.ll03_plot import LightCurveData, LightCurveError, load_lightcurve, write_plot
from stix_lib.daily.ll03_run import DEFAULT_DAYS_BACK, LL03Result, lightcurve_inputs, plot_days, run_day, run_ll03
from stix_lib.daily.processing_history import DatabaseHistory, OutputFileHistory, ProcessingHistory

__all__ = [
    "COMPLETE_DAY_BINS",
    "DEFAULT_DAYS_BACK",
    "IDL_NOT_CONFIGURED",
    "AspectResult",
    "DatabaseHistory",
    "LL03Result",
    "LL03Step",
    "LightCurveData",
    "LightCurveError",
    "OutputFileHistory",
    "ProcessingHistory",
    "aspect_due",
    "aspect_inputs",
    "idl_missing",
    "lightcurve_inputs",
    "ll03_due",
    "ll03_paths",
    "ll03_stem",
    "load_lightcurve",
    "plot_days",
    "run_aspect",
    "run_day",
    "run_ll03",
    "write_plot",
]
