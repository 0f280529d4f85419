"""Zip deliveries, reproducible output and rebuilding into the same folder."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from stix_lib.dev.synthetic_kernels import KernelSetManifest, build_kernel_set
from stix_lib.dev.synthetic_kernels.builder import MANIFEST_NAME
from stix_lib.spice import SpiceKernels, flown_coverage
from tests.support.kernels_support import END, FLOWN_UNTIL, START, tree


def test_zips_hold_each_meta_kernel_and_its_kernels(kernel_set: KernelSetManifest) -> None:
    assert [z.name for z in kernel_set.zips] == [
        "solo_ANC_soc-flown-mk_V001_20240303_001.zip",
        "solo_ANC_soc-pred-mk_V001_20240303_001.zip",
    ]
    flown, predicted = (zipfile.ZipFile(path) for path in kernel_set.zips)
    with flown, predicted:
        assert flown.namelist() == sorted([*kernel_set.names.flown(), kernel_set.names.flown_mk])
        assert predicted.namelist() == sorted([*kernel_set.names.predicted(), kernel_set.names.predicted_mk])
        for archive in (flown, predicted):
            for info in archive.infolist():
                assert info.date_time == (1980, 1, 1, 0, 0, 0)
                assert archive.read(info) == (kernel_set.root / info.filename).read_bytes()


def test_unzip_recreates_the_tree(kernel_set: KernelSetManifest, tmp_path: Path) -> None:
    target = tmp_path / "spice"
    for path in kernel_set.zips:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(target)
    assert tree(target) == tree(kernel_set.root, exclude=("zip", MANIFEST_NAME))
    assert SpiceKernels(target, tmp_path / "work").load().meta_kernel_names == [
        kernel_set.predicted_meta_kernel.name,
        kernel_set.flown_meta_kernel.name,
    ]


@pytest.mark.skipif(shutil.which("unzip") is None, reason="no unzip program")
def test_unzip_program(kernel_set: KernelSetManifest, tmp_path: Path) -> None:
    target = tmp_path / "spice"
    subprocess.run(["unzip", "-q", "-o", str(kernel_set.zips[0]), "-d", str(target)], check=True)
    expected = {name: data for name, data in tree(kernel_set.root).items() if name in kernel_set.names.flown()}
    expected[kernel_set.names.flown_mk] = kernel_set.flown_meta_kernel.read_bytes()
    assert tree(target) == expected
    coverage = flown_coverage(SpiceKernels(target, tmp_path / "work").load())
    assert coverage is not None and str(coverage.utc_end)[:19] == FLOWN_UNTIL


def test_rebuild_is_byte_identical(kernel_set: KernelSetManifest, tmp_path: Path) -> None:
    again = build_kernel_set(tmp_path / "again", START, END, FLOWN_UNTIL, make_zips=True)
    first, second = tree(kernel_set.root), tree(again.root)
    assert first.keys() == second.keys()
    different = [name for name in first if first[name] != second[name]]
    assert different == []  # text kernels, SPK/CK, zips and the manifest alike
    text = [name for name in first if name.endswith((".tf", ".tpc", ".tsc", ".tm", ".tls"))]
    assert len(text) == 7


def test_rebuild_in_place_replaces_stale_files(tmp_path: Path) -> None:
    root = tmp_path / "kernels"
    first = build_kernel_set(root, START, END, "2024-03-04", make_zips=True)
    (root / "mk" / "notes.txt").write_text("not ours")
    second = build_kernel_set(root, START, END, FLOWN_UNTIL)
    assert not first.flown_meta_kernel.exists()  # a later-dated flown MK would shadow the new one
    assert not (root / first.names.flown_spk).exists()
    assert not any(path.exists() for path in first.zips)
    assert (root / "mk" / "notes.txt").read_text() == "not ours"
    assert second.flown_meta_kernel.exists() and (root / second.names.flown_spk).exists()
    assert set(tree(root, exclude=(MANIFEST_NAME,))) == {*second.files, "mk/notes.txt"}


def test_flown_defaults_to_everything(tmp_path: Path) -> None:
    manifest = build_kernel_set(tmp_path / "k", START, END)
    assert manifest.flown_until == manifest.end
    assert manifest.flown_meta_kernel.name == "solo_ANC_soc-flown-mk_V001_20240305_001.tm"
    coverage = flown_coverage(SpiceKernels(manifest.root, tmp_path / "work").load())
    assert coverage is not None and str(coverage.spk_utc_end)[:19] == END
