"""Per-request L0/L1 files of science (BSD) requests: names, layouts, write-once.

Modules: :mod:`.naming` (names, folders, versions), :mod:`.corrections` (offset fix, trigger
descaling), :mod:`.columns` (shared column helpers), one module per request family
(:mod:`.pixel_data`, :mod:`.spectrogram`, :mod:`.visibility`, :mod:`.aspect_burst`),
:mod:`.file` (one request's file), :mod:`.step` (an LB file of requests as a pipeline step) and
:mod:`.errors` (exception types).

Processing spec §4.2, §4.3, §4.5.4 and §4.8. One file per complete request (request sequence)
and level, for the x-ray requests (20 rpd, 21 cpd, 22 scpd, 23 vis, 24 spec), the aspect bursts
(42) and the auto variants 10-14 (see :mod:`stix_lib.products.l0.science`):

* L0 ``solo_L0_stix-sci-<name>_<obt start coarse:010d>-<obt end coarse:010d>_V<vv>_<rid:010d>-<psc:05d>.fits``
  in ``L0/21/6/<ssid>/`` (dates as OBT strings, ``TIMESYS='OBT'``);
* L1 ``solo_L1_stix-sci-<name>_<YYYYMMDDTHHMMSS>-<YYYYMMDDTHHMMSS>_V<vv>_<rid:010d>-<psc:05d>.fits``
  (UTC start and end) in ``L1/YYYY/MM/DD/SCI/`` (start date);
* aspect bursts have no TC sequence control: ``…_V<vv>_<rid:010d>.fits``.

Versions: ``xray-spec`` (and its auto twin) 4, everything else 2; the file version is the
maximum with the configured version (:func:`product_version`).

HDUs ``PRIMARY``, ``CONTROL`` (one row per request; aspect: one row per packet), ``DATA`` (one
row per time bin or aspect sample; ``time`` relative to ``OBT_BEG``: centiseconds, except the L0
aspect burst, whose ``time``/``timedel`` are float32 seconds), ``IDB_VERSIONS`` (the decoding IDB
over the packets' own header time range, as STIXCore records it) and, except for
aspect bursts, ``ENERGIES`` (the 32 science channels for rpd; for cpd, scpd, spec and vis one row
per pair of consecutive set edges of the request's edge mask, spec §4.3, matching the counts' last
axis). Primary keywords: the common block (``VERS_SW``, ``VERS_CFG``, ``SCI_RID``,
``SCI_TCC`` …), ``DATAMIN``/``DATAMAX``/``BUNIT`` (counts products), ``XPOSURE``/``XPOMAX``, the OBT
range and dates, ``COMPLETE``, ``TRIG_SCA`` and ``DATAWARN`` when they apply; L1 adds the SOOP and
SPICE blocks (:mod:`stix_lib.products.header`, :mod:`stix_lib.spice.fits_keywords`).

Integer storage as for the HK/QL products (spec §5, :mod:`stix_lib.products.fits_io`): DATA
``time``/``timedel`` uint32 centiseconds (not the L0 aspect burst); ``counts``, ``triggers``,
``flux``, CONTROL ``packet`` and the aspect ``index``/``control_index`` in the smallest unsigned type
that holds the values (:func:`~stix_lib.products.fits_io.as_min_uint`, so the width follows the
data); the signed visibilities ``real``/``imaginary`` stay int64. Unsigned types are written with
``TZERO`` (``BSCALE`` 1).

Time/count offset fix (§4.3 step 2, SSIDs 20-24 and 10-14, IDB < 2.26.36, more than one bin): a
request taken at the minimum integration time (1 s before 2021-09-06T13:00 UTC, 0.5 s after) gets
``timedel[1:-1] = timedel[:-2]``, loses its first and last bin and HISTORY "Time and count arrays
were shifted to fix offset"; otherwise COMMENT "Time and count offset not fixed as possibly summed
on board".

Trigger descaling (§4.5.4/§4.5.5): triggers compressed with (0, 0, 7) are descaled with the RID
LUT factor of the request (blank -> 30; unknown or duplicate rid, or no LUT -> ``ValueError``);
cpd/scpd/vis: one accumulator per trigger value (``n_groups`` 1 when one of its detectors is in
the mask, else 0), spec: the summed trigger (``n_groups`` = active accumulators); ``n_int`` =
integration in 0.1 s; header ``TRIG_SCA`` and HISTORY "trigger descaled with <factor>".

Science files are write-once: an existing file is never rewritten.
"""

from __future__ import annotations

from stix_lib.products.science.corrections import NOT_SHIFTED, SHIFTED, descale_triggers, fix_time_offset
from stix_lib.products.science.errors import NoRidLut, ScienceRequestError
from stix_lib.products.science.file import ScienceOutput, same_packets, write_science_file
from stix_lib.products.science.naming import (
    PRODUCT_VERSIONS,
    is_science_lb,
    obt_range,
    product_version,
    science_l0_path,
    science_l1_path,
)
from stix_lib.products.science.step import ScienceLBResult, ScienceSteps, process_science_lb, science_lb_step

__all__ = [
    "NOT_SHIFTED",
    "PRODUCT_VERSIONS",
    "SHIFTED",
    "NoRidLut",
    "ScienceLBResult",
    "ScienceOutput",
    "ScienceRequestError",
    "ScienceSteps",
    "descale_triggers",
    "fix_time_offset",
    "is_science_lb",
    "obt_range",
    "process_science_lb",
    "product_version",
    "same_packets",
    "science_l0_path",
    "science_l1_path",
    "science_lb_step",
    "write_science_file",
]
