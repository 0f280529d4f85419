"""SOOP/observation keywords (``OBS_MODE``, ``OBS_TYPE``, ``OBS_ID``, ``SOOPNAME``, ``SOOPTYPE``,
``TARGET``) for L1+ headers, from the LTP exports SOC delivers; see :mod:`stix_lib.soop.manager`."""

from stix_lib.soop.intervals import IntervalIndex
from stix_lib.soop.manager import KEYWORD_COMMENTS, LtpFile, SoopManager
from stix_lib.soop.model import Observation, Soop, SoopFileError

__all__ = [
    "KEYWORD_COMMENTS",
    "IntervalIndex",
    "LtpFile",
    "Observation",
    "Soop",
    "SoopFileError",
    "SoopManager",
]
