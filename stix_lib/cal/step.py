"""The CAL energy-calibration step (the only L2-step output of the event pipeline).

``CalEnergyStep(settings)(l1_path) -> list[Path]`` is the orchestrator's L2 hook for L1
``cal-energy`` files. For each accumulated calibration spectrum of shape (32, 12, 1024):

1. the on-board ELUT valid over the file's time range (STIX-CONF ``elut/``, must not change
   within it) and the ECC configuration valid at the spectrum start (``ecc/``) are selected;
2. inside a private copy of the configuration, ``spec_all.fits`` and ``<L1 name>_ecc_in.fits``
   are written (:mod:`stix_lib.cal.ecc_inputs`) and ``Bkg``, ``ECC``, ``STX_Calib`` run from
   ``settings.ecc_path`` (:mod:`stix_lib.cal.ecc_runner`);
3. ``ECC_para.fits`` and ``spec_all_erg.fits`` are post-fitted with the Ba-133 lines
   (:mod:`stix_lib.cal.post_fit`);
4. the CAL product is written (:mod:`stix_lib.cal.product`); the configuration copy is removed.

When ``settings.ecc_path`` is empty or the programs are missing the step logs one line and
returns ``[]`` (no product, no error): the external ECC software is optional.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from stix_lib.cal.ecc_runner import DEFAULT_TIMEOUT_S, EccRunError, find_ecc_programs, run_ecc_programs
from stix_lib.conf.ecc import EccConfigError, EccConfigIndex, PostEccConfig
from stix_lib.conf.elut import Elut, ElutError, ElutIndex

if TYPE_CHECKING:  # pragma: no cover - typing only; astropy and the ECC steps are imported by a calibration
    from astropy import units as u
    from astropy.io import fits
    from astropy.table import Table

    from stix_lib.cal.post_fit import PostFitResult
    from stix_lib.cal.product import CalTiming
    from stix_lib.settings import Settings
    from stix_lib.spice.kernels import SpiceKernels

logger = logging.getLogger(__name__)

L1_NAME = re.compile(r"^solo_L1_stix-cal-energy_\d+_V\d+U?\.fits$")


class CalEnergyError(RuntimeError):
    """The CAL step failed for an input; the message names the L1 file and the reason."""


class SoopKeywordProvider(Protocol):
    """Anything with the SOOP manager's ``keywords`` method."""

    def keywords(self, utc_start: Any, utc_end: Any) -> list[tuple[str, str, str]]:
        """SOOP header cards for a time range."""
        ...


def gain_range_ok(result: PostFitResult, limits: PostEccConfig) -> tuple[bool, list[str]]:
    """Check ``G'`` within ``[min_gain_prime, max_gain_prime]`` and ``Gain_Cor ≥ min_gain`` per pixel.

    Pixels in the respective ignore list of ``post_ecc.ini`` are exempt.

    Returns
    -------
    (ok, problems)
        ``problems`` lists offending pixels as ``det/pix: reason``.
    """
    problems = []
    for k in range(len(result.det)):
        key = (int(result.det[k]), int(result.pix[k]))
        where = f"det {key[0]} pix {key[1]}"
        if result.gain_prime[k] > limits.max_gain_prime and key not in limits.ignore_max_gain_prime:
            problems.append(f"{where}: G'={result.gain_prime[k]:.3f} > {limits.max_gain_prime}")
        if result.gain_prime[k] < limits.min_gain_prime and key not in limits.ignore_min_gain_prime:
            problems.append(f"{where}: G'={result.gain_prime[k]:.3f} < {limits.min_gain_prime}")
        if result.gain_cor[k] < limits.min_gain and key not in limits.ignore_min_gain:
            problems.append(f"{where}: gain {result.gain_cor[k]:.3f} < {limits.min_gain}")
    return not problems, problems


def energy_edges(elut: Elut, offset: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """``(adc − offset)·gain`` for the ELUT's 31 ADC edges, padded with 0 and ∞ → ``(32, 12, 33)`` keV."""
    edges = (elut.adc - offset[..., None]) * gain[..., None]
    return np.pad(edges, ((0, 0), (0, 0), (1, 1)), mode="constant", constant_values=(0.0, np.inf))


def _to_seconds(value: Any, unit: Any, default_unit: u.UnitBase) -> float:
    from astropy import units as u

    unit = u.Unit(unit) if unit not in (None, "") else default_unit
    return float((float(value) * unit).to_value(u.s))


class CalEnergyStep:
    """L2 hook producing CAL energy-calibration products from L1 ``cal-energy`` files.

    Parameters
    ----------
    settings
        Uses ``ecc_path``, ``conf_dir`` (STIX-CONF), ``fits_archive_dir`` and ``processing_version``.
    soop
        SOOP keyword provider (default: :class:`stix_lib.soop.SoopManager` over
        ``settings.from_soc_dir``, created on first use).
    spice_kernels
        Loaded kernels for the observer keywords; without them the SPICE keywords of the L1
        file are copied (same day) and a HISTORY line says so.
    timeout
        Time limit per ECC program (s).
    work_dir
        Parent of the temporary ECC contexts (default: system temp).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        soop: SoopKeywordProvider | None = None,
        spice_kernels: SpiceKernels | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        work_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.programs, self.unavailable = find_ecc_programs(settings.ecc_path)
        self.archive_dir = Path(settings.fits_archive_dir)
        self.conf_dir = Path(settings.conf_dir)
        self.version = int(settings.processing_version)
        self.timeout = timeout
        self.work_dir = work_dir
        self.spice_kernels = spice_kernels
        self._soop = soop
        self._elut: ElutIndex | None = None
        self._ecc: EccConfigIndex | None = None

    # -- lazily built helpers ---------------------------------------------------------------
    @property
    def elut_index(self) -> ElutIndex:
        """ELUT index of ``<conf_dir>/elut``."""
        if self._elut is None:
            self._elut = ElutIndex.from_conf_dir(self.conf_dir)
        return self._elut

    @property
    def ecc_index(self) -> EccConfigIndex:
        """ECC configuration index of ``<conf_dir>/ecc``."""
        if self._ecc is None:
            self._ecc = EccConfigIndex.from_conf_dir(self.conf_dir)
        return self._ecc

    @property
    def soop(self) -> SoopKeywordProvider:
        """The SOOP keyword provider."""
        if self._soop is None:
            from stix_lib.soop import SoopManager

            self._soop = SoopManager.from_settings(self.settings)
        return self._soop

    @property
    def available(self) -> bool:
        """True when the ECC programs were found."""
        return self.programs is not None

    def _vers_cfg(self) -> str:
        version_file = self.conf_dir / "VERSION.TXT"
        try:
            return version_file.read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError):
            return ""

    # -- the step ---------------------------------------------------------------------------
    def __call__(self, l1_path: Path) -> list[Path]:
        """Calibrate every spectrum of ``l1_path``; returns the CAL files written.

        Raises
        ------
        CalEnergyError
            If the input is not an L1 cal-energy file, no ELUT/ECC configuration fits its
            date, or an ECC program or the post-fit fails (message names the file).
        """
        l1_path = Path(l1_path)
        if self.programs is None:
            logger.info("CAL energy calibration skipped for %s: %s", l1_path.name, self.unavailable)
            return []
        from stix_lib.cal.post_fit import PostFitError

        if not L1_NAME.match(l1_path.name):
            raise CalEnergyError(f"{l1_path}: not an L1 cal-energy file (solo_L1_stix-cal-energy_<date>_V<vv>.fits)")
        try:
            return self._process(l1_path)
        except (ElutError, EccConfigError, EccRunError, PostFitError, KeyError, OSError, ValueError) as exc:
            raise CalEnergyError(f"{l1_path}: CAL energy calibration failed: {exc}") from exc

    def _process(self, l1_path: Path) -> list[Path]:
        from astropy import units as u
        from astropy.io import fits
        from astropy.table import Table

        from stix_lib.cal.ecc_inputs import SPECTRUM_SHAPE
        from stix_lib.cal.product import CalTiming

        with fits.open(l1_path, memmap=True) as hdul:
            header = hdul[0].header.copy()
            counts = np.asarray(hdul["DATA"].data["counts"])
            times = np.asarray(hdul["DATA"].data["time"], dtype=np.int64)
            timedels = np.asarray(hdul["DATA"].data["timedel"], dtype=np.int64)
            control_index = np.asarray(hdul["DATA"].data["control_index"], dtype=np.int64)
        control = Table.read(l1_path, hdu="CONTROL")
        idb_versions = Table.read(l1_path, hdu="IDB_VERSIONS")
        start0 = np.datetime64(str(header["DATE-OBS"]).replace("Z", ""), "ms")
        obt0 = float(header["OBT_BEG"])
        elut = self.elut_index.elut_for_range(str(header.get("DATE-BEG", header["DATE-OBS"])), str(header["DATE-END"]))
        written: list[Path] = []
        for row in range(len(times)):
            spectrum = counts[row]
            if spectrum.shape != SPECTRUM_SHAPE:
                logger.warning(
                    "%s: spectrum %d has shape %s, not %s: skipped", l1_path.name, row, spectrum.shape, SPECTRUM_SHAPE
                )
                continue
            begin_cs = int(times[row]) - int(timedels[row]) // 2
            control_row = control[[int(control_index[row])]]
            timing = CalTiming(
                start=start0 + np.timedelta64(begin_cs * 10, "ms"),
                end=start0 + np.timedelta64((begin_cs + int(timedels[row])) * 10, "ms"),
                obt_start=obt0 + begin_cs / 100.0,
                obt_end=obt0 + (begin_cs + int(timedels[row])) / 100.0,
                timedel_cs=int(timedels[row]),
                integration_s=_to_seconds(
                    control_row["integration_time"][0], control_row["integration_time"].unit, u.s
                ),
            )
            live_time = _to_seconds(control_row["live_time"][0], control_row["live_time"].unit, u.ms)
            path = self._calibrate(l1_path, header, spectrum, timing, live_time, control_row, idb_versions, elut)
            if path is not None:
                written.append(path)
        return written

    def _calibrate(
        self,
        l1_path: Path,
        header: fits.Header,
        spectrum: np.ndarray,
        timing: CalTiming,
        live_time: float,
        control_row: Table,
        idb_versions: Table,
        elut: Elut,
    ) -> Path | None:
        from stix_lib.cal.ecc_inputs import write_ecc_inputs
        from stix_lib.cal.post_fit import post_fit_files
        from stix_lib.cal.product import CalResult, cal_path, primary_header, write_cal_product

        target = cal_path(self.archive_dir, timing, self.version)
        if target.exists():
            logger.warning("%s exists: CAL products are not merged, %s spectrum skipped", target, l1_path.name)
            return None
        programs = self.programs
        if programs is None:  # pragma: no cover - __call__ returns before
            raise CalEnergyError("ECC programs are not available")
        start_text = np.datetime_as_string(timing.start, unit="ms")
        with self.ecc_index.context(start_text, tmp_root=self.work_dir) as context:
            _, ecc_input = write_ecc_inputs(spectrum, context.path, l1_path.name)
            parameters, energy_spectra = run_ecc_programs(programs, context.path, ecc_input.name, timeout=self.timeout)
            fitted = post_fit_files(energy_spectra, parameters, live_time)
        ok, problems = gain_range_ok(fitted, context.post)
        if problems:
            logger.warning(
                "%s: %d pixel(s) outside the ECC gain range, e.g. %s", l1_path.name, len(problems), problems[0]
            )
        logger.info(
            "%s: post-fit replaced %d of %d ECC gain/offset pairs",
            l1_path.name,
            int(fitted.corrected.sum()),
            fitted.corrected.size,
        )
        offset = 4.0 * fitted.grid("offset_cor")
        gain = 1.0 / (4.0 * fitted.grid("gain_cor"))
        result = CalResult(
            live_time_s=live_time,
            offset=offset,
            gain=gain,
            goc=fitted.grid("goc"),
            ecc_error=np.stack([fitted.grid(n) for n in ("err_p31", "err_de31", "err_p81", "err_de81")]),
            gain_range_ok=ok,
            e_edges_actual=energy_edges(elut, offset, gain),
            elut_name=elut.name,
            ecc_config_name=context.name,
        )
        cal_header = primary_header(
            filename=target.name,
            timing=timing,
            result=result,
            version=self.version,
            parent=re.sub(r"_V(\d+)U\.fits$", r"_V\1.fits", l1_path.name),
            raw_files=[f for f in str(header.get("RAW_FILE", "")).split(";") if f],
            vers_cfg=self._vers_cfg(),
            soop_cards=self.soop.keywords(timing.start, timing.end),
            spice_cards=self._spice_cards(header, timing),
        )
        if self.spice_kernels is None:
            cal_header.add_history("SPICE keywords copied from the L1 file")
        written = write_cal_product(
            target, header=cal_header, timing=timing, result=result, control_row=control_row, idb_versions=idb_versions
        )
        logger.info("CAL product %s from %s", written.name, l1_path.name)
        return written

    def _spice_cards(self, header: fits.Header, timing: CalTiming) -> Sequence[tuple[str, object, str]]:
        from stix_lib.spice.fits_keywords import KEYWORD_COMMENTS, SPICE_ER_COMMENT, spice_fits_keywords

        if self.spice_kernels is not None:
            return spice_fits_keywords(
                self.spice_kernels,
                np.datetime_as_string(timing.start, unit="ms"),
                np.datetime_as_string(timing.centre, unit="ms"),
            )
        cards = []
        for keyword, comment in KEYWORD_COMMENTS:
            if keyword in header:
                cards.append((keyword, header[keyword], comment))
            if keyword == "SPICE_MK" and "SPICE_ER" in header:
                cards.append(("SPICE_ER", header["SPICE_ER"], SPICE_ER_COMMENT))
        return cards
