"""What a publishing run did: per-file outcomes, the report mail and the supplement report.

Counts of the report (operations spec §6.5): **E** errors (including products parked because they
would need a third supplement, "max supplement error", and products held back by the publish
gate, :mod:`stix_lib.publish.gate`, listed in their own PARKED section with the reasons), **I**
ignored (re-requested, identical DATA, starting in the future, same ESA name without FITS) plus
blacklisted, **S** supplements, **P** published. :func:`build_report_message` returns an
:class:`email.message.EmailMessage`; sending it is the caller's business (Airflow's SMTP hook,
or ``stix-pipeline publish --smtp``).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from enum import StrEnum
from pathlib import Path
from typing import Any

from stix_lib.monitor.mails import SUBJECT_PREFIX, build_message

#: Subject of the report mail, after the pipeline's mail prefix.
SUBJECT = f"{SUBJECT_PREFIX} STIX SOAR publishing"
#: Header row of the supplement report (tab separated).
SUPPLEMENT_REPORT_HEADER = ("filename", "basefile", "comment")
#: Reason text of a parked product.
MAX_SUPPLEMENT_ERROR = "max supplement error"


class Outcome(StrEnum):
    """What happened to one candidate."""

    PUBLISHED = "published"
    SUPPLEMENT = "supplement"
    IGNORED = "ignored"
    BLACKLISTED = "blacklisted"
    ERROR = "error"
    PARKED = "parked"  # held back by the publish gate (not delivered; checked again next run)


@dataclass(frozen=True)
class FileOutcome:
    """The outcome of one candidate.

    Attributes
    ----------
    source
        The archive file as selected (may be a ``U`` name).
    name
        Its complete name (the history key).
    outcome
        See :class:`Outcome`.
    delivered_name
        Name at the target (published, supplement).
    reason
        Why it was ignored, or the error.
    base
        Supplement: the first delivered product of its ESA name.
    comment
        The BSD request comment added to the delivered file.
    attempt
        Delivery attempt number (≥ 2 is a retry).
    parked
        Where a product that would need a third supplement was copied.
    """

    source: Path
    name: str
    outcome: Outcome
    delivered_name: str | None = None
    reason: str = ""
    base: str | None = None
    comment: str = ""
    attempt: int = 0
    parked: Path | None = None

    def line(self) -> str:
        """One report line."""
        text = self.name
        if self.delivered_name and self.delivered_name != self.name:
            text += f" -> {self.delivered_name}"
        if self.base:
            text += f" (supplement of {self.base})"
        if self.reason:
            text += f": {self.reason}"
        if self.attempt > 1:
            text += f" [attempt {self.attempt}]"
        return text


@dataclass
class PublishReport:
    """Everything a run reports.

    Attributes
    ----------
    started
        Run time (UTC).
    target
        Where files went.
    dry_run
        Nothing was changed; the outcomes are what a real run would do.
    outcomes
        Per candidate, in processing order.
    warnings
        Problems that did not stop the run (RID LUT update, malformed names, stale temp files).
    scanned, waiting
        Product files looked at, and held back by the waiting period.
    """

    started: datetime
    target: str = ""
    dry_run: bool = False
    outcomes: list[FileOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    scanned: int = 0
    waiting: int = 0

    def of(self, *kinds: Outcome) -> list[FileOutcome]:
        """Outcomes of the given kinds, in order."""
        return [o for o in self.outcomes if o.outcome in kinds]

    @property
    def counts(self) -> dict[str, int]:
        """``{"E": errors + parked, "I": ignored + blacklisted, "S": supplements, "P": published}``."""
        return {
            "E": len(self.of(Outcome.ERROR, Outcome.PARKED)),
            "I": len(self.of(Outcome.IGNORED, Outcome.BLACKLISTED)),
            "S": len(self.of(Outcome.SUPPLEMENT)),
            "P": len(self.of(Outcome.PUBLISHED)),
        }

    @property
    def delivered(self) -> list[FileOutcome]:
        """Published files and supplements."""
        return self.of(Outcome.PUBLISHED, Outcome.SUPPLEMENT)

    def subject(self) -> str:
        """``[STIX pipeline] STIX SOAR publishing [ERROR-]report E n I n S n P n`` (``[DRY RUN]`` first in dry runs)."""
        counts = self.counts
        kind = "ERROR-report" if counts["E"] else "report"
        prefix = "[DRY RUN] " if self.dry_run else ""
        return f"{prefix}{SUBJECT} {kind} " + " ".join(f"{key} {value}" for key, value in counts.items())

    def body(self) -> str:
        """Plain-text report: summary, then one section per outcome."""
        counts = self.counts
        lines = [
            f"STIX SOAR publishing run of {self.started.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
            + (" (DRY RUN: nothing was delivered or recorded)" if self.dry_run else ""),
            f"target: {self.target}",
            f"scanned {self.scanned} product files, {self.waiting} still in their waiting period",
            f"errors E {counts['E']}, ignored I {counts['I']}, supplements S {counts['S']}, published P {counts['P']}",
            "",
        ]
        sections = (
            ("ERRORS (E)", self.of(Outcome.ERROR)),
            ("PARKED by the publish gate, not delivered (E)", self.of(Outcome.PARKED)),
            ("IGNORED (I)", self.of(Outcome.IGNORED)),
            ("SUPPLEMENTS (S)", self.of(Outcome.SUPPLEMENT)),
            ("BLACKLISTED (I)", self.of(Outcome.BLACKLISTED)),
            ("PUBLISHED (P)", self.of(Outcome.PUBLISHED)),
        )
        for title, items in sections:
            lines.append(f"{title}: {len(items)}")
            lines += [f"  {item.line()}" for item in items]
            lines.append("")
        if self.warnings:
            lines.append(f"WARNINGS: {len(self.warnings)}")
            lines += [f"  {warning}" for warning in self.warnings]
        return "\n".join(lines).rstrip("\n") + "\n"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (for XCom and ``--json``)."""
        return {
            "started": self.started.astimezone(UTC).isoformat(),
            "dry_run": self.dry_run,
            "target": self.target,
            "scanned": self.scanned,
            "waiting": self.waiting,
            "counts": self.counts,
            "outcomes": [
                {
                    "source": str(o.source),
                    "name": o.name,
                    "outcome": o.outcome.value,
                    "delivered_name": o.delivered_name,
                    "reason": o.reason,
                    "base": o.base,
                    "attempt": o.attempt,
                }
                for o in self.outcomes
            ],
            "warnings": list(self.warnings),
        }


def build_report_message(report: PublishReport, sender: str, recipients: list[str] | tuple[str, ...]) -> EmailMessage:
    """The report mail of a run: the plain-text report, and the same preformatted as the HTML part.

    Parameters
    ----------
    report
        The run.
    sender
        ``From`` address.
    recipients
        ``To`` addresses (at least one).

    Raises
    ------
    ValueError
        Without recipients.
    """
    if not recipients:
        raise ValueError("the report mail needs at least one recipient")
    return build_message(report.subject(), report_html(report.body()), sender, recipients, text_body=report.body())


def report_html(body: str) -> str:
    """The HTML part of the report mail: the plain-text report, preformatted."""
    return f"<pre>{html.escape(body)}</pre>"


def append_supplement_report(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """Append ``(filename, basefile, comment)`` rows to the tab-separated supplement report.

    The header row is written when the file is created. The file is replaced atomically
    (read, append, temporary file, rename), so a reader never sees half a row.
    """
    if not rows:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else "\t".join(SUPPLEMENT_REPORT_HEADER) + "\n"
    if existing and not existing.endswith("\n"):
        existing += "\n"
    clean = [tuple(str(v).replace("\t", " ").replace("\n", " ") for v in row) for row in rows]
    text = existing + "".join("\t".join(row) + "\n" for row in clean)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
