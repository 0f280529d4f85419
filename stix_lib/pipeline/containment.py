"""Containment: a failure while processing one input costs that input, not the run.

Every stage of the chain (reading, decoding, naming, writing) runs for one input file inside
:func:`contained`: an exception becomes a ``file_errors`` entry of that input's report (naming
the stage and the cause) and the batch goes on. Only **infrastructure faults** stop a run, since
no later file can succeed either and reporting them per file would hide the real problem:

* a full or read-only file system, an exceeded quota (``OSError`` with ``ENOSPC``, ``EDQUOT``,
  ``EROFS``);
* memory exhaustion (``MemoryError``);
* the pipeline database being unreachable (SQLAlchemy ``OperationalError``, ``InterfaceError``,
  ``DisconnectionError``).

A fault counts as infrastructure also when it is the ``__cause__``/``__context__`` of the
exception raised (e.g. a product write error wrapping ``ENOSPC``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from stix_lib.atomic import exception_chain, is_storage_fault

if TYPE_CHECKING:  # pragma: no cover - typing only
    from stix_lib.pipeline.report import FileReport

log = logging.getLogger(__name__)

#: SQLAlchemy exception class names meaning the database cannot be reached.
_DATABASE_DOWN = frozenset({"OperationalError", "InterfaceError", "DisconnectionError"})


class PipelineAborted(RuntimeError):
    """``stop_on_error``: processing stopped at the first problem; ``report`` holds what was done."""

    def __init__(self, message: str, report: FileReport) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self):  # picklable across worker processes
        return (PipelineAborted, (str(self), self.report))


class _HasFileErrors(Protocol):
    file_errors: list[str]


def is_infrastructure_fault(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised from) is an infrastructure fault.

    See the module docstring for the list.
    """
    if is_storage_fault(exc):
        return True
    for error in exception_chain(exc):
        if isinstance(error, MemoryError):
            return True
        if type(error).__module__.startswith("sqlalchemy") and type(error).__name__ in _DATABASE_DOWN:
            return True
    return False


def describe(exc: BaseException) -> str:
    """``"<ExceptionType>: <message>"`` (the type tells an unexpected failure from a known one)."""
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def contained(report: _HasFileErrors, stage: str, subject: str) -> Iterator[None]:
    """Turn an exception raised inside the block into a file error of ``report``.

    Parameters
    ----------
    report
        Where the failure is recorded (``file_errors``).
    stage
        The step, e.g. ``"TM -> LB"``.
    subject
        The file concerned (its name).

    Raises
    ------
    Exception
        Infrastructure faults (:func:`is_infrastructure_fault`) and :class:`PipelineAborted`
        (``stop_on_error``) are re-raised unchanged.
    """
    try:
        yield
    except PipelineAborted:
        raise
    except Exception as exc:
        if is_infrastructure_fault(exc):
            raise
        log.exception("%s: %s failed", subject, stage)
        report.file_errors.append(f"{subject}: {stage} failed: {describe(exc)}")


__all__ = ["PipelineAborted", "contained", "describe", "is_infrastructure_fault"]
