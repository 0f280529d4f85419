"""Plot products: the LL03 daily quick-look light-curve plot (SVG + PNG preview) and its gates."""

from stix_lib.daily.processing_history import OutputFileHistory, ProcessingHistory
from stix_lib.daily.ll03_plot import LightCurveData, LightCurveError, load_lightcurve, write_plot
from stix_lib.daily.ll03_gates import COMPLETE_DAY_BINS, LL03Step, ll03_due
from stix_lib.daily.ll03_naming import ll03_paths, ll03_stem

__all__ = [
    "COMPLETE_DAY_BINS",
    "LL03Step",
    "LightCurveData",
    "LightCurveError",
    "OutputFileHistory",
    "ProcessingHistory",
    "ll03_due",
    "ll03_paths",
    "ll03_stem",
    "load_lightcurve",
    "write_plot",
]
