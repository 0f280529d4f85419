"""Fake ECC programs and a synthetic Ba-133 L1 cal-energy file for the CAL tests (fixtures).

The fake programs stand in for the external ECC software (not available here) and behave like
it as far as the pipeline can tell:

* ``Bkg`` checks that it runs inside a copy of the ECC configuration and writes ``Bkg.dat``;
* ``ECC --f_obs <file>`` reads ``SPEC_ECC``, locates the 31 keV and 81 keV Ba-133 features of every
  pixel (centroid around the maximum) and writes ``ECC_para.fits`` with a deliberately *biased*
  gain (+0.8 %) and offset (−1.5 channels), so that the post-fit has something to correct;
* ``STX_Calib spec_all.fits ECC_para.fits[1]`` rebins every pixel of ``RATE`` onto a 0.1 keV
  energy grid (2024 bins) with the ECC gain/offset and writes ``spec_all_erg.fits``.

``FAKE_ECC_MODE=fail`` makes ``ECC`` exit 3; ``FAKE_ECC_MODE=hang`` makes it sleep.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from scipy.special import erf

REFERENCE_CAL = "solo_L1_stix-cal-energy_20200506_V01.fits"
LIVE_TIME_S = 2000.0

#: Ba-133 lines (keV, relative intensity) used for the synthetic spectra.
BA133_LINES = (
    (30.6254, 0.338),
    (30.9731, 0.624),
    (34.95, 0.18),
    (35.82, 0.05),
    (53.16, 0.0214),
    (79.61, 0.0265),
    (80.9979, 0.329),
)

_COMMON = r"""
import sys, os
from pathlib import Path
import numpy as np
from astropy.io import fits
"""

BKG = (
    _COMMON
    + r"""
if not Path("Bkg.cfg").is_file():
    sys.exit("Bkg: no Bkg.cfg in the working directory")
np.savetxt("Bkg.dat", np.c_[np.arange(10.0), np.ones(10)])
"""
)

ECC = (
    _COMMON
    + r"""
mode = os.environ.get("FAKE_ECC_MODE", "")
if mode == "fail":
    sys.stderr.write("ECC: grid search diverged\n")
    sys.exit(3)
if mode == "hang":
    import time
    time.sleep(120)
if sys.argv[1:2] != ["--f_obs"] or len(sys.argv) != 3:
    sys.exit(f"usage: ECC --f_obs FILE (got {sys.argv[1:]})")
if not Path("ECC.cfg").is_file():
    sys.exit("ECC: no ECC.cfg in the working directory")
with fits.open(sys.argv[2]) as hdul:
    table = hdul["SPEC_ECC"].data
    centre = np.asarray(table["PHA_center"], dtype=float)
    spectra = np.vstack([np.asarray(table[f"ch{k:03d}"], dtype=float) for k in range(384)])
E31 = (30.6254 * 33.8 + 30.9731 * 62.4) / (62.4 + 33.8)

def centroid(spectrum, lo, hi):
    peak = lo + int(np.argmax(spectrum[lo:hi]))
    window = slice(peak - 3, peak + 4)
    return float(np.sum(centre[window] * spectrum[window]) / np.sum(spectrum[window]))

gain, off = [], []
for spectrum in spectra:
    c31, c81 = centroid(spectrum, 260, 330), centroid(spectrum, 380, 460)
    g = (c81 - c31) / (80.9979 - E31)
    gain.append(g * 1.008)
    off.append(c31 - g * E31 - 1.5)
columns = [
    fits.Column("DET", "I", array=np.repeat(np.arange(1, 33), 12)),
    fits.Column("PIX", "I", array=np.tile(np.arange(12), 32)),
    fits.Column("gain", "E", array=np.array(gain, dtype=np.float32)),
    fits.Column("off", "E", array=np.array(off, dtype=np.float32)),
    fits.Column("goc", "E", array=np.full(384, 0.98, dtype=np.float32)),
]
fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns, name="ECC_PARA")]).writeto(
    "ECC_para.fits", overwrite=True
)
"""
)

STX_CALIB = (
    _COMMON
    + r"""
if len(sys.argv) != 3 or not sys.argv[2].endswith("[1]"):
    sys.exit(f"usage: STX_Calib SPEC PARA[1] (got {sys.argv[1:]})")
with fits.open(sys.argv[1]) as hdul:
    counts = np.asarray(hdul["RATE"].data["COUNTS"], dtype=float)
with fits.open(sys.argv[2][:-3]) as hdul:
    gain = np.asarray(hdul[1].data["gain"], dtype=float)
    off = np.asarray(hdul[1].data["off"], dtype=float)
edges = np.arange(2025) * 0.1
columns = [
    fits.Column("ERG_A", "E", unit="keV", array=edges[:-1]),
    fits.Column("ERG_center", "E", unit="keV", array=edges[:-1] + 0.05),
    fits.Column("ERG_B", "E", unit="keV", array=edges[1:]),
]
channel_edges = np.arange(1025, dtype=float)
for k in range(384):
    energy_of_edges = (channel_edges - off[k]) / gain[k]
    cumulative = np.concatenate([[0.0], np.cumsum(counts[k])])
    rebinned = np.diff(np.interp(edges, energy_of_edges, cumulative))
    columns.append(fits.Column(f"D{k // 12 + 1:02d}P{k % 12:02d}", "E", array=rebinned.astype(np.float32)))
fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns, name="SPEC_ERG")]).writeto(
    "spec_all_erg.fits", overwrite=True
)
"""
)


def write_program(folder: Path, name: str, body: str) -> Path:
    """An executable Python script ``folder/name`` run by this interpreter."""
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_ecc_bin(tmp_path: Path) -> Path:
    """A folder with fake ``Bkg``, ``ECC`` and ``STX_Calib`` programs."""
    folder = tmp_path / "ecc-bin"
    folder.mkdir()
    write_program(folder, "Bkg", BKG)
    write_program(folder, "ECC", ECC)
    write_program(folder, "STX_Calib", STX_CALIB)
    return folder


@dataclass(frozen=True)
class SyntheticCal:
    """A synthetic L1 cal-energy file and the calibration it was made with."""

    path: Path
    gain: np.ndarray  # (32, 12) true gain, channels (1024 scale) per keV
    offset: np.ndarray  # (32, 12) true offset, channels


def ba133_spectrum(gain: float, offset: float, rng: np.random.Generator, scale: float = 90_000.0) -> np.ndarray:
    """Poisson counts in the 1024 channels of one pixel with the given true gain/offset."""
    lo = (np.arange(1024) - offset) / gain
    hi = (np.arange(1, 1025) - offset) / gain
    expected = np.zeros(1024)
    for energy, intensity in BA133_LINES:
        sigma = (0.9 + 0.005 * energy) / 2.3548
        expected += (
            scale
            * intensity
            * 0.5
            * (erf((hi - energy) / (sigma * np.sqrt(2))) - erf((lo - energy) / (sigma * np.sqrt(2))))
        )
    centre = 0.5 * (lo + hi)
    expected += np.where(centre > 5, 60.0 * np.exp(-centre / 40.0) * (hi - lo), 0.0)
    return rng.poisson(expected)


@pytest.fixture
def synthetic_cal(reference_data: Path, tmp_path: Path) -> SyntheticCal:
    """The reference L1 cal-energy file with Ba-133 spectra of known per-pixel gain/offset."""
    from stix_lib.conf.elut import ElutIndex

    elut = ElutIndex(reference_data / "stix-conf" / "elut").elut_for("2020-05-06T18:00:00")
    rng = np.random.default_rng(20200506)
    gain = (1.0 / (4.0 * elut.gain)) * (1.0 + 0.01 * rng.standard_normal((32, 12)))
    offset = elut.offset / 4.0 + rng.normal(0.0, 2.0, (32, 12))
    folder = tmp_path / "L1" / "2020" / "05" / "06" / "CAL"
    folder.mkdir(parents=True)
    path = folder / REFERENCE_CAL
    shutil.copyfile(reference_data / "reference" / "l1" / REFERENCE_CAL, path)
    path.chmod(0o644)
    with fits.open(path, mode="update") as hdul:
        counts = hdul["DATA"].data["counts"]
        for row in range(counts.shape[0]):
            for det in range(32):
                for pix in range(12):
                    counts[row, det, pix] = ba133_spectrum(gain[det, pix], offset[det, pix], rng)
        hdul["CONTROL"].data["live_time"][:] = LIVE_TIME_S * 1000.0
    return SyntheticCal(path=path, gain=gain, offset=offset)
