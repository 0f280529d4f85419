"""Finding the latest Solar Orbiter meta kernels (MKs) and rewriting them for loading.

Kernel tree layout: ``<kernel_dir>/{ck,fk,ik,lsk,mk,pck,sclk,spk}``; the meta kernels are
``mk/solo_ANC_soc-flown-mk_*.tm`` (flown / reconstructed) and ``mk/solo_ANC_soc-pred-mk_*.tm``
(predicted). "Latest" is the first name in a case-insensitive descending sort; the date of an MK
is the ``_YYYYMMDD_`` group of its name.

SOC meta kernels give ``PATH_VALUES`` relative to the ``mk`` folder, which SPICE would resolve
against the process working directory; :func:`rewrite_meta_kernel` therefore writes a copy whose
``PATH_VALUES`` all name the absolute kernel directory (long paths are split with SPICE's ``+``
continuation marker). Only ``\\begindata`` blocks are touched; the original is never modified.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from stix_lib.atomic import atomic_write_text

FLOWN_PATTERN = "solo_ANC_soc-flown-mk_*.tm"
PREDICTED_PATTERN = "solo_ANC_soc-pred-mk_*.tm"
_DATE = re.compile(r"_(\d{4})(\d{2})(\d{2})_")
_DATA_BLOCK = re.compile(r"(\\begindata)(.*?)(?=\\begintext|\Z)", re.DOTALL)
_PATH_VALUES = re.compile(r"(PATH_VALUES\s*=\s*)\(([^)]*)\)", re.DOTALL)
_QUOTED = re.compile(r"'(?:[^']|'')*'")
#: Longest piece of a string value written on one line (SPICE text kernels allow 80 characters).
_CHUNK = 72


@dataclass(frozen=True)
class MetaKernels:
    """The latest meta kernels of a kernel tree (either may be missing)."""

    kernel_dir: Path
    predicted: Path | None
    flown: Path | None

    @property
    def load_order(self) -> tuple[Path, ...]:
        """Predicted first, then flown: later kernels take precedence in SPICE."""
        return tuple(p for p in (self.predicted, self.flown) if p is not None)


def meta_kernel_date(path: Path | str) -> date | None:
    """Date in an MK name (``…_20200611_…`` → 2020-06-11), ``None`` if there is none."""
    match = _DATE.search(Path(path).name)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def latest_meta_kernel(mk_dir: Path, pattern: str) -> Path | None:
    """The first file matching ``pattern`` in a case-insensitive descending name sort."""
    candidates = sorted(Path(mk_dir).glob(pattern), key=lambda p: p.name.lower(), reverse=True)
    return candidates[0] if candidates else None


def find_meta_kernels(kernel_dir: Path) -> MetaKernels:
    """Locate the latest predicted and flown MKs under ``<kernel_dir>/mk``.

    Parameters
    ----------
    kernel_dir
        Root of the kernel tree.

    Returns
    -------
    MetaKernels
        With ``kernel_dir`` made absolute; missing MKs are ``None``.
    """
    root = Path(kernel_dir).resolve()
    mk_dir = root / "mk"
    return MetaKernels(root, latest_meta_kernel(mk_dir, PREDICTED_PATTERN), latest_meta_kernel(mk_dir, FLOWN_PATTERN))


def _spice_string(value: str) -> str:
    """A SPICE string literal, split into ``'…+'`` continuation pieces (one per line) when long."""
    pieces = [value[i : i + _CHUNK].replace("'", "''") for i in range(0, len(value), _CHUNK)] or [""]
    lines = [f"'{piece}+'" for piece in pieces[:-1]] + [f"'{pieces[-1]}'"]
    return "\n".join(lines)


def rewritten_meta_kernel_text(text: str, kernel_dir: Path) -> str:
    """MK text with every ``PATH_VALUES`` entry replaced by ``kernel_dir`` (absolute)."""
    absolute = str(Path(kernel_dir).resolve())

    def values(match: re.Match[str]) -> str:
        count = max(1, len(_QUOTED.findall(match[2])))
        body = "\n".join(_spice_string(absolute) for _ in range(count))
        return f"{match[1]}(\n{body}\n)"

    def block(match: re.Match[str]) -> str:
        return match[1] + _PATH_VALUES.sub(values, match[2])

    return _DATA_BLOCK.sub(block, text)


def rewrite_meta_kernel(mk_path: Path, kernel_dir: Path, work_dir: Path) -> Path:
    """Write a loadable copy of an MK with absolute ``PATH_VALUES``.

    Parameters
    ----------
    mk_path
        The original meta kernel (left untouched).
    kernel_dir
        Kernel tree root that ``PATH_VALUES`` must name.
    work_dir
        Where to write; the copy goes to ``<work_dir>/mk-<hash of kernel_dir>/<mk name>`` so trees
        with equal MK names do not collide. An up-to-date copy is not rewritten.

    Returns
    -------
    pathlib.Path
        The rewritten meta kernel.
    """
    root = Path(kernel_dir).resolve()
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    target = Path(work_dir) / f"mk-{digest}" / Path(mk_path).name
    text = rewritten_meta_kernel_text(Path(mk_path).read_text(encoding="utf-8", errors="replace"), root)
    try:
        if target.read_text(encoding="utf-8") == text:
            return target
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write_text(target, text)
    return target
