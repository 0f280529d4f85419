"""SPICE kernel and SOOP sync (runbook cron C3): mirror ``from_soc``, unzip new kernel zips safely.

The cron job ran ``rsync`` of the SOC's ``from_soc`` tree, then ``unzip -o`` of every
``solo_ANC*20*zip`` not listed in ``processed_files.txt`` into the kernel tree and appended the
names to that list whether or not ``unzip`` worked. Here:

* :func:`sync_from_soc` copies the tree with rsync (no deletions; files appear by rename);
* :func:`check_zip` refuses a zip unless every member is a regular file or directory with a
  relative path without ``..`` (no absolute paths, drive letters, backslashes, symlinks,
  devices, encryption, duplicate names), no member expands more than ``spice_zip_max_ratio`` times
  its compressed size, the whole zip expands to at most ``spice_zip_max_total`` bytes (zip bombs),
  and every member passes its CRC check;
* :func:`unzip_into` extracts into a fresh temporary folder next to the kernel tree and, only
  when everything extracted, moves the files into place one by one with ``os.replace``; every
  target is checked to resolve inside the kernel tree (zip-slip through existing symlinks too);
* :func:`unzip_pending` records a zip in the ``spice_zips`` table only after it was unzipped;
  a failed zip is reported and tried again next run, the others go on.

A zip counts as done when its name is in ``spice_zips`` with the same size; a re-delivered zip of
the same name but another size is unzipped again (its row is updated).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import Engine, select

from stix_lib.atomic import atomic_move
from stix_lib.db.ledger import file_sha256
from stix_lib.db.schema import spice_zips
from stix_lib.settings import Settings
from stix_lib.spice.meta_kernels import find_meta_kernels
from stix_lib.transfer import rsync

log = logging.getLogger(__name__)

#: Refuse archives that would unpack to more than this many bytes (zip bombs); setting ``spice_zip_max_total``.
MAX_UNZIPPED_BYTES = Settings.spice_zip_max_total
#: Refuse members expanding more than this many times (zip bombs); setting ``spice_zip_max_ratio``.
MAX_COMPRESSION_RATIO = Settings.spice_zip_max_ratio


class UnsafeZipError(ValueError):
    """A kernel zip that is refused; ``str()`` names the zip and the reason."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class ZipMember:
    """A regular file of a checked zip."""

    info: zipfile.ZipInfo
    parts: tuple[str, ...]

    @property
    def relative(self) -> str:
        """Path below the kernel tree, ``/``-separated."""
        return "/".join(self.parts)


@dataclass
class UnzipResult:
    """What one unzip pass did.

    Attributes
    ----------
    unzipped
        Zip name → kernel-tree paths it delivered.
    failed
        Zip name → reason (not ledgered; tried again next run).
    """

    unzipped: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (for XCom)."""
        return {"unzipped": {k: len(v) for k, v in self.unzipped.items()}, "failed": dict(self.failed)}


def sync_from_soc(settings: Settings, ssh: rsync.SSHEndpoint | None = None) -> list[str]:
    """Copy the SOC ``from_soc`` tree into ``from_soc_dir`` (rsync, no deletions).

    Returns
    -------
    list of str
        rsync's itemized lines of files created or updated.

    Raises
    ------
    ValueError
        The source is remote but no endpoint was given.
    stix_lib.transfer.rsync.TransferError
        rsync failed.
    """
    if ssh is None and not settings.from_soc_source_local:
        raise ValueError("from_soc_source is remote (from_soc_source_local is false) but no SSH endpoint was given")
    return rsync.sync_tree(
        settings.from_soc_source,
        Path(settings.from_soc_dir),
        ssh=ssh,
        timeout=int(settings.transfer_timeout.total_seconds()),
        io_timeout=int(settings.transfer_io_timeout.total_seconds()),
    )


def _member_parts(path: Path, info: zipfile.ZipInfo) -> tuple[str, ...]:
    name = info.filename
    if "\\" in name:
        raise UnsafeZipError(path, f"member {name!r} contains a backslash (ambiguous path separator)")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeZipError(path, f"member {name!r} has an absolute path")
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if ".." in parts:
        raise UnsafeZipError(path, f"member {name!r} contains '..' (would leave the kernel tree)")
    if not parts:
        raise UnsafeZipError(path, f"member {name!r} has an empty path")
    return parts


def check_zip(
    path: Path, max_bytes: int = MAX_UNZIPPED_BYTES, max_ratio: float = MAX_COMPRESSION_RATIO
) -> list[ZipMember]:
    """Validate a kernel zip completely (names, types, sizes, CRC of every member).

    Parameters
    ----------
    path
        The zip file.
    max_bytes
        Largest accepted total uncompressed size.
    max_ratio
        Largest accepted ratio of uncompressed to compressed size of one member.

    Returns
    -------
    list of ZipMember
        The regular files, in archive order (directories are implied by the file paths).

    Raises
    ------
    UnsafeZipError
        With the reason: not a zip / corrupt, a CRC error, an absolute path, ``..``, a symlink or
        other special file, an encrypted or duplicate member, a member expanding more than
        ``max_ratio`` times, or more than ``max_bytes`` in total.
    """
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UnsafeZipError(path, f"not a readable zip archive ({exc})") from exc
    with archive:
        members: list[ZipMember] = []
        seen: set[tuple[str, ...]] = set()
        total = 0
        for info in archive.infolist():
            parts = _member_parts(path, info)
            mode = (info.external_attr >> 16) & 0o177777
            kind = stat.S_IFMT(mode)
            if stat.S_ISLNK(mode):
                raise UnsafeZipError(path, f"member {info.filename!r} is a symbolic link")
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise UnsafeZipError(path, f"member {info.filename!r} is not a regular file (mode {oct(mode)})")
            if info.flag_bits & 0x1:
                raise UnsafeZipError(path, f"member {info.filename!r} is encrypted")
            if info.is_dir() or kind == stat.S_IFDIR:
                continue
            if parts in seen:
                raise UnsafeZipError(path, f"member {info.filename!r} occurs twice")
            seen.add(parts)
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > max_ratio:
                raise UnsafeZipError(
                    path,
                    f"member {info.filename!r} expands {ratio:.0f} times ({info.compress_size} -> {info.file_size} "
                    f"bytes), more than the limit of {max_ratio:g} (spice_zip_max_ratio)",
                )
            total += info.file_size
            members.append(ZipMember(info, parts))
        if total > max_bytes:
            raise UnsafeZipError(
                path, f"unpacks to {total} bytes, more than the limit of {max_bytes} (spice_zip_max_total)"
            )
        try:
            bad = archive.testzip()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise UnsafeZipError(path, f"corrupt archive ({exc})") from exc
        if bad is not None:
            raise UnsafeZipError(path, f"member {bad!r} fails its CRC check (corrupt archive)")
    return members


def _inside(root: Path, target: Path) -> bool:
    try:
        target.resolve(strict=False).relative_to(root)
    except ValueError:
        return False
    return True


def unzip_into(
    path: Path, kernel_dir: Path, *, max_bytes: int = MAX_UNZIPPED_BYTES, max_ratio: float = MAX_COMPRESSION_RATIO
) -> list[str]:
    """Check ``path`` and extract it into ``kernel_dir`` (files replaced one by one, atomically).

    Parameters
    ----------
    path
        Kernel zip (member paths relative to the kernel tree, e.g. ``mk/…tm``, ``spk/…bsp``).
    kernel_dir
        The kernel tree (created if missing); nothing is written outside it except a temporary
        folder ``<parent>/.unzip-*`` that is removed afterwards.
    max_bytes, max_ratio
        Zip bomb limits (see :func:`check_zip`).

    Returns
    -------
    list of str
        Kernel-tree paths written.

    Raises
    ------
    UnsafeZipError
        The zip is refused (see :func:`check_zip`), a target would resolve outside the kernel tree,
        or a directory stands where a file goes. Nothing has been written to the tree then.
    """
    path = Path(path)
    members = check_zip(path, max_bytes, max_ratio)
    root = Path(kernel_dir)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    targets: list[Path] = []
    for member in members:
        target = root.joinpath(*member.parts)
        if not _inside(root, target):
            raise UnsafeZipError(path, f"member {member.info.filename!r} would be written outside {root}")
        if target.is_dir():
            raise UnsafeZipError(path, f"member {member.info.filename!r}: a directory exists at {target}")
        targets.append(target)
    staging = Path(tempfile.mkdtemp(prefix=".unzip-", dir=root.parent))
    try:
        staged: list[Path] = []
        with zipfile.ZipFile(path) as archive:
            for index, member in enumerate(members):
                out = staging / f"{index:06d}"
                try:
                    with archive.open(member.info) as src, out.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise UnsafeZipError(path, f"member {member.info.filename!r} is corrupt ({exc})") from exc
                out.chmod(0o644)
                stamp = time.mktime((*member.info.date_time, 0, 0, -1))
                os.utime(out, (stamp, stamp))
                staged.append(out)
        for out, target in zip(staged, targets, strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            if not _inside(root, target):  # a folder became a symlink meanwhile
                raise UnsafeZipError(path, f"{target} resolves outside {root}")
            atomic_move(out, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [m.relative for m in members]


def find_zips(settings: Settings) -> list[Path]:
    """Kernel zips below ``from_soc_dir`` (name matches ``spice_zip_pattern``; hidden paths skipped)."""
    base = Path(settings.from_soc_dir)
    if not base.is_dir():
        return []
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and fnmatch.fnmatchcase(name, settings.spice_zip_pattern):
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: p.name)


def unzipped(engine: Engine) -> dict[str, int]:
    """Ledgered zips: name → size."""
    with engine.connect() as conn:
        return {row.name: row.size for row in conn.execute(select(spice_zips.c.name, spice_zips.c.size))}


def record_zip(engine: Engine, path: Path, files: list[str]) -> None:
    """Ledger a successfully unzipped zip (insert, or update a re-delivered one)."""
    values = {
        "sha256": file_sha256(path),
        "size": path.stat().st_size,
        "unzipped_at": datetime.now(UTC),
        "files": json.dumps(files),
    }
    with engine.begin() as conn:
        exists = conn.execute(select(spice_zips.c.id).where(spice_zips.c.name == path.name)).first()
        if exists:
            conn.execute(spice_zips.update().where(spice_zips.c.id == exists.id).values(**values))
        else:
            conn.execute(spice_zips.insert().values(name=path.name, **values))


def pending_zips(settings: Settings, engine: Engine) -> list[Path]:
    """Zips not yet unzipped (or re-delivered with another size)."""
    done = unzipped(engine)
    return [p for p in find_zips(settings) if done.get(p.name) != p.stat().st_size]


def unzip_pending(settings: Settings, engine: Engine) -> UnzipResult:
    """Unzip every pending zip into ``spice_dir``; ledger the successes; collect the failures.

    Returns
    -------
    UnzipResult
    """
    result = UnzipResult()
    for path in pending_zips(settings, engine):
        try:
            files = unzip_into(
                path,
                Path(settings.spice_dir),
                max_bytes=settings.spice_zip_max_total,
                max_ratio=settings.spice_zip_max_ratio,
            )
        except (UnsafeZipError, OSError) as exc:
            result.failed[path.name] = str(exc)
            log.error("kernel zip refused: %s", exc)
            continue
        record_zip(engine, path, files)
        result.unzipped[path.name] = files
        log.info("unzipped %s: %d files into %s", path.name, len(files), settings.spice_dir)
    return result


def meta_kernel_names(kernel_dir: Path) -> dict[str, str | None]:
    """Latest flown and predicted meta kernels of the tree (file names, None if missing)."""
    found = find_meta_kernels(Path(kernel_dir))
    return {
        "flown_mk": found.flown.name if found.flown else None,
        "predicted_mk": found.predicted.name if found.predicted else None,
    }
