"""Helpers of the RID LUT tests: API rows, CSV, the fake data-center API."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from stix_lib.ridlut.table import COLUMNS

HEADER = ",".join(COLUMNS)


def api_row(_id: int, rid: int, start: str, *, subject: str = "flare", purpose: str = "imaging", scaling: str = "",
            comment: str = "") -> dict[str, str]:  # fmt: skip
    """One API row."""
    return {
        "_id": str(_id), "unique_id": str(rid), "start_utc": start, "duration": "600", "type": "xray-cpd",
        "subject": subject, "purpose": purpose, "scaling_factor": scaling, "ior_id": f"IOR{_id}", "comment": comment,
    }  # fmt: skip


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@dataclass
class RidApi:
    """The fake data-center API: rows by start date, a log of request paths, optional failures.

    ``fail_paths`` answer 500 and ``garbage_paths`` HTML, always; the first ``fail_first`` requests answer 503.
    """

    rows: list[dict[str, str]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    fail_paths: set[str] = field(default_factory=set)
    garbage_paths: set[str] = field(default_factory=set)
    fail_first: int = 0
    url: str = ""

    def answer(self, path: str) -> tuple[int, str]:
        self.requests.append(path)
        parts = path.strip("/").split("/")
        if len(self.requests) <= self.fail_first:
            return 503, "busy"
        if path in self.fail_paths:
            return 500, "internal error"
        if path in self.garbage_paths:
            return 200, "<html>not csv</html>\n"
        try:
            start = date(int(parts[-2][:4]), int(parts[-2][4:6]), int(parts[-2][6:]))
            end = date(int(parts[-1][:4]), int(parts[-1][4:6]), int(parts[-1][6:]))
        except (IndexError, ValueError):
            return 404, "bad window"
        selected = [r for r in self.rows if start <= date.fromisoformat(r["start_utc"][:10]) <= end]
        return 200, to_csv(selected)


def windows(start: date, today: date) -> list[str]:
    """The request paths an update from ``start`` to ``today`` makes."""
    paths = []
    while start < today:
        end = start + timedelta(days=30)
        paths.append(f"/api/bsd/info/{start:%Y%m%d}/{end:%Y%m%d}")
        start = end
    return paths
