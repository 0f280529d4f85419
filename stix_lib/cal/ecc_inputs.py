"""Input files of the external ECC programs, written from one calibration spectrum.

A calibration spectrum is ``counts[detector, pixel, channel]`` of shape ``(32, 12, 1024)``
(1024 ADC channels of the on-board calibration spectrum). Pixel ``k = detector * 12 + pixel``.

``spec_all.fits`` (read by ``STX_Calib``)
    * ``RATE``: 384 rows — ``DETECTOR_ID`` (uint8, 0–31), ``PIXEL_ID`` (uint8, 0–11),
      ``SUBSPEC_ID`` (uint8, 0), ``NUM_POINTS`` (int16, 1024), ``COUNTS`` (1024 × int32);
    * ``TOTAL_RATE``: 1 row — ``NUM_POINTS`` (int16, 1024), ``COUNTS`` (1024 × int32, the sum
      over all detectors and pixels).

``<L1 name>_ecc_in.fits`` (read by ``ECC --f_obs``)
    * ``SPEC_ECC``: 1024 rows (one per channel) — ``PHA_A`` (channel lower edge), ``PHA_center``
      (+0.5), ``PHA_B`` (+1), all float32 in ``adu``, then ``ch000`` … ``ch383`` (float32 counts of
      pixel ``k``).

Both are written with checksums.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

N_DETECTORS, N_PIXELS, N_CHANNELS = 32, 12, 1024
N_SPECTRA = N_DETECTORS * N_PIXELS
SPECTRUM_SHAPE = (N_DETECTORS, N_PIXELS, N_CHANNELS)


def _check(spectrum: np.ndarray) -> np.ndarray:
    spectrum = np.asarray(spectrum)
    if spectrum.shape != SPECTRUM_SHAPE:
        raise ValueError(f"calibration spectrum has shape {spectrum.shape}, expected {SPECTRUM_SHAPE}")
    return spectrum


def spec_all_hdus(spectrum: np.ndarray) -> fits.HDUList:
    """``spec_all.fits`` content for a ``(32, 12, 1024)`` spectrum."""
    spectrum = _check(spectrum)
    rate = fits.BinTableHDU.from_columns(
        [
            fits.Column("DETECTOR_ID", "B", array=np.repeat(np.arange(N_DETECTORS), N_PIXELS).astype(np.uint8)),
            fits.Column("PIXEL_ID", "B", array=np.tile(np.arange(N_PIXELS), N_DETECTORS).astype(np.uint8)),
            fits.Column("SUBSPEC_ID", "B", array=np.zeros(N_SPECTRA, dtype=np.uint8)),
            fits.Column("NUM_POINTS", "I", array=np.full(N_SPECTRA, N_CHANNELS, dtype=np.int16)),
            fits.Column("COUNTS", f"{N_CHANNELS}J", array=spectrum.reshape(N_SPECTRA, N_CHANNELS).astype(np.int32)),
        ],
        name="RATE",
    )
    total = fits.BinTableHDU.from_columns(
        [
            fits.Column("NUM_POINTS", "I", array=np.array([N_CHANNELS], dtype=np.int16)),
            fits.Column("COUNTS", f"{N_CHANNELS}J", array=spectrum.sum(axis=(0, 1)).astype(np.int32)[None, :]),
        ],
        name="TOTAL_RATE",
    )
    return fits.HDUList([fits.PrimaryHDU(), rate, total])


def ecc_input_hdus(spectrum: np.ndarray) -> fits.HDUList:
    """``<name>_ecc_in.fits`` content for a ``(32, 12, 1024)`` spectrum."""
    spectrum = _check(spectrum)
    channels = np.arange(N_CHANNELS, dtype=np.float32)
    columns = [
        fits.Column("PHA_A", "E", unit="adu", array=channels),
        fits.Column("PHA_center", "E", unit="adu", array=channels + np.float32(0.5)),
        fits.Column("PHA_B", "E", unit="adu", array=channels + np.float32(1.0)),
    ]
    per_pixel = spectrum.reshape(N_SPECTRA, N_CHANNELS).astype(np.float32)
    columns += [fits.Column(f"ch{k:03d}", "E", array=per_pixel[k]) for k in range(N_SPECTRA)]
    return fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns, name="SPEC_ECC")])


def ecc_input_name(l1_name: str) -> str:
    """``solo_L1_stix-cal-energy_…fits`` → ``solo_L1_stix-cal-energy_…_ecc_in.fits``."""
    if not l1_name.endswith(".fits"):
        raise ValueError(f"not a FITS file name: {l1_name!r}")
    return l1_name[: -len(".fits")] + "_ecc_in.fits"


def write_ecc_inputs(spectrum: np.ndarray, workdir: Path, l1_name: str) -> tuple[Path, Path]:
    """Write ``spec_all.fits`` and ``<l1_name>_ecc_in.fits`` into ``workdir``; returns both paths."""
    workdir = Path(workdir)
    spec_all = workdir / "spec_all.fits"
    ecc_in = workdir / ecc_input_name(l1_name)
    spec_all_hdus(spectrum).writeto(spec_all, overwrite=True, checksum=True)
    ecc_input_hdus(spectrum).writeto(ecc_in, overwrite=True, checksum=True)
    return spec_all, ecc_in
