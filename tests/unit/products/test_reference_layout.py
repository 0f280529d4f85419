"""Our L1 files have the layout of the real STIXCore L1 reference files, type by type.

Compared per type: HDU names; the primary keywords (all 68 of the reference present); per
extension the column names in order (reference ``*_err`` = our ``*_comp_err``), FITS format
codes, array dimensions, ``TZERO`` and units. Accepted differences, all listed here:

* string widths (``nA``) depend on the values;
* columns stored in the smallest unsigned type that holds their values (triggers, variance,
  calibration counts; quick-look ``index``/``control_index``) may use another unsigned size;
* calibration spectra: ``quiet_time`` in us and ``live_time`` as uint32 ms (the L1 unit fixes
  of the current pipeline; the V01 references predate them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from astropy.io import fits

NEWER_KEYWORDS = {"VERS_CFG", "SCI_RID", "SCI_TCC", "XPOMAX", "SPICE_ER", "BLANK"}  # BLANK: spec §6.2
UNSIGNED = {"B": None, "I": 32768, "J": 2**31, "K": 2**63}
VALUE_SIZED = {"triggers", "variance", "counts", "index", "control_index"}
DEVIATIONS = {
    ("cal-energy", "CONTROL", "quiet_time"): ("D", None, None, "us"),
    ("cal-energy", "CONTROL", "live_time"): ("J", 2**31, None, "ms"),
}


def _reference(reference_data: Path, descriptor: str) -> Path:
    return next((reference_data / "reference" / "l1").glob(f"solo_L1_stix-{descriptor}_*.fits"))


def _layout(column: fits.Column) -> tuple:
    unit = (column.unit or "").strip() or None
    return (column.format, column.bzero, column.dim, unit)


@pytest.mark.parametrize(
    "descriptor",
    [
        "ql-lightcurve",
        "ql-background",
        "ql-spectra",
        "ql-variance",
        "ql-flareflag",
        "ql-ql-tmstatusflarelist",
        "cal-energy",
        "hk-maxi",
    ],
)
def test_layout_matches_reference(descriptor: str, our_files: dict, reference_data: Path) -> None:
    ours = our_files["L1"][descriptor]
    with fits.open(_reference(reference_data, descriptor)) as ref, fits.open(ours) as mine:
        assert [h.name for h in mine] == [h.name for h in ref]
        ref_keys = [k for k in ref[0].header if k not in ("HISTORY", "COMMENT")]
        assert len(ref_keys) == 68
        my_keys = [k for k in mine[0].header if k not in ("HISTORY", "COMMENT")]
        assert set(ref_keys) <= set(my_keys)
        assert set(my_keys) - set(ref_keys) <= NEWER_KEYWORDS
        order = [k for k in my_keys if k in ref_keys]
        assert order == ref_keys  # same relative order
        for hdu in [h.name for h in ref][1:]:
            ref_columns = {
                c.name.removesuffix("_err") + "_comp_err" if c.name.endswith("_err") else c.name: c
                for c in ref[hdu].columns
            }
            my_columns = {c.name: c for c in mine[hdu].columns}
            assert list(my_columns) == list(ref_columns), hdu
            for name, ref_column in ref_columns.items():
                got, want = _layout(my_columns[name]), _layout(ref_column)
                if (descriptor, hdu, name) in DEVIATIONS:
                    assert got == DEVIATIONS[(descriptor, hdu, name)]
                    continue
                if want[0].endswith("A"):
                    assert got[0].endswith("A"), name
                    continue
                if name in VALUE_SIZED and (want[0][-1] == "B" or want[1] is not None):
                    letter = got[0][-1]
                    assert letter in UNSIGNED and got[1] == UNSIGNED[letter], name
                    assert got[0][:-1] == want[0][:-1] and got[2:] == want[2:], name
                    continue
                assert got == want, f"{hdu}.{name}: {got} != {want}"
