"""Validation findings and per-file reports (text and JSON forms)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERROR = "error"
INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One observation about a product.

    Attributes
    ----------
    severity
        ``error`` (the product fails) or ``info`` (noted, not a failure).
    code
        Short machine-readable kind, e.g. ``missing-column``, ``unit``, ``expected-rename``.
    message
        Human-readable reason naming the HDU/column/keyword involved.
    """

    severity: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"severity": self.severity, "code": self.code, "message": self.message}


@dataclass
class FileReport:
    """Everything found for one validated file."""

    path: Path
    product_type: str | None = None
    reference: Path | None = None
    findings: list[Finding] = field(default_factory=list)
    #: Coverage of the value comparison (:class:`stix_lib.validate.values.ValueStats`), if run.
    values: Any = None

    def error(self, code: str, message: str) -> None:
        """Record a failure."""
        self.findings.append(Finding(ERROR, code, message))

    def info(self, code: str, message: str) -> None:
        """Record a note that does not fail the file."""
        self.findings.append(Finding(INFO, code, message))

    @property
    def errors(self) -> list[Finding]:
        """The failures."""
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def infos(self) -> list[Finding]:
        """The notes."""
        return [f for f in self.findings if f.severity == INFO]

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.errors

    def codes(self, severity: str | None = None) -> set[str]:
        """Finding codes, optionally of one severity."""
        return {f.code for f in self.findings if severity is None or f.severity == severity}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": str(self.path),
            "type": self.product_type,
            "reference": None if self.reference is None else str(self.reference),
            "ok": self.ok,
            "errors": [f.as_dict() for f in self.errors],
            "infos": [f.as_dict() for f in self.infos],
            "values": None if self.values is None else self.values.as_dict(),
        }

    def as_text(self) -> str:
        """Multi-line human-readable form."""
        head = f"{'PASS' if self.ok else 'FAIL'} {self.path}"
        if self.product_type:
            head += f" [{self.product_type}]"
        if self.reference is not None:
            head += f" vs {self.reference.name}"
        lines = [head]
        lines += [f"  error: {f.message}" for f in self.errors]
        lines += [f"  info:  {f.message}" for f in self.infos]
        return "\n".join(lines)
