"""Post-fit of the ECC result: refine gain and offset per pixel with the Ba-133 lines.

ECC calibrates each pixel's spectrum into energy (``spec_all_erg.fits``). In that calibrated
spectrum (divided by the live time) two Ba-133 features are fitted per pixel with
:func:`scipy.optimize.curve_fit` (least squares, no weights):

* **81 keV line**: Gaussian + straight line on ``80.5 < E < 90`` keV, start values amplitude 10,
  centre 81, width (sigma) 0.5, slope 0, intercept 0. Accepted when the fit converges with finite
  uncertainties of amplitude, centre and width, a positive amplitude and ``|centre − 81| < 1``.
* **31 keV Kα complex**: Gaussian + quadratic on ``30.2 < E < 33`` ∪ ``40 < E < 45`` keV (the
  right flank of the line plus a baseline region), start values amplitude 10, centre 30.6,
  width 0.4, quadratic terms 0. Accepted under the same conditions with ``|centre − 31| < 1``
  and only if the 81 keV fit was accepted.

Two additions to the STIXCore procedure (lmfit there, :func:`curve_fit` here): a fit must have a
positive amplitude (from the fixed start values the 31 keV fit occasionally converges to a
negative "dip" at the window edge, which STIXCore accepts), and a rejected fit is retried once
from the data's own maximum in the line part of the window (height, position; same width).

With the fitted positions ``P81``, ``P31`` (keV on the ECC scale) and the Kα reference energy
``E31 = (30.6254·33.8 + 30.9731·62.4) / (62.4 + 33.8)`` (intensity-weighted Kα2/Kα1)::

    G' = (P81 − P31) / (80.9979 − E31)        O' = P31 − G'·E31

and when both fits are accepted ``Gain_Cor = Gain_ECC·G'``, ``Offset_Cor = Gain_ECC·O' + Offset_ECC``;
otherwise the ECC values are kept. (A failed pixel has ``P = 0`` and therefore ``G' = 0``, which the
gain-range check then flags.) Widths are reported as FWHM = 2.35·sigma.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from stix_lib.cal.ecc_inputs import N_DETECTORS, N_PIXELS, N_SPECTRA

E81 = 80.9979
E31 = (30.6254 * 33.8 + 30.9731 * 62.4) / (62.4 + 33.8)
FWHM_PER_SIGMA = 2.35


class PostFitError(ValueError):
    """An ECC result file cannot be used; the message names the file and the reason."""


def gaussian(x: np.ndarray, amp: float, cen: float, wid: float) -> np.ndarray:
    """``amp · exp(−(x − cen)² / (2 wid²))``."""
    return amp * np.exp(-((x - cen) ** 2) / (2 * wid**2))


def _gauss_line(x: np.ndarray, amp: float, cen: float, wid: float, slope: float, intercept: float) -> np.ndarray:
    return gaussian(x, amp, cen, wid) + slope * x + intercept


def _gauss_quadratic(
    x: np.ndarray, amp: float, cen: float, wid: float, curvature: float, slope: float, intercept: float
) -> np.ndarray:
    return gaussian(x, amp, cen, wid) + curvature * x * x + slope * x + intercept


@dataclass(frozen=True)
class LineFit:
    """One accepted or rejected line fit (zeros when rejected)."""

    ok: bool
    position: float = 0.0
    position_err: float = 0.0
    fwhm: float = 0.0
    fwhm_err: float = 0.0
    height: float = 0.0


def _fit_once(model, x: np.ndarray, y: np.ndarray, p0: list[float], expected: float) -> LineFit:
    from scipy.optimize import OptimizeWarning, curve_fit  # only runs with an ECC fit import scipy

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            params, cov = curve_fit(model, x, y, p0=p0, maxfev=5000)
    except (RuntimeError, ValueError, TypeError):
        return LineFit(False)
    amp, cen, wid = params[:3]
    errors = np.sqrt(np.abs(np.diag(cov))) if cov is not None else np.full(len(params), np.inf)
    if not np.all(np.isfinite(errors[:3])) or amp <= 0 or wid == 0 or abs(cen - expected) >= 1.0:
        return LineFit(False)
    return LineFit(
        True,
        position=float(cen),
        position_err=float(errors[1]),
        fwhm=float(abs(wid) * FWHM_PER_SIGMA),
        fwhm_err=float(errors[2] * FWHM_PER_SIGMA),
        height=float(amp),
    )


def _fit(model, x: np.ndarray, y: np.ndarray, p0: list[float], expected: float, line: np.ndarray) -> LineFit:
    """Fit from the specified start values; if rejected, once more from the data's own peak."""
    if x.size <= len(p0) or not np.all(np.isfinite(y)):
        return LineFit(False)
    result = _fit_once(model, x, y, p0, expected)
    if result.ok or not line.any():
        return result
    peak = int(np.argmax(np.where(line, y, -np.inf)))
    retry = [float(y[peak]), float(x[peak]), p0[2], *([0.0] * (len(p0) - 3))]
    return _fit_once(model, x, y, retry, expected)


def fit_ba133_lines(energy: np.ndarray, rate: np.ndarray) -> tuple[LineFit, LineFit]:
    """Fit the 31 keV and 81 keV Ba-133 features of one pixel; returns ``(fit31, fit81)``."""
    energy = np.asarray(energy, dtype=np.float64)
    rate = np.asarray(rate, dtype=np.float64)
    window81 = (energy > 80.5) & (energy < 90.0)
    x81 = energy[window81]
    fit81 = _fit(_gauss_line, x81, rate[window81], [10.0, 81.0, 0.5, 0.0, 0.0], 81.0, x81 < 83.0)
    window31 = ((energy > 30.2) & (energy < 33.0)) | ((energy > 40.0) & (energy < 45.0))
    x31 = energy[window31]
    fit31 = _fit(_gauss_quadratic, x31, rate[window31], [10.0, 30.6, 0.4, 0.0, 0.0, 0.0], 31.0, x31 < 33.0)
    if not fit81.ok:
        fit31 = LineFit(False)
    return fit31, fit81


@dataclass(frozen=True)
class PostFitResult:
    """Per-pixel post-fit table; every array has 384 entries, pixel ``k = (DET−1)·12 + PIX``.

    Attributes
    ----------
    det, pix
        Detector 1–32 and pixel 0–11.
    p31, err_p31, de31, err_de31, h31, flag31
        31 keV fit: position, its error, FWHM, its error, height, accepted.
    p81, err_p81, de81, err_de81, h81, flag81
        81 keV fit, the same.
    gain_prime, offset_prime
        Correction factors G', O'.
    gain_ecc, offset_ecc, goc
        ECC values (channels per keV, channels, goodness).
    gain_cor, offset_cor
        Final values (post-fit corrected where both fits were accepted).
    """

    det: np.ndarray
    pix: np.ndarray
    p31: np.ndarray
    err_p31: np.ndarray
    de31: np.ndarray
    err_de31: np.ndarray
    h31: np.ndarray
    flag31: np.ndarray
    p81: np.ndarray
    err_p81: np.ndarray
    de81: np.ndarray
    err_de81: np.ndarray
    h81: np.ndarray
    flag81: np.ndarray
    gain_prime: np.ndarray
    offset_prime: np.ndarray
    gain_ecc: np.ndarray
    offset_ecc: np.ndarray
    goc: np.ndarray
    gain_cor: np.ndarray
    offset_cor: np.ndarray

    @property
    def corrected(self) -> np.ndarray:
        """Pixels whose ECC values were replaced by the post-fit."""
        return self.flag31 & self.flag81

    def grid(self, name: str) -> np.ndarray:
        """An attribute reshaped to ``(32, 12)`` (detector, pixel)."""
        return np.asarray(getattr(self, name)).reshape(N_DETECTORS, N_PIXELS)


def read_ecc_parameters(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(gain, off, goc)`` from ``ECC_para.fits`` (first extension, 384 rows, column names case-insensitive).

    Raises
    ------
    PostFitError
        If the file, the columns or the 384 rows are missing.
    """
    try:
        with fits.open(path, memmap=False) as hdul:
            table = hdul[1].data
            names = {name.lower(): name for name in table.columns.names}
            values = [np.asarray(table[names[key]], dtype=np.float32).ravel() for key in ("gain", "off", "goc")]
    except (OSError, IndexError, KeyError, TypeError, AttributeError) as exc:
        raise PostFitError(f"{path}: not an ECC parameter file with gain/off/goc columns: {exc!r}") from exc
    if any(v.size != N_SPECTRA for v in values):
        raise PostFitError(f"{path}: expected {N_SPECTRA} rows, got {[v.size for v in values]}")
    return values[0], values[1], values[2]


def read_energy_spectra(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(energy centres, spectra[384, n])`` from ``spec_all_erg.fits``.

    The first extension holds ``ERG_center`` (keV) and, from its fourth column on, one column per
    pixel in pixel order ``k``.

    Raises
    ------
    PostFitError
        If the file, ``ERG_center`` or the 384 pixel columns are missing.
    """
    try:
        with fits.open(path, memmap=False) as hdul:
            table = hdul[1].data
            names = list(table.columns.names)
            lookup = {name.lower(): name for name in names}
            energy = np.asarray(table[lookup["erg_center"]], dtype=np.float64)
            pixel_names = names[3:]
            if len(pixel_names) != N_SPECTRA:
                raise PostFitError(f"{path}: {len(pixel_names)} pixel columns after the 3 energy columns, expected 384")
            spectra = np.vstack([np.asarray(table[name], dtype=np.float64) for name in pixel_names])
    except PostFitError:
        raise
    except (OSError, IndexError, KeyError, TypeError, AttributeError) as exc:
        raise PostFitError(f"{path}: not an ECC energy-spectra file with ERG_center: {exc!r}") from exc
    return energy, spectra


def post_fit(
    energy: np.ndarray,
    spectra: np.ndarray,
    livetime: float,
    gain_ecc: np.ndarray,
    offset_ecc: np.ndarray,
    goc: np.ndarray,
) -> PostFitResult:
    """Run the Ba-133 post-fit for all 384 pixels (see the module docstring).

    Parameters
    ----------
    energy
        Energy grid of the calibrated spectra (keV).
    spectra
        ``(384, len(energy))`` calibrated counts.
    livetime
        Live time of the accumulation (s); the fits run on ``counts / livetime``.
    gain_ecc, offset_ecc, goc
        ECC results per pixel.
    """
    if livetime <= 0:
        raise ValueError(f"live time must be positive, got {livetime}")
    fits31, fits81 = zip(*(fit_ba133_lines(energy, spectra[k] / livetime) for k in range(N_SPECTRA)), strict=True)

    def column(items, attr, dtype=np.float64):
        return np.array([getattr(item, attr) for item in items], dtype=dtype)

    p31, p81 = column(fits31, "position"), column(fits81, "position")
    gain_prime = (p81 - p31) / (E81 - E31)
    offset_prime = p31 - gain_prime * E31
    flag31, flag81 = column(fits31, "ok", bool), column(fits81, "ok", bool)
    good = flag31 & flag81
    gain_ecc64 = np.asarray(gain_ecc, dtype=np.float64)
    offset_ecc64 = np.asarray(offset_ecc, dtype=np.float64)
    gain_cor = np.where(good, gain_ecc64 * gain_prime, gain_ecc64)
    offset_cor = np.where(good, gain_ecc64 * offset_prime + offset_ecc64, offset_ecc64)
    return PostFitResult(
        det=np.repeat(np.arange(1, N_DETECTORS + 1), N_PIXELS),
        pix=np.tile(np.arange(N_PIXELS), N_DETECTORS),
        p31=p31,
        err_p31=column(fits31, "position_err"),
        de31=column(fits31, "fwhm"),
        err_de31=column(fits31, "fwhm_err"),
        h31=column(fits31, "height"),
        flag31=flag31,
        p81=p81,
        err_p81=column(fits81, "position_err"),
        de81=column(fits81, "fwhm"),
        err_de81=column(fits81, "fwhm_err"),
        h81=column(fits81, "height"),
        flag81=flag81,
        gain_prime=gain_prime,
        offset_prime=offset_prime,
        gain_ecc=gain_ecc64,
        offset_ecc=offset_ecc64,
        goc=np.asarray(goc, dtype=np.float64),
        gain_cor=gain_cor,
        offset_cor=offset_cor,
    )


def post_fit_files(energy_spectra: Path, parameters: Path, livetime: float) -> PostFitResult:
    """:func:`post_fit` on ``spec_all_erg.fits`` and ``ECC_para.fits``."""
    energy, spectra = read_energy_spectra(energy_spectra)
    gain, offset, goc = read_ecc_parameters(parameters)
    return post_fit(energy, spectra, livetime, gain, offset, goc)
