"""Daily products (runbook cron C7, STIXCore ``pipeline_daily.py``): LL03 plots and the ANC aspect gate.

* :mod:`~stix_lib.daily.processing_history` — the processing history in the pipeline database
  (``processed_fits_products``), an implementation of :class:`stix_lib.daily.ProcessingHistory`;
* :mod:`~stix_lib.daily.ll03_run` — which days a run looks at and the LL03 step over their latest
  L1 ``ql-lightcurve`` files;
* :mod:`~stix_lib.daily.aspect` — the ANC aspect product's IDL requirement and input gates;
  :mod:`~stix_lib.daily.aspect_run` the step (input tables :mod:`~stix_lib.daily.aspect_table`,
  IDL calls :mod:`~stix_lib.daily.idl_bridge`, files :mod:`~stix_lib.daily.aspect_product`).
"""

from stix_lib.daily.aspect import IDL_NOT_CONFIGURED, aspect_due, aspect_inputs, idl_missing
from stix_lib.daily.aspect_run import AspectResult, run_aspect
from stix_lib.daily.processing_history import DatabaseHistory
from stix_lib.daily.ll03_run import DEFAULT_DAYS_BACK, LL03Result, lightcurve_inputs, plot_days, run_day, run_ll03

__all__ = [
    "DEFAULT_DAYS_BACK",
    "IDL_NOT_CONFIGURED",
    "AspectResult",
    "DatabaseHistory",
    "LL03Result",
    "aspect_due",
    "aspect_inputs",
    "idl_missing",
    "lightcurve_inputs",
    "plot_days",
    "run_aspect",
    "run_day",
    "run_ll03",
]
