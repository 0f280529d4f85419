"""LL03 daily step: quick-look light-curve plots from L1 ``ql-lightcurve`` files.

Gates (operations spec §8.4; all must hold, checked in this order by :func:`ll03_due`):

1. the input is the latest version of its product (no sibling with a higher ``_V<n>``);
2. the input was created (header ``DATE``) more than ``cadence`` (1 s) ago;
3. the day is complete — ``NAXIS2`` of DATA ≥ 21540 (4-s bins of a day minus 4 min) — or the
   data end (``DATE-END``) is at least 30 days old;
4. the plot was not yet made from this input (:class:`~stix_lib.daily.processing_history.ProcessingHistory`,
   default :class:`~stix_lib.daily.processing_history.OutputFileHistory`).

Output: ``<archive>/LL03/YYYY/MM/DD/QL/solo_LL03_stix-ql-lightcurve_<day>T000000-<day>T235959_V<vv>C.svg``
plus a ``.png`` preview next to it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from astropy.io import fits

from stix_lib.daily.ll03_names import ll03_paths, newer_versions
from stix_lib.daily.ll03_plot import LightCurveError, centre_day, load_lightcurve, write_plot
from stix_lib.daily.processing_history import OutputFileHistory, ProcessingHistory, parse_fits_date
from stix_lib.time.utc import as_utc

if TYPE_CHECKING:  # pragma: no cover - typing only
    from stix_lib.settings import Settings

logger = logging.getLogger(__name__)

#: 4-s bins in a day minus 60 bins (up to 4 minutes missing still count as complete).
COMPLETE_DAY_BINS = 15 * 60 * 24 - 60
MAX_DATA_AGE = timedelta(days=30)
CADENCE = timedelta(seconds=1)
PRODUCT_NAME, PRODUCT_LEVEL, PRODUCT_TYPE = "lightcurve", "LL03", "ql"


def ll03_due(
    l1_path: Path,
    now: datetime,
    *,
    archive_dir: Path,
    version: int = 2,
    latest_version_only: bool = True,
    history: ProcessingHistory | None = None,
    cadence: timedelta = CADENCE,
    complete_bins: int = COMPLETE_DAY_BINS,
    max_age: timedelta = MAX_DATA_AGE,
) -> tuple[bool, str]:
    """Decide whether the LL03 plot of an L1 light-curve file should be made now.

    Parameters
    ----------
    l1_path
        The L1 ``ql-lightcurve`` file.
    now
        Current time (naive = UTC).
    archive_dir
        Product archive the plot goes to (``settings.fits_archive_dir``).
    version
        Processing version of the plot (``_V<vv>C``).
    latest_version_only
        Skip inputs that have a sibling with a higher version.
    history
        Processing history (default: :class:`OutputFileHistory`).
    cadence, complete_bins, max_age
        Gate parameters (1 s, 21540 bins, 30 days).

    Returns
    -------
    (due, reason)
        ``reason`` says which gate decided (names the file).

    Raises
    ------
    ValueError
        If the file is not a readable FITS light curve with ``DATE``/``DATE-END`` headers.
    """
    l1_path = Path(l1_path)
    now = as_utc(now)
    if latest_version_only:
        newer = newer_versions(l1_path)
        if newer:
            return False, f"{l1_path.name}: not the latest version ({newer[-1].name} exists)"
    try:
        with fits.open(l1_path, memmap=True) as hdul:
            header = hdul[0].header
            n_bins = int(hdul["DATA"].header.get("NAXIS2", 0))
            created = parse_fits_date(header["DATE"])
            data_end = parse_fits_date(header["DATE-END"])
            day = centre_day(header)
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{l1_path}: cannot read DATE/DATE-END/DATA of the light curve: {exc}") from exc
    if created > now - cadence:
        return False, f"{l1_path.name}: created {created.isoformat()}, less than {cadence} ago"
    age = now - data_end
    if n_bins >= complete_bins:
        why = f"complete day ({n_bins} >= {complete_bins} bins)"
    elif age >= max_age:
        why = f"data end {data_end.date().isoformat()} is {age.days} days old (>= {max_age.days})"
    else:
        return False, (
            f"{l1_path.name}: incomplete day ({n_bins} < {complete_bins} bins) "
            f"and data end only {age.total_seconds() / 86400:.1f} days old"
        )
    svg_path, _ = ll03_paths(archive_dir, day, version)
    history = history or OutputFileHistory()
    if history.has_processed(
        name=PRODUCT_NAME,
        level=PRODUCT_LEVEL,
        product_type=PRODUCT_TYPE,
        version=version,
        in_path=l1_path,
        in_created=created,
        out_path=svg_path,
    ):
        return False, f"{l1_path.name}: already processed into {svg_path.name}"
    return True, f"{l1_path.name}: {why}"


class LL03Step:
    """The LL03 plot step over the settings' archive.

    Parameters
    ----------
    settings
        Uses ``fits_archive_dir`` (output) and ``processing_version``.
    history
        Processing history (default: :class:`OutputFileHistory`).
    """

    def __init__(self, settings: Settings, history: ProcessingHistory | None = None) -> None:
        self.archive_dir = Path(settings.fits_archive_dir)
        self.version = int(settings.processing_version)
        self.history = history or OutputFileHistory()

    def due(self, l1_path: Path, now: datetime | None = None) -> tuple[bool, str]:
        """:func:`ll03_due` with this step's archive, version and history."""
        return ll03_due(
            l1_path,
            now or datetime.now(UTC),
            archive_dir=self.archive_dir,
            version=self.version,
            history=self.history,
        )

    def render(self, l1_path: Path) -> list[Path]:
        """Make the plot of ``l1_path`` unconditionally; returns ``[svg, png]``.

        Raises
        ------
        LightCurveError
            If the input cannot be plotted.
        """
        data = load_lightcurve(Path(l1_path))
        svg_path, png_path = ll03_paths(self.archive_dir, data.day, self.version)
        written = write_plot(data, svg_path, png_path)
        logger.info("LL03 plot %s from %s (%d bins)", svg_path.name, data.input_name, data.n_bins)
        return written

    def __call__(self, l1_path: Path, now: datetime | None = None) -> list[Path]:
        """Make the plot if :meth:`due`; returns the written files (``[]`` when not due)."""
        due, reason = self.due(l1_path, now)
        if not due:
            logger.info("LL03 skipped: %s", reason)
            return []
        logger.info("LL03 due: %s", reason)
        return self.render(l1_path)


__all__ = ["COMPLETE_DAY_BINS", "LL03Step", "LightCurveError", "ll03_due"]
