"""Finishing incomplete (``U``) products in the archive before they are published.

Daily products are written as *incomplete* (``…_V02U.fits``) while telemetry is still being
merged into them, with observer keywords computed from predicted + flown SPICE kernels. Before
publishing, :func:`finalize_incomplete`

* FITS of level L1, L2 or ANC: recomputes the observer keywords (``SPICE_MK``, ``RSUN_ARC``,
  ``HGLN_OBS`` … ``DATE_SUN``, :func:`stix_lib.spice.spice_fits_keywords`) with the **flown** meta
  kernel only (the latest flown MK of the kernel tree, or an explicitly chosen MK), drops a stale
  ``SPICE_ER`` and adds a HISTORY line;
* every FITS (L0 too — STIXCore left the ``U`` in L0 ``FILENAME``): sets ``FILENAME`` to the
  complete name;
* writes the result under the complete name in the same folder (temporary file + rename, so it
  replaces a complete twin atomically) and removes the ``U`` file. SVG files are just renamed.

A crash between the rename and the removal leaves both names; the next run finalises the ``U``
file again, with the same result.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from astropy.io import fits

from stix_lib.publish.fitsedit import fsync_dir, rewrite_fits, utc_iso
from stix_lib.publish.product_name import ProductName
from stix_lib.spice.fits_keywords import spice_fits_keywords
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.spice.meta_kernels import MetaKernels
from stix_lib.time.scet import SCETime

#: Levels whose headers carry SPICE observer keywords.
EPHEMERIS_LEVELS = frozenset({"L1", "L2", "ANC"})

KernelsProvider = Callable[[], SpiceKernels]


class ExplicitMetaKernel(SpiceKernels):
    """:class:`SpiceKernels` that loads one given meta kernel instead of the latest of a tree.

    The kernel tree is the folder above the MK's ``mk`` folder (SOC layout, ``PATH_VALUES`` is
    relative to ``mk``). The MK is reported as the flown one.
    """

    def __init__(self, meta_kernel: Path, work_dir: Path | None = None) -> None:
        self.meta_kernel = Path(meta_kernel).resolve()
        if not self.meta_kernel.is_file():
            raise FileNotFoundError(f"meta kernel {self.meta_kernel} does not exist")
        super().__init__(self.meta_kernel.parent.parent, work_dir, use_predicted=False)

    def _select(self) -> tuple[MetaKernels, tuple[Path, ...]]:
        return MetaKernels(self.kernel_dir, None, self.meta_kernel), (self.meta_kernel,)


def flown_kernels(
    kernel_dir: Path | None, *, meta_kernel: Path | None = None, work_dir: Path | None = None
) -> SpiceKernels:
    """The kernels for ephemeris refreshes: ``meta_kernel`` if given, else the latest flown MK of ``kernel_dir``.

    Nothing is loaded until first use.
    """
    if meta_kernel is not None:
        return ExplicitMetaKernel(meta_kernel, work_dir)
    if kernel_dir is None:
        raise ValueError("need a kernel directory or a meta kernel")
    return SpiceKernels(Path(kernel_dir), work_dir, use_predicted=False)


def _times(header: fits.Header) -> tuple[object, np.datetime64]:
    """Start (SCETime from ``OBT_BEG``, else ``DATE-BEG``) and centre (``DATE-AVG``, else mid ``DATE-BEG/END``)."""
    obt = header.get("OBT_BEG")
    if isinstance(obt, int | float) and not isinstance(obt, bool):
        start: object = SCETime.from_float(float(obt))
    elif isinstance(obt, str) and ":" in obt:
        coarse, fine = obt.split(":", 1)
        start = SCETime(int(coarse), int(fine))
    elif header.get("DATE-BEG"):
        start = np.datetime64(str(header["DATE-BEG"]), "ns")
    else:
        raise ValueError("no OBT_BEG or DATE-BEG to compute the ephemeris for")
    if header.get("DATE-AVG"):
        return start, np.datetime64(str(header["DATE-AVG"]), "ns")
    if header.get("DATE-BEG") and header.get("DATE-END"):
        begin = np.datetime64(str(header["DATE-BEG"]), "ns")
        end = np.datetime64(str(header["DATE-END"]), "ns")
        return start, begin + (end - begin) / 2
    raise ValueError("no DATE-AVG or DATE-BEG/DATE-END to compute the ephemeris for")


def _fitting_comment(key: str, value: object, comment: str) -> str:
    """``comment`` if it fits on the card next to the value, else empty (long SPICE_MK lists)."""
    image = fits.Card(key, value).image.rstrip()
    return comment if len(image) <= 80 and len(image) + 3 + len(comment) <= 80 else ""


def refresh_ephemeris(header: fits.Header, kernels: SpiceKernels, now: datetime) -> None:
    """Recompute the observer keywords of a primary header in place with ``kernels``."""
    start, average = _times(header)
    keywords = spice_fits_keywords(kernels, start, average)
    if "SPICE_ER" in header and all(key != "SPICE_ER" for key, _, _ in keywords):
        del header["SPICE_ER"]
    for key, value, comment in keywords:
        header[key] = (value, _fitting_comment(key, value, comment))
    used = ", ".join(kernels.meta_kernel_names)
    header.add_history(f"updated ephemeris header with flown kernel {used} at {utc_iso(now)}")


def finalize_incomplete(path: Path, now: datetime, kernels: KernelsProvider | None = None) -> Path:
    """Turn an incomplete archive file into its complete name (see the module docstring).

    Parameters
    ----------
    path
        The ``U`` file.
    now
        Time for the HISTORY note.
    kernels
        Returns the flown kernels; called only for L1/L2/ANC FITS.

    Returns
    -------
    pathlib.Path
        The complete file.

    Raises
    ------
    ValueError
        If ``path`` is not incomplete, or an L1/L2/ANC file needs kernels and none were given.
    """
    path = Path(path)
    name = ProductName.parse(path.name)
    if not name.incomplete:
        raise ValueError(f"{path.name} is not an incomplete (U) product")
    final = path.with_name(name.complete().name)
    if not name.is_fits:
        os.replace(path, final)
        fsync_dir(final.parent)
        return final
    ephemeris = name.level.upper() in EPHEMERIS_LEVELS
    if ephemeris and kernels is None:
        raise ValueError(f"{path.name}: refreshing the ephemeris of a {name.level} product needs SPICE kernels")
    loaded = kernels() if ephemeris and kernels is not None else None

    def edit(hdul: fits.HDUList) -> None:
        header = hdul[0].header
        header["FILENAME"] = final.name
        if loaded is not None:
            refresh_ephemeris(header, loaded, now)

    rewrite_fits(path, final, edit)
    path.unlink()
    fsync_dir(final.parent)
    return final
