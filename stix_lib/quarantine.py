"""Quarantine: bad input files are moved aside (copied when used in part) with a ``<name>.reason`` file."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from stix_lib.atomic import atomic_move, atomic_path, atomic_write_text

REASON_SUFFIX = ".reason"


def _reason_text(path: Path, reason: str, stage: str) -> str:
    when = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [reason.rstrip(), "", f"file: {path.name}", f"from: {path.parent}", f"when: {when}"]
    if stage:
        lines.append(f"stage: {stage}")
    return "\n".join(lines) + "\n"


def quarantine_copy(path: Path, quarantine_dir: Path, reason: str, *, stage: str = "") -> Path:
    """Put a copy of ``path`` into ``quarantine_dir`` with its reason; the file itself stays.

    For inputs that were used in part (a truncated telemetry file gave its complete packets) but
    that an operator should look at. Same layout and replacement rule as :func:`quarantine_file`.

    Returns
    -------
    pathlib.Path
        The copy.
    """
    path = Path(path)
    target = Path(quarantine_dir) / path.name
    atomic_write_text(target.with_name(target.name + REASON_SUFFIX), _reason_text(path, reason, stage))
    with atomic_path(target) as temp:
        shutil.copyfile(path, temp)
    return target


def quarantine_file(path: Path, quarantine_dir: Path, reason: str, *, stage: str = "") -> Path:
    """Move ``path`` into ``quarantine_dir`` and write why next to it.

    The reason file is written first (atomically), then the file is moved (atomically), so a
    quarantined file never lacks its reason. A file of the same name already in quarantine is
    replaced (the same input was rejected again).

    Parameters
    ----------
    path
        The rejected file.
    quarantine_dir
        Target folder (created if needed).
    reason
        Human readable cause; should name the file and what is wrong with it.
    stage
        Pipeline step that rejected it (written into the reason file).

    Returns
    -------
    pathlib.Path
        The file's new path.
    """
    path = Path(path)
    target = Path(quarantine_dir) / path.name
    atomic_write_text(target.with_name(target.name + REASON_SUFFIX), _reason_text(path, reason, stage))
    return atomic_move(path, target)
