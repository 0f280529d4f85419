"""Compare a product's layout with the reference product of the same type.

Rules (``error`` fails the product, ``info`` is only reported):

* every reference HDU must exist (``missing-hdu``); extra HDUs and a different order are info;
* every reference column must exist with the same logical dtype (``dtype``: TFORM letter plus
  TZERO, so ``J`` and ``J``+``TZERO=2**31`` differ) and the same unit (``unit``: compared as
  astropy units, so ``count`` equals ``ct``; unparsable units compare as text);
* a different width of the same integer kind (``uint8`` vs ``uint16``) is info (``int-width``):
  STIXCore stores counts, triggers and similar columns in the smallest unsigned type that holds
  the values, so the width follows the data; signed vs unsigned, integer vs float, bool vs
  integer remain errors;
* repeat counts / ``TDIM`` differences are info (they follow the data: number of energies,
  pixels, detectors of a request);
* the documented changes since the V01 references (:data:`KNOWN_V01_CHANGES`, e.g. the L1 unit
  fixes of the calibration spectra) are info (``expected-change``);
* every primary keyword of the reference must be present (``missing-keyword``); extra keywords
  are info;
* the V01 references name error columns ``<x>_err``; current products use ``<x>_comp_err``
  (STIXCore #311). A reference ``<x>_err`` matched by a product ``<x>_comp_err`` is the
  ``expected-rename`` info, and its dtype/unit are compared as for any column;
* likewise the science requests' (``sci-*``) V01 ``energy_bin_mask`` is ``energy_bin_edge_mask``
  now (:data:`~stix_lib.validate.v01.V01_SCIENCE_RENAMES`); only for science descriptors and only
  when the product has no column of the reference name (``ql-variance`` keeps its 32-element
  ``energy_bin_mask``); the different length (32 vs 33 edges) is the usual ``shape`` info.
"""

from __future__ import annotations

from astropy import units as u

from stix_lib.validate.layout import ColumnLayout, HduLayout, ProductLayout
from stix_lib.validate.report import FileReport
from stix_lib.validate.v01 import V01_SCIENCE_RENAMES

ERR_SUFFIX = "_err"
COMP_ERR_SUFFIX = "_comp_err"
#: Checksum keywords are bookkeeping; they are still required (the references carry them).
_BLANK_UNITS = {"", "none"}
_UNSIGNED = {"uint8", "uint16", "uint32", "uint64"}
_SIGNED = {"int8", "int16", "int32", "int64"}

#: Column changes between the V01 references and current products that are expected, keyed by
#: ``(descriptor, HDU, column)``: ``{"unit": (V01, now), "dtype": (V01, now)}`` plus the reason.
KNOWN_V01_CHANGES: dict[tuple[str, str, str], dict[str, tuple[str, str] | str]] = {
    ("cal-energy", "CONTROL", "quiet_time"): {
        "unit": ("s", "us"),
        "reason": "L1 unit fix of the calibration spectra: quiet time in microseconds (STIXCore #432)",
    },
    ("cal-energy", "CONTROL", "live_time"): {
        "dtype": ("float64", "uint32"),
        "reason": "L1 unit fix of the calibration spectra: live time as integer milliseconds (STIXCore #432)",
    },
}


def _units_equal(a: str, b: str) -> bool:
    if a.strip().lower() in _BLANK_UNITS or b.strip().lower() in _BLANK_UNITS:
        return a.strip().lower() in _BLANK_UNITS and b.strip().lower() in _BLANK_UNITS
    try:
        return u.Unit(a, format="fits", parse_strict="raise") == u.Unit(b, format="fits", parse_strict="raise")
    except ValueError:
        try:
            return u.Unit(a) == u.Unit(b)
        except ValueError:
            return a.strip() == b.strip()


def _renamed(name: str, descriptor: str | None = None) -> str | None:
    """The current name of a renamed V01 column of a ``descriptor`` product (``counts_err`` → ``counts_comp_err``).

    The science renames (:data:`V01_SCIENCE_RENAMES`) apply to ``sci-*`` descriptors only.
    """
    if (descriptor or "").startswith("sci-") and name in V01_SCIENCE_RENAMES:
        return V01_SCIENCE_RENAMES[name]
    if name.endswith(ERR_SUFFIX) and not name.endswith(COMP_ERR_SUFFIX):
        return name[: -len(ERR_SUFFIX)] + COMP_ERR_SUFFIX
    return None


def _same_integer_kind(a: str, b: str) -> bool:
    return (a in _UNSIGNED and b in _UNSIGNED) or (a in _SIGNED and b in _SIGNED)


def _compare_column(
    report: FileReport, hdu: str, ref: ColumnLayout, col: ColumnLayout, descriptor: str | None = None
) -> None:
    where = f"{hdu}.{col.name}"
    known = KNOWN_V01_CHANGES.get((descriptor or "", hdu, ref.name), {})
    if ref.dtype != col.dtype:
        what = f"{where}: dtype {col.dtype} (TFORM {col.tform}) differs from reference {ref.dtype} (TFORM {ref.tform})"
        if known.get("dtype") == (ref.dtype, col.dtype):
            report.info("expected-change", f"{what}: {known['reason']}")
        elif _same_integer_kind(ref.dtype, col.dtype):
            report.info("int-width", f"{what} (integer width follows the data)")
        else:
            report.error("dtype", what)
    if ref.dtype == col.dtype and ref.code != "A" and (ref.repeat != col.repeat or ref.dim != col.dim):
        mine = " ".join(filter(None, (col.tform, col.dim)))
        theirs = " ".join(filter(None, (ref.tform, ref.dim)))
        report.info("shape", f"{where}: shape {mine} vs reference {theirs} (data dependent)")
    if not _units_equal(ref.unit, col.unit):
        what = f"{where}: unit {col.unit or '(none)'!r} differs from reference {ref.unit or '(none)'!r}"
        expected = known.get("unit")
        if isinstance(expected, tuple) and _units_equal(expected[0], ref.unit) and _units_equal(expected[1], col.unit):
            report.info("expected-change", f"{what}: {known['reason']}")
        else:
            report.error("unit", what)


def _compare_hdu(report: FileReport, ref: HduLayout, hdu: HduLayout, descriptor: str | None) -> None:
    names = {c.name for c in hdu.columns}
    matched: set[str] = set()
    for ref_col in ref.columns:
        col = hdu.column(ref_col.name)
        if col is None:
            new_name = _renamed(ref_col.name, descriptor)
            col = hdu.column(new_name) if new_name else None
            if col is None:
                report.error("missing-column", f"{ref.name}: column {ref_col.name!r} is missing")
                continue
            report.info(
                "expected-rename", f"{ref.name}: reference column {ref_col.name!r} is {col.name!r} (V01 rename)"
            )
        matched.add(col.name)
        _compare_column(report, ref.name, ref_col, col, descriptor)
    for extra in sorted(names - matched):
        report.info("extra-column", f"{hdu.name}: extra column {extra!r}")


def compare_layouts(
    report: FileReport, product: ProductLayout, reference: ProductLayout, descriptor: str | None = None
) -> None:
    """Add the layout differences of ``product`` against ``reference`` to ``report``.

    ``descriptor`` (``cal-energy`` …) selects the :data:`KNOWN_V01_CHANGES` that apply.
    """
    for ref_hdu in reference.hdus:
        hdu = product.hdu(ref_hdu.name)
        if hdu is None:
            report.error("missing-hdu", f"HDU {ref_hdu.name} is missing")
            continue
        if hdu.kind != ref_hdu.kind:
            report.error("hdu-kind", f"HDU {hdu.name} is a {hdu.kind}, reference a {ref_hdu.kind}")
            continue
        _compare_hdu(report, ref_hdu, hdu, descriptor)
    ref_names = reference.hdu_names
    extra_hdus = [name for name in product.hdu_names if name not in ref_names]
    for name in extra_hdus:
        report.info("extra-hdu", f"extra HDU {name}")
    common = [name for name in product.hdu_names if name in ref_names]
    if common != [name for name in ref_names if name in common]:
        report.info("hdu-order", f"HDU order {product.hdu_names} differs from reference {ref_names}")

    present = set(product.primary_keywords)
    missing = [key for key in reference.primary_keywords if key not in present]
    for key in missing:
        report.error("missing-keyword", f"primary keyword {key} is missing")
    reference_keys = set(reference.primary_keywords)
    extra = [key for key in product.primary_keywords if key not in reference_keys]
    if extra:
        report.info("extra-keywords", f"primary keywords not in the reference: {', '.join(extra)}")
