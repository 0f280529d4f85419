"""SpiceKernels: load order, cheap repeated loads, recovery and failures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import spiceypy

from stix_lib.spice.errors import SpiceKernelError
from stix_lib.spice.kernels import SpiceKernels

SUBDIRS = ("ck", "fk", "ik", "lsk", "pck", "sclk", "spk")


@pytest.fixture
def kernel_dir(reference_data: Path) -> Path:
    return reference_data / "spice" / "kernels"


def _linked_tree(source: Path, root: Path, mk_texts: dict[str, str]) -> Path:
    """A kernel tree whose data folders link to the real ones and whose mk/ holds ``mk_texts``."""
    (root / "mk").mkdir(parents=True)
    for name in SUBDIRS:
        os.symlink(source / name, root / name)
    for name, text in mk_texts.items():
        (root / "mk" / name).write_text(text)
    return root


def _count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    calls: list[str] = []
    original = getattr(spiceypy, name)

    def counting(*args):
        calls.append(str(args[0]) if args else "")
        return original(*args)

    monkeypatch.setattr(spiceypy, name, counting)
    return calls


def test_loads_predicted_then_flown(kernel_dir: Path, tmp_path: Path) -> None:
    with SpiceKernels(kernel_dir, tmp_path) as spice:
        assert spice.meta_kernel_names == [
            "solo_ANC_soc-pred-mk_V999_20200611_001.tm",
            "solo_ANC_soc-flown-mk_V999_20200611_001.tm",
        ]
        loaded = [spiceypy.kdata(i, "META")[0] for i in range(spiceypy.ktotal("META"))]
        assert loaded == [spice.rewritten_path(p) for p in spice.meta_kernels]
        assert all(path.startswith(str(tmp_path)) for path in loaded)
        assert spice.flown_meta_kernel is not None and spice.flown_meta_kernel.name.startswith("solo_ANC_soc-flown")
        assert spice.predicted_meta_kernel is not None
        assert spice.is_loaded()
        assert spiceypy.ktotal("SPK") > 0


def test_repeated_loads_do_not_reload(kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    SpiceKernels(kernel_dir, tmp_path).load()
    furnished = _count_calls(monkeypatch, "furnsh")
    cleared = _count_calls(monkeypatch, "kclear")
    again = SpiceKernels(kernel_dir, tmp_path)  # a new object, same set
    with again:
        again.load()
        again.ensure_loaded()
    assert furnished == [] and cleared == []
    assert again.meta_kernel_names[-1] == "solo_ANC_soc-flown-mk_V999_20200611_001.tm"


def test_reloads_when_spice_was_changed(kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spice = SpiceKernels(kernel_dir, tmp_path).load()
    spiceypy.kclear()
    assert not spice.is_loaded()
    furnished = _count_calls(monkeypatch, "furnsh")
    spice.ensure_loaded()
    assert len(furnished) == 2 and spice.is_loaded()
    # an extra kernel loaded behind our back is noticed as well
    spiceypy.furnsh(str(kernel_dir / "pck" / "pck00010.tpc"))
    assert not spice.is_loaded()
    spice.ensure_loaded()
    assert spice.is_loaded() and len(furnished) == 5  # the extra one + our two


def test_flown_only_and_unload_on_exit(kernel_dir: Path, tmp_path: Path) -> None:
    with SpiceKernels(kernel_dir, tmp_path, use_predicted=False, unload_on_exit=True) as spice:
        assert spice.meta_kernel_names == ["solo_ANC_soc-flown-mk_V999_20200611_001.tm"]
        assert spice.predicted_meta_kernel is None
    assert spiceypy.ktotal("ALL") == 0


def test_no_meta_kernel(tmp_path: Path) -> None:
    (tmp_path / "k" / "mk").mkdir(parents=True)
    with pytest.raises(SpiceKernelError, match="no meta kernel found"):
        SpiceKernels(tmp_path / "k", tmp_path / "w").load()


def test_broken_meta_kernel_is_skipped(kernel_dir: Path, tmp_path: Path) -> None:
    good = (kernel_dir / "mk" / "solo_ANC_soc-pred-mk_V999_20200611_001.tm").read_text()
    bad = good.replace("naif0012.tls", "naif9999.tls")
    root = _linked_tree(
        kernel_dir,
        tmp_path / "tree",
        {"solo_ANC_soc-pred-mk_V1_20200101_001.tm": good, "solo_ANC_soc-flown-mk_V1_20200101_001.tm": bad},
    )
    spice = SpiceKernels(root, tmp_path / "work").load()
    assert spice.meta_kernel_names == ["solo_ANC_soc-pred-mk_V1_20200101_001.tm"]
    assert spice.flown_meta_kernel is None
    assert "NOSUCHFILE" in spice.load_errors["solo_ANC_soc-flown-mk_V1_20200101_001.tm"]
    assert [spiceypy.kdata(i, "META")[0] for i in range(spiceypy.ktotal("META"))] == [
        spice.rewritten_path(spice.meta_kernels[0])
    ]
    assert spice.is_loaded()


def test_all_meta_kernels_broken(kernel_dir: Path, tmp_path: Path) -> None:
    bad = (kernel_dir / "mk" / "solo_ANC_soc-pred-mk_V999_20200611_001.tm").read_text().replace("lsk/", "nope/")
    root = _linked_tree(kernel_dir, tmp_path / "tree", {"solo_ANC_soc-flown-mk_V1_20200101_001.tm": bad})
    with pytest.raises(SpiceKernelError, match="failed to load any meta kernel"):
        SpiceKernels(root, tmp_path / "work").load()
    assert spiceypy.ktotal("ALL") == 0


def test_pickles_for_worker_processes(kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    spice = SpiceKernels(kernel_dir, tmp_path).load()
    copy = pickle.loads(pickle.dumps(spice))
    furnished = _count_calls(monkeypatch, "furnsh")
    copy.ensure_loaded()  # same set already held: nothing to do
    assert furnished == []
    spiceypy.kclear()  # as in a fresh worker process
    copy.ensure_loaded()
    assert len(furnished) == 2 and copy.meta_kernel_names == spice.meta_kernel_names


def test_unchanged_pool_is_checked_without_listing_kernels(
    kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spice = SpiceKernels(kernel_dir, tmp_path).load()
    listed = _count_calls(monkeypatch, "kdata")
    for _ in range(5):
        spice.ensure_loaded()
    assert listed == []  # the pool watcher and the kernel count suffice


def test_another_set_of_the_same_size_is_noticed(
    kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same kernels under other meta-kernel names: same kernel count, yet another set."""
    texts = {path.name.replace("V999", "V998"): path.read_text() for path in (kernel_dir / "mk").glob("*.tm")}
    other = SpiceKernels(_linked_tree(kernel_dir, tmp_path / "tree", texts), tmp_path / "other")
    spice = SpiceKernels(kernel_dir, tmp_path / "work").load()
    spice.ensure_loaded()
    count = spiceypy.ktotal("ALL")
    other.load()
    assert spiceypy.ktotal("ALL") == count
    furnished = _count_calls(monkeypatch, "furnsh")
    spice.ensure_loaded()
    assert len(furnished) == 2 and spice.is_loaded() and not other.is_loaded()
    other.ensure_loaded()  # and back: the other object notices too
    assert len(furnished) == 4 and other.is_loaded()


def test_without_a_pool_watcher_every_check_is_a_full_one(
    kernel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spiceypy.utils.exceptions import SpiceyError

    def no_watcher(*args):
        raise SpiceyError("SPICE(TOOMANYWATCHES)")

    monkeypatch.setattr(spiceypy, "swpool", no_watcher)
    spice = SpiceKernels(kernel_dir, tmp_path).load()
    listed = _count_calls(monkeypatch, "kdata")
    spice.ensure_loaded()
    assert listed  # the META list is read again
    spiceypy.kclear()
    spice.ensure_loaded()
    assert spice.is_loaded()
