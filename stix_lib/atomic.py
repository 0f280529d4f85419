"""Atomic file output: a reader sees the old file or the complete new one, never a partial file.

Every writer of the pipeline goes through these functions. New content is written to a hidden
temporary file in the target's folder (``.<name>.<random>.partial``), flushed to disk and renamed
onto the target with :func:`os.replace`. A killed process leaves at most such a hidden temporary
file, which :func:`remove_stale_temps` deletes and which no product glob matches.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TEMP_SUFFIX = ".partial"

#: ``OSError.errno`` values that mean the storage (full, over quota, read-only), not the file written, is at fault.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from (``__cause__``, else ``__context__``), each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_storage_fault(exc: BaseException) -> bool:
    """True when ``exc`` or an exception it was raised from is an ``OSError`` of :data:`STORAGE_ERRNOS`."""
    return any(isinstance(error, OSError) and error.errno in STORAGE_ERRNOS for error in exception_chain(exc))


def _open_temp(target: Path) -> tuple[int, str]:
    """A new hidden temporary file next to ``target`` (its folder made if missing): descriptor and path."""
    prefix = f".{target.name}."
    try:
        return tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=target.parent)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=target.parent)


def _temp_name(target: Path) -> Path:
    handle, name = _open_temp(target)
    os.close(handle)
    return Path(name)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename itself) to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems do not support fsync on directories
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: Path, mode: int = 0o644) -> Iterator[Path]:
    """Yield a not-yet-existing temporary path next to ``target``; rename it onto ``target`` on success.

    For writers that create the file themselves (SPICE ``spkopn``/``ckopn`` refuse existing files,
    ``zipfile``, matplotlib). On an exception the temporary file is removed and ``target`` is left
    as it was.

    Parameters
    ----------
    target
        Final path; its folder is created if needed.
    mode
        Permissions of the final file.
    """
    target = Path(target)
    temp = _temp_name(target)  # makes the folder if missing
    temp.unlink()
    try:
        yield temp
        with temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


@dataclass(frozen=True)
class LatePart:
    """A part of known size whose bytes are known only once the parts after it have been made.

    E.g. a FITS header holding the checksum of the data that follows it: the data is packed and
    written once, piece by piece, and the header filled in afterwards. Writers put ``size`` zero
    bytes in its place and overwrite them with ``fill()`` after the last part.
    """

    size: int
    fill: Callable[[], bytes]

    def content(self) -> bytes:
        """``fill()``, checked to be ``size`` bytes long."""
        data = self.fill()
        if len(data) != self.size:
            raise ValueError(f"a late part of {self.size} bytes was filled with {len(data)} bytes")
        return data


Part = bytes | bytearray | memoryview | LatePart


def join_parts(parts: Iterable[Part]) -> bytes:
    """The concatenation of ``parts`` (late parts filled in after the others are made)."""
    made = list(parts)
    return b"".join(p.content() if isinstance(p, LatePart) else p for p in made)


def _write_view(handle: int, part: bytes | bytearray | memoryview, offset: int | None = None) -> None:
    view = memoryview(part).cast("B")
    while view:
        if offset is None:
            view = view[os.write(handle, view) :]
        else:
            written = os.pwrite(handle, view, offset)
            view, offset = view[written:], offset + written


def _write_all(handle: int, parts: Iterable[Part]) -> None:
    late: list[tuple[int, LatePart]] = []
    offset = 0
    for part in parts:
        if isinstance(part, LatePart):
            late.append((offset, part))
            part = bytes(part.size)
        _write_view(handle, part)
        offset += memoryview(part).nbytes
    for at, part in late:
        _write_view(handle, part.content(), at)


def atomic_write_parts(target: Path, parts: Iterable[Part], mode: int = 0o644) -> Path:
    """Write the concatenation of ``parts`` to ``target`` atomically; return ``target``.

    The parts go one after the other (no joined copy; a :class:`LatePart` is filled in after the
    last part) into a temporary file next to ``target`` (its folder is created if needed), which
    is flushed (one ``fsync``) and renamed onto ``target`` with permissions ``mode``. Until then
    readers see ``target`` as it was; on an exception the temporary file is removed and
    ``target`` is left as it was.
    """
    target = Path(target)
    handle, name = _open_temp(target)
    try:
        try:
            os.fchmod(handle, mode)
            _write_all(handle, parts)
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return target


def atomic_write_bytes(target: Path, data: bytes | bytearray | memoryview, mode: int = 0o644) -> Path:
    """Write ``data`` to ``target`` atomically; return ``target``."""
    return atomic_write_parts(target, (data,), mode)


def atomic_write_text(target: Path, text: str, mode: int = 0o644) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``target`` atomically; return ``target``."""
    return atomic_write_bytes(target, text.encode("utf-8"), mode)


def atomic_move(source: Path, target: Path) -> Path:
    """Move ``source`` to ``target`` so that ``target`` appears complete or not at all.

    On one filesystem this is a single :func:`os.replace`. Across filesystems the data is copied to
    a temporary file in the target folder, flushed, renamed onto ``target``, and only then is
    ``source`` removed (a crash in between leaves both copies, never a partial one).

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
        return target
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    temp = _temp_name(target)
    try:
        with temp.open("wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(source, temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(target.parent)
    source.unlink()
    return target


def temp_target_name(name: str) -> str | None:
    """The name of the file a temporary file ``.<target>.<random>.partial`` was made for (``None``:
    ``name`` is not such a temporary file name)."""
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
        return None
    target = name[1 : -len(TEMP_SUFFIX)].rpartition(".")[0]  # the random part has no dot
    return target or None


def remove_stale_temps_in(folder: Path, parse_target: Callable[[str], object]) -> int:
    """Delete, in one scan of ``folder``, the temporary files of every target name ``parse_target`` accepts.

    ``parse_target`` parses a file name and raises ``ValueError`` for the names of files that are
    not the targets in question (e.g. :func:`stix_lib.lb.lb_names.parse_lb_file_name`). Call it
    only while holding whatever lock serializes the writers of those targets: a temporary file of
    such a target found then belongs to a killed writer.

    Returns
    -------
    int
        How many files were removed.
    """
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    removed = 0
    for entry in entries:
        target = temp_target_name(entry.name)
        if target is None:
            continue
        try:
            parse_target(target)
        except ValueError:
            continue
        Path(entry.path).unlink(missing_ok=True)
        removed += 1
    return removed


def sweep_stale_temps_once(folder: Path, swept: set[Path], parse_target: Callable[[str], object]) -> int:
    """:func:`remove_stale_temps_in` unless ``folder`` is in ``swept`` (then added): once per folder.

    ``swept`` belongs to the writer (one run, one product writer): a folder holds the files of
    every day of a type, so scanning it before each write would cost the size of the archive per
    file. Call it under the folder's writer lock, before the first write there.

    Returns
    -------
    int
        How many files were removed (0 for a folder swept before).
    """
    folder = Path(folder)
    if folder in swept:
        return 0
    swept.add(folder)
    return remove_stale_temps_in(folder, parse_target)


def remove_stale_temps(target: Path) -> int:
    """Delete temporary files of ``target`` left behind by killed writers; return how many.

    Call it only while holding whatever lock serializes the writers of ``target``.
    """
    target = Path(target)

    def only_target(name: str) -> None:
        if name != target.name:
            raise ValueError(name)

    return remove_stale_temps_in(target.parent, only_target)


def remove_stale_partials_below(root: Path, older_than: float) -> list[Path]:
    """Delete hidden temporary files (``.<name>.<random>.partial``) below ``root`` older than ``older_than`` s.

    Temporary files of writers killed mid-write are never renamed; the writer of the same target
    removes them under its lock (:func:`remove_stale_temps`), but a target that is not written
    again keeps them. A run calls this at its start; the age limit keeps the files of writers
    that are running right now.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    limit = time.time() - older_than
    removed = []
    for path in Path(root).rglob(f".*{TEMP_SUFFIX}"):
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # removed meanwhile by its writer
            continue
    return removed
