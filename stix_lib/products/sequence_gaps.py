"""Which missing sequence counts of a science request other packets explain.

The CCSDS source sequence count runs per APID: every packet of an APID takes the next count,
whatever its type. A bulk-science request whose counts skip a value is therefore complete only if
a packet of *another type of the same APID* holds that count and was generated between the two
request packets around the gap (e.g. a quick-look packet, APID 1500, inside an aspect burst of
the same APID). Packets of other types live in the daily LB files of the archive; this module
looks the missing counts up there (only when a request has gaps, so the cost is paid rarely).

Packets of another *request* of the same APID are per-request LB files, not looked up: a gap
they fill is reported as not explained (the request is reported incomplete, never made wrong).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt

from stix_lib.lb.fits_io import LBFileError, read_lb
from stix_lib.lb.lb_names import SECONDS_PER_DAY
from stix_lib.lb.request_sequences import GapExplainer
from stix_lib.tm.headers import apid

log = logging.getLogger(__name__)


def packet_btimes(headers: np.ndarray) -> npt.NDArray[np.int64]:
    """Binary SCET ``coarse << 16 | fine`` of decoded packet headers."""
    return (headers["scet_coarse"].astype(np.int64) << 16) | headers["scet_fine"].astype(np.int64)


def daily_lb_files(archive: Path, day: int) -> list[Path]:
    """The daily LB files (every packet type) of SCET day ``day`` in ``archive``."""
    name = f"solo_LB_stix-*_{day * SECONDS_PER_DAY:010d}_V*.fits"
    root = Path(archive) / "LB"
    return sorted({*root.glob(f"*/*/{name}"), *root.glob(f"*/*/*/{name}")})


class ArchiveGapExplainer:
    """A :data:`~stix_lib.lb.request_sequences.GapExplainer` over the daily LB files of an archive.

    Parameters
    ----------
    archive
        FITS archive root.
    request_apid
        APID of the request whose gaps are explained.
    """

    def __init__(self, archive: Path, request_apid: int) -> None:
        self.archive = Path(archive)
        self.apid = int(request_apid)
        self._days: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = {}

    @classmethod
    def for_request(cls, archive: Path, headers: np.ndarray) -> GapExplainer | None:
        """The explainer for a request's packet headers (``None`` when there are none)."""
        return cls(archive, int(apid(headers[:1])[0])) if len(headers) else None

    def _packets_of_day(self, day: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        if day not in self._days:
            counts, times = [], []
            for path in daily_lb_files(self.archive, day):
                try:
                    headers = read_lb(path).headers
                except LBFileError as exc:
                    log.warning("gap lookup: %s", exc)
                    continue
                same = apid(headers) == self.apid
                counts.append(headers["sequence_count"][same].astype(np.int64))
                times.append(packet_btimes(headers[same]))
            self._days[day] = (
                np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64),
                np.concatenate(times) if times else np.zeros(0, dtype=np.int64),
            )
        return self._days[day]

    def __call__(
        self, missing: npt.NDArray[np.int64], before: npt.NDArray[np.int64], after: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.bool_]:
        """True for each missing count held by a same-APID packet timed in ``[before, after]``."""
        explained = np.zeros(len(missing), dtype=bool)
        if not len(missing):
            return explained
        days = np.unique(np.concatenate([before, after]) >> 16) // SECONDS_PER_DAY
        parts = [self._packets_of_day(int(day)) for day in np.unique(days).tolist()]
        counts = np.concatenate([p[0] for p in parts])
        times = np.concatenate([p[1] for p in parts])
        for i, (count, low, high) in enumerate(zip(missing.tolist(), before.tolist(), after.tolist(), strict=True)):
            explained[i] = bool(np.any((counts == count) & (times >= low) & (times <= high)))
        return explained


__all__ = ["ArchiveGapExplainer", "daily_lb_files", "packet_btimes"]
