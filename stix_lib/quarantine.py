"""Quarantine: bad input files are moved aside with a ``<name>.reason`` text file next to them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from stix_lib.atomic import atomic_move, atomic_write_text

REASON_SUFFIX = ".reason"


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
    when = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [reason.rstrip(), "", f"file: {path.name}", f"from: {path.parent}", f"when: {when}"]
    if stage:
        lines.append(f"stage: {stage}")
    atomic_write_text(target.with_name(target.name + REASON_SUFFIX), "\n".join(lines) + "\n")
    return atomic_move(path, target)
