"""Meta-kernel discovery (latest flown/predicted) and PATH_VALUES rewriting."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
import spiceypy

from stix_lib.spice.meta_kernels import (
    find_meta_kernels,
    meta_kernel_date,
    rewrite_meta_kernel,
    rewritten_meta_kernel_text,
)

MK_TEMPLATE = """KPL/MK

   Mention of PATH_VALUES = ( '..' ) in a comment must stay as it is.

   \\begindata

     PATH_VALUES       = ( '..' )
     PATH_SYMBOLS      = ( 'KERNELS' )
     KERNELS_TO_LOAD   = ( '$KERNELS/lsk/naif0012.tls' )

   \\begintext
"""


def _tree(root: Path, names: list[str]) -> Path:
    (root / "mk").mkdir(parents=True)
    for name in names:
        (root / "mk" / name).write_text(MK_TEMPLATE)
    return root


def test_latest_is_first_in_case_insensitive_descending_sort(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "kernels",
        [
            "solo_ANC_soc-flown-mk_v106_20200301_001.tm",  # a case-sensitive sort would pick this one
            "solo_ANC_soc-flown-mk_V107_20200201_001.tm",
            "solo_ANC_soc-flown-mk_V105_20200401_001.tm",
            "solo_ANC_soc-pred-mk_V107_20200201_001.tm",
            "solo_ANC_soc-pred-mk_V107_20200201_002.tm",
            "other-mk_V999_20300101_001.tm",
        ],
    )
    found = find_meta_kernels(root)
    assert found.kernel_dir == root.resolve()
    assert found.flown is not None and found.flown.name == "solo_ANC_soc-flown-mk_V107_20200201_001.tm"
    assert found.predicted is not None and found.predicted.name == "solo_ANC_soc-pred-mk_V107_20200201_002.tm"
    assert found.load_order == (found.predicted, found.flown)


def test_missing_meta_kernels(tmp_path: Path) -> None:
    only_flown = find_meta_kernels(_tree(tmp_path / "a", ["solo_ANC_soc-flown-mk_V1_20200101_001.tm"]))
    assert only_flown.predicted is None and only_flown.load_order == (only_flown.flown,)
    nothing = find_meta_kernels(tmp_path / "does-not-exist")
    assert nothing.flown is None and nothing.predicted is None and nothing.load_order == ()


def test_meta_kernel_date() -> None:
    assert meta_kernel_date("solo_ANC_soc-flown-mk_V107_20220202_001.tm") == date(2022, 2, 2)
    assert meta_kernel_date(Path("/x/solo_ANC_soc-pred-mk_V999_20200611_001.tm")) == date(2020, 6, 11)
    assert meta_kernel_date("solo_ANC_soc-flown-mk_V107_001.tm") is None
    assert meta_kernel_date("solo_ANC_soc-flown-mk_V107_20221345_001.tm") is None


def test_rewrite_touches_only_data_blocks(tmp_path: Path) -> None:
    text = rewritten_meta_kernel_text(MK_TEMPLATE, tmp_path)
    assert "Mention of PATH_VALUES = ( '..' ) in a comment" in text
    data = text.split("\\begindata", 1)[1]
    assert f"'{tmp_path.resolve()}'" in data
    assert "'..'" not in data
    assert "KERNELS_TO_LOAD   = ( '$KERNELS/lsk/naif0012.tls' )" in text


def test_rewritten_copy_loads_with_a_long_path(reference_data: Path, tmp_path: Path) -> None:
    """A kernel dir path longer than a SPICE line is written with '+' continuations and still loads."""
    # longer than a line (80), yet far below the 255 characters SPICE allows for a path + file name
    # whatever the temp root (xdist adds popen-gwN/)
    deep = tmp_path.joinpath(*(["a_rather_long_directory_name_for_testing"] * 2), "kernels")
    (deep / "mk").mkdir(parents=True)
    os.symlink(reference_data / "spice" / "kernels" / "lsk", deep / "lsk")
    original = deep / "mk" / "solo_ANC_soc-flown-mk_V1_20200101_001.tm"
    original.write_text(MK_TEMPLATE)
    assert len(str(deep.resolve())) > 80
    work = tmp_path / "work"
    copy = rewrite_meta_kernel(original, deep, work)
    assert copy.parent.parent == work and copy.name == original.name
    assert original.read_text() == MK_TEMPLATE  # the original is untouched
    assert "+'" in copy.read_text()
    spiceypy.kclear()
    try:
        spiceypy.furnsh(str(copy))
        assert spiceypy.ktotal("TEXT") == 1
        assert spiceypy.str2et("2000-01-01T12:00:00") == pytest.approx(64.184, abs=1e-3)
    finally:
        spiceypy.kclear()


def test_rewrite_is_atomic_and_skipped_when_unchanged(tmp_path: Path) -> None:
    root = _tree(tmp_path / "kernels", ["solo_ANC_soc-flown-mk_V1_20200101_001.tm"])
    mk = root / "mk" / "solo_ANC_soc-flown-mk_V1_20200101_001.tm"
    work = tmp_path / "work"
    first = rewrite_meta_kernel(mk, root, work)
    stamp = first.stat().st_mtime_ns
    os.utime(first, ns=(stamp - 10**9, stamp - 10**9))
    second = rewrite_meta_kernel(mk, root, work)
    assert second == first
    assert second.stat().st_mtime_ns == stamp - 10**9  # not rewritten
    assert sorted(p.name for p in first.parent.iterdir()) == [mk.name]  # no temp files left
    # another tree with the same MK name gets its own copy
    other = _tree(tmp_path / "other", ["solo_ANC_soc-flown-mk_V1_20200101_001.tm"])
    third = rewrite_meta_kernel(other / "mk" / mk.name, other, work)
    joined = re.sub(r"\+'\s*'", "", third.read_text())  # SPICE: a string ending in + continues on the next
    assert third != first and str(other.resolve()) in joined
