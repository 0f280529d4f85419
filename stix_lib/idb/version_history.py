"""The on-board IDB version history (``idbVersionHistory.json``) as sorted OBT intervals."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt


def version_key(label: str) -> tuple[int, ...]:
    """Sort key of a dotted version label (``"2.26.34"`` -> ``(2, 26, 34)``).

    Raises
    ------
    ValueError
        If the label is not dot separated integers.
    """
    try:
        return tuple(int(part) for part in label.strip().split("."))
    except ValueError:
        raise ValueError(f"Version {label!r} is not a dotted version number") from None


@dataclass(frozen=True)
class VersionHistory:
    """IDB validity intervals ``[start, end)`` in OBT seconds (coarse + fine / 65536).

    Attributes
    ----------
    starts, ends
        Interval bounds, sorted by start.
    labels
        Version label of each interval (labels repeat when a version was used twice).
    """

    starts: npt.NDArray[np.float64]
    ends: npt.NDArray[np.float64]
    labels: tuple[str, ...]

    @classmethod
    def from_file(cls, path: Path) -> VersionHistory:
        """Read ``idbVersionHistory.json``.

        Raises
        ------
        ValueError
            If the file is not a list of ``{version, validityPeriodOBT: [{coarse, fine}, x2]}``.
        """
        try:
            entries = json.loads(Path(path).read_text())
            rows = []
            for entry in entries:
                begin, end = entry["validityPeriodOBT"]
                rows.append(
                    (
                        begin["coarse"] + begin.get("fine", 0) / 65536.0,
                        end["coarse"] + end.get("fine", 0) / 65536.0,
                        str(entry["version"]),
                    )
                )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"cannot read IDB version history {path}: {exc}") from exc
        if not rows:
            raise ValueError(f"IDB version history {path} is empty")
        rows.sort(key=lambda r: (r[0], r[1]))
        return cls(
            starts=np.array([r[0] for r in rows], dtype=np.float64),
            ends=np.array([r[1] for r in rows], dtype=np.float64),
            labels=tuple(r[2] for r in rows),
        )

    @property
    def versions(self) -> tuple[str, ...]:
        """Distinct labels, sorted by version number."""
        return tuple(sorted(set(self.labels), key=version_key))

    def interval_index(self, obt: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Return the interval index for each OBT (seconds; arrays allowed).

        Times before the first interval map to the first one, times at or after the end of the
        last interval to the last one; inside a gap between intervals the preceding interval is
        used.
        """
        values = np.asarray(obt, dtype=np.float64)
        index = np.searchsorted(self.starts, values, side="right") - 1
        return np.clip(index, 0, len(self.starts) - 1)

    def find(self, obt: float | None) -> str:
        """Return the version label valid at ``obt`` (the earliest one for ``None``)."""
        if obt is None:
            return self.labels[0]
        return self.labels[int(self.interval_index(obt))]
