"""FITS archive → NAS mirror (runbook cron C5: ``rsync -avLo --delete fits/ nas/stixcore_fits/``).

The mirror follows additions, changes and deletions of ``fits_archive_dir``. Names that are
temporary while a product is being written — dot files, ``*.tmp``, ``*.part`` (the archive
writers' temp + rename convention) — are never copied, so a half-written product never reaches
the NAS; they are also left alone at the target. Symlinks are copied as the files they point to
(``-L``, as the runbook). As a guard against mirroring an unmounted or wiped archive, an
archive folder that is missing, or empty while the mirror is not, is refused instead of deleting
the whole mirror.
"""

from __future__ import annotations

import os
from pathlib import Path

from stix_lib.settings import Settings
from stix_lib.transfer import rsync

#: Never copied, never deleted at the target.
TEMP_PATTERNS = (".*", "*.tmp", "*.part")


class NasSyncError(RuntimeError):
    """The mirror was refused (the message says why)."""


def _has_files(folder: Path) -> bool:
    for _dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if any(not name.startswith(".") for name in filenames):
            return True
    return False


def mirror_fits(settings: Settings, ssh: rsync.SSHEndpoint | None = None) -> list[str]:
    """Mirror ``fits_archive_dir`` to ``nas_mirror_dir`` (local, or on ``ssh``).

    Parameters
    ----------
    settings
        ``fits_archive_dir``, ``nas_mirror_dir`` and the transfer timeouts are used.
    ssh
        The NAS endpoint; None for a local (mounted) mirror folder.

    Returns
    -------
    list of str
        rsync's itemized changes.

    Raises
    ------
    NasSyncError
        The archive folder is missing, or empty while a local mirror has files.
    stix_lib.transfer.rsync.TransferError
        rsync failed.
    """
    archive = Path(settings.fits_archive_dir)
    target = Path(settings.nas_mirror_dir)
    if not archive.is_dir():
        raise NasSyncError(f"FITS archive {archive} does not exist (not mounted?); not mirroring")
    if not _has_files(archive) and (ssh is not None or (target.is_dir() and _has_files(target))):
        raise NasSyncError(
            f"FITS archive {archive} is empty but the mirror {target} is not: refusing to delete the whole mirror"
        )
    if ssh is None:
        target.mkdir(parents=True, exist_ok=True)
    return rsync.mirror(
        archive,
        str(target),
        ssh=ssh,
        exclude=TEMP_PATTERNS,
        copy_links=True,
        timeout=int(settings.transfer_timeout.total_seconds()),
        io_timeout=int(settings.transfer_io_timeout.total_seconds()),
    )
