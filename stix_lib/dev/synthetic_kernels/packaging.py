"""SOC-style zip deliveries of a kernel set, reproducible byte for byte.

One zip per meta kernel, named after it (``solo_ANC_soc-flown-mk_V001_20240303_001.zip``), holding
the MK and every kernel it lists. Entry names are relative to the kernel root (``ck/…``, ``mk/…``),
so ``unzip -o <zip> -d <spice_dir>`` recreates (or updates) the tree; each zip is complete on its
own, and unzipping both gives the whole set (shared kernels are identical in both).

Reproducibility: entries are sorted, carry a fixed timestamp (1980-01-01 00:00, the earliest a zip
can hold), fixed Unix permissions ``0644`` and no extra fields; the content is deflated at level 9,
which is deterministic for a given zlib version.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

from stix_lib.atomic import atomic_path

#: Timestamp written into every zip entry.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_UNIX = 3


def write_zip(target: Path, root: Path, members: Iterable[str]) -> Path:
    """Write a zip of ``root``-relative ``members`` to ``target`` (atomically).

    Parameters
    ----------
    target
        Zip file to write.
    root
        Kernel root the member paths are relative to.
    members
        Relative POSIX paths; duplicates are written once, in sorted order.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    with atomic_path(target) as temp:
        with zipfile.ZipFile(temp, "w") as archive:
            for name in sorted(set(members)):
                info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = _UNIX
                info.external_attr = 0o100644 << 16
                archive.writestr(info, (Path(root) / name).read_bytes(), compresslevel=9)
    return Path(target)
