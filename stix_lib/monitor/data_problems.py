"""Data problems an operator must act on: one mail each, with the file, the reason and the next step.

Kinds (issue 17, item 4):

* a TM file from the SOC exchange that is not valid telemetry, quarantined at ingest
  (:func:`quarantined_at_ingest`);
* a TM file that could not be read when processing it, quarantined there (:func:`unusable_tm_file`);
* a science request still incomplete after the ``request_incomplete_alert`` threshold
  (:func:`incomplete_request`, tracked by :mod:`stix_lib.pipeline.incomplete`).

The Airflow side (:func:`stix_ops.notifiers.report_data_problems`) sends :meth:`DataProblem.mail`
for each and fails the task, so the run is red; the failure mail itself is not sent again.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from stix_lib.monitor.mails import SUBJECT_PREFIX, table
from stix_lib.pipeline.incomplete import IncompleteRequest


@dataclass(frozen=True)
class DataProblem:
    """One problem: what kind, which file, why, and what to do."""

    kind: str
    file: str
    reason: str
    next_step: str
    where: str = ""

    @property
    def subject(self) -> str:
        """``[STIX pipeline] DATA PROBLEM <kind>: <file>``."""
        return f"{SUBJECT_PREFIX} DATA PROBLEM {self.kind}: {self.file}"

    def rows(self) -> dict[str, str]:
        """The facts of the mail, in order."""
        rows = {"Problem": self.kind, "File": self.file, "Reason": self.reason}
        if self.where:
            rows["Where"] = self.where
        rows["Next step"] = self.next_step
        return rows

    def text(self) -> str:
        """Plain-text body."""
        return "\n".join(f"{key}: {value}" for key, value in self.rows().items()) + "\n"

    def html(self) -> str:
        """HTML body (the SMTP hook's body type)."""
        return f"<p>{html.escape(self.kind)}: {html.escape(self.file)}</p>" + table(self.rows())

    def as_dict(self) -> dict[str, str]:
        """JSON form (XCom)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataProblem:
        """Inverse of :meth:`as_dict`."""
        return cls(**{key: str(data.get(key, "")) for key in ("kind", "file", "reason", "next_step", "where")})


def quarantined_at_ingest(name: str, reason: str, quarantine_dir: Path) -> DataProblem:
    """A TM file from the SOC exchange that is not valid telemetry."""
    return DataProblem(
        kind="TM file quarantined at ingest",
        file=name,
        reason=reason,
        where=str(Path(quarantine_dir) / name),
        next_step=(
            f"Look at the copy in {quarantine_dir} (reason in {name}.reason) and at the SOC exchange. "
            "If the SOC file is broken, ask the SOC to deliver it again under a new name: the ledger "
            "never pulls the same name twice. Nothing else of the batch was affected."
        ),
    )


def unusable_tm_file(name: str, reason: str, quarantine_dir: Path) -> DataProblem:
    """A staged TM file that could not be read when it was processed."""
    return DataProblem(
        kind="TM file unusable, quarantined by processing",
        file=name,
        reason=reason,
        where=str(Path(quarantine_dir) / name),
        next_step=(
            f"Compare the file in {quarantine_dir} with the SOC original. If the original is good, the "
            "local copy was damaged: deliver it again under a new name. Other files went on."
        ),
    )


def incomplete_request(request: IncompleteRequest, threshold: timedelta) -> DataProblem:
    """A science request still incomplete after ``threshold``."""
    hours = threshold.total_seconds() / 3600
    return DataProblem(
        kind="science request incomplete",
        file=request.tm_file or request.lb_file,
        reason=f"{request.message} (incomplete since {request.first_seen:%Y-%m-%d %H:%M} UTC, over {hours:g} h)",
        where=request.lb_file,
        next_step=(
            "No product is made from an incomplete request. Check that the SOC delivered every TM file of "
            "that period (stix-pipeline status, the SOC exchange); if packets were lost, ask for the "
            "request to be downlinked again, or accept the loss."
        ),
    )
