"""The BSD request-id lookup table (RID LUT): a CSV file, one row per science data request.

Columns (operations spec §7), comma separated with ``"`` quoting, header row first::

    _id, unique_id, start_utc, duration, type, subject, purpose, scaling_factor, ior_id, comment

``_id`` is the data center's row id, ``unique_id`` the request id (``rid``) that appears in BSD
product names and headers. Lookups:

* :meth:`RidLut.reason` — human description of a request: the non-empty fields ``subject``,
  ``purpose``, ``comment`` joined by ``", "``; several rows of one rid are joined by a space;
* :meth:`RidLut.scaling_factor` — the trigger scaling factor the on-board software applied; an
  empty field means the default :data:`DEFAULT_SCALING_FACTOR` (30). An unknown rid or more than
  one row for it is an error, because de-scaling with a guessed factor would corrupt the data.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Column order of the LUT file.
COLUMNS: tuple[str, ...] = (
    "_id",
    "unique_id",
    "start_utc",
    "duration",
    "type",
    "subject",
    "purpose",
    "scaling_factor",
    "ior_id",
    "comment",
)
#: Scaling factor of a request whose ``scaling_factor`` field is empty.
DEFAULT_SCALING_FACTOR = 30


class RidLutError(ValueError):
    """A RID LUT file or API answer that cannot be read (missing columns, bad CSV)."""


Row = dict[str, str]


def parse_rows(text: str, *, source: str = "RID LUT") -> list[Row]:
    """Parse CSV text with a header row into rows (all values stripped strings).

    Parameters
    ----------
    text
        CSV content; an empty text (or only a header) gives no rows.
    source
        Named in error messages.

    Raises
    ------
    RidLutError
        If there is content but no ``unique_id`` column.
    """
    if not text.strip():
        return []
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "unique_id" not in [name.strip() for name in reader.fieldnames]:
        raise RidLutError(f"{source}: no 'unique_id' column in header {reader.fieldnames!r}")
    rows: list[Row] = []
    try:
        for raw in reader:
            row = {str(key).strip(): (value or "").strip() for key, value in raw.items() if key is not None}
            if any(row.values()):
                rows.append(row)
    except csv.Error as exc:
        raise RidLutError(f"{source}: bad CSV at line {reader.line_num}: {exc}") from exc
    return rows


def format_rows(rows: Iterable[Mapping[str, str]]) -> str:
    """CSV text of ``rows``: the :data:`COLUMNS` first, then any extra columns in first-seen order."""
    rows = list(rows)
    extra: list[str] = []
    for row in rows:
        extra += [key for key in row if key not in COLUMNS and key not in extra]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, *extra], lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row.get(key, "") for key in (*COLUMNS, *extra)})
    return out.getvalue()


def write_rows_atomic(path: Path, rows: Sequence[Mapping[str, str]]) -> None:
    """Write the LUT through a temporary file in the same folder and a rename (readers never see half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="utf-8", newline="") as handle:
            handle.write(format_rows(rows))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _rid_key(value: str) -> int | None:
    text = value.strip()
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


@dataclass
class RidLut:
    """The rows of a RID LUT, indexed by request id.

    Attributes
    ----------
    rows
        All rows in file order.
    source
        Where the rows came from (for messages).
    """

    rows: list[Row] = field(default_factory=list)
    source: str = "RID LUT"

    def __post_init__(self) -> None:
        self._by_rid: dict[int, list[Row]] = {}
        for row in self.rows:
            rid = _rid_key(row.get("unique_id", ""))
            if rid is not None:
                self._by_rid.setdefault(rid, []).append(row)

    @classmethod
    def read(cls, path: Path) -> RidLut:
        """Read a LUT file.

        Raises
        ------
        FileNotFoundError
            If the file does not exist.
        RidLutError
            If it is not a RID LUT.
        """
        path = Path(path)
        return cls(parse_rows(path.read_text(encoding="utf-8"), source=str(path)), source=str(path))

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, rid: object) -> bool:
        return isinstance(rid, int) and rid in self._by_rid

    def rows_of(self, rid: int) -> list[Row]:
        """The rows of request ``rid`` (empty if unknown)."""
        return list(self._by_rid.get(int(rid), []))

    def reason(self, rid: int) -> str:
        """Description of request ``rid``: ``"subject, purpose, comment"`` per row, rows joined by a space.

        Returns
        -------
        str
            Empty if the rid is not in the table.
        """
        descriptions = []
        for row in self.rows_of(rid):
            parts = [row.get(key, "").strip() for key in ("subject", "purpose", "comment")]
            descriptions.append(", ".join(part for part in parts if part))
        return " ".join(descriptions)

    def scaling_factor(self, rid: int) -> int:
        """The trigger scaling factor of request ``rid``.

        Returns
        -------
        int
            The factor; :data:`DEFAULT_SCALING_FACTOR` when the field is empty.

        Raises
        ------
        ValueError
            ``"can't get scaling factor …"`` when the rid is unknown, has more than one row, or the
            field is not a number.
        """
        rows = self.rows_of(rid)
        if not rows:
            raise ValueError(f"can't get scaling factor for rid {rid}: not in {self.source}")
        if len(rows) > 1:
            raise ValueError(f"can't get scaling factor for rid {rid}: {len(rows)} rows in {self.source}")
        text = rows[0].get("scaling_factor", "").strip()
        if not text:
            return DEFAULT_SCALING_FACTOR
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"can't get scaling factor for rid {rid}: {text!r} is not a number") from None
        if not value.is_integer():
            raise ValueError(f"can't get scaling factor for rid {rid}: {text!r} is not an integer")
        return int(value)

    def latest_start_date(self) -> str | None:
        """``YYYY-MM-DD`` of the latest ``start_utc`` in the table (None when there is none)."""
        dates = [row.get("start_utc", "")[:10] for row in self.rows]
        dates = [d for d in dates if len(d) == 10 and d[4] == "-" and d[7] == "-"]
        return max(dates) if dates else None
