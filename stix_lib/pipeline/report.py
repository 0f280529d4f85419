"""Structured results of a processing run: per input file and per level.

:class:`FileReport` is what one input (a telemetry file, or an LB/L0/L1 file when a run starts
later) produced and what went wrong; Airflow tasks store it in the pipeline database, the CLI
prints it as JSON. ``status``:

* ``ok`` - everything processed;
* ``partial`` - products were made but some packets or products failed (listed), or the input
  was truncated (its complete packets were used);
* ``unusable`` - the input file as a whole could not be read (the caller quarantines it);
* ``failed`` - nothing could be produced from a readable input;
* ``waiting`` - no error, but L1 products were held back because the SPICE kernels do not cover
  them yet (``waiting`` lists them; the input is processed again when kernels arrive).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stix_lib.tm.errors import PacketError

LEVEL_NAMES: tuple[str, ...] = ("LB", "L0", "L1", "L2")


@dataclass
class FileReport:
    """What processing one input file produced.

    Attributes
    ----------
    source
        The input file (path as given).
    produced
        Level -> files written or changed.
    unchanged
        Level -> files that already held everything (not rewritten).
    warnings
        Non-fatal notes.
    packet_errors
        ``(level, PacketError)`` for packets left out.
    file_errors
        Failures costing a whole product or output file.
    unusable
        Why the input could not be read at all (``None`` when it could).
    truncated
        Why a telemetry file ends part way (its complete packets were processed; ``None`` when
        complete).
    rejected
        Packets refused by admission, per class (``tc``, ``foreign_apid``, ``unknown_type``,
        ``outside_mission_time``); each is also listed in ``packet_errors``.
    waiting
        L1 products held back until SPICE kernels cover them, with the reason.
    """

    source: str
    produced: dict[str, list[str]] = field(default_factory=dict)
    unchanged: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    packet_errors: list[tuple[str, PacketError]] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    unusable: str | None = None
    truncated: str | None = None
    rejected: dict[str, int] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``ok``, ``partial``, ``unusable``, ``failed`` or ``waiting`` (see the module docstring)."""
        if self.unusable is not None:
            return "unusable"
        if self.packet_errors or self.file_errors or self.truncated:
            return "partial" if any(self.produced.values()) or any(self.unchanged.values()) else "failed"
        return "waiting" if self.waiting else "ok"

    def add_files(self, level: str, written: Iterable[object], unchanged: Iterable[object] = ()) -> None:
        """Record output files of a level (duplicates ignored, order kept)."""
        for target, paths in ((self.produced, written), (self.unchanged, unchanged)):
            bucket = target.setdefault(level, [])
            for path in paths:
                if str(path) not in bucket:
                    bucket.append(str(path))

    def add_packet_errors(self, level: str, errors: Iterable[PacketError]) -> None:
        """Record packets left out at ``level``."""
        self.packet_errors.extend((level, e) for e in errors)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "status": self.status,
            "produced": {level: list(self.produced.get(level, [])) for level in LEVEL_NAMES if level in self.produced},
            "unchanged": {
                level: list(self.unchanged.get(level, [])) for level in LEVEL_NAMES if level in self.unchanged
            },
            "warnings": list(self.warnings),
            "packet_errors": [
                {"level": level, "file": e.file, "packet_id": e.packet_id, "reason": e.reason}
                for level, e in self.packet_errors
            ],
            "file_errors": list(self.file_errors),
            "unusable": self.unusable,
            "truncated": self.truncated,
            "rejected": dict(self.rejected),
            "waiting": list(self.waiting),
        }


@dataclass
class RunReport:
    """Reports of every input of a run plus the files written per level."""

    files: list[FileReport] = field(default_factory=list)

    def written(self, level: str) -> list[str]:
        """Distinct files written at ``level`` over all inputs (first-seen order)."""
        seen: dict[str, None] = {}
        for report in self.files:
            for path in report.produced.get(level, []):
                seen.setdefault(path, None)
        return list(seen)

    @property
    def ok(self) -> bool:
        """True when every input is ``ok``."""
        return all(report.status == "ok" for report in self.files)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: files per level, per-input reports, error count."""
        return {
            "ok": self.ok,
            "written": {level: self.written(level) for level in LEVEL_NAMES},
            "inputs": [report.to_dict() for report in self.files],
            "errors": sum(len(r.packet_errors) + len(r.file_errors) + (r.unusable is not None) for r in self.files),
        }
