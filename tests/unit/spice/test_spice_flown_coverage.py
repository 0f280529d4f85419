"""Coverage of the flown kernels (for releasing TM files)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from stix_lib.spice.clock import format_utc
from stix_lib.spice.coverage import flown_coverage
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.time import SCETime, SCETimeDelta


@pytest.fixture(scope="module")
def spice(reference_data: Path, tmp_path_factory: pytest.TempPathFactory) -> SpiceKernels:
    return SpiceKernels(reference_data / "spice" / "kernels", tmp_path_factory.mktemp("spice-work")).load()


def test_flown_coverage(spice: SpiceKernels) -> None:
    coverage = flown_coverage(spice)
    assert coverage is not None
    assert coverage.meta_kernel == "solo_ANC_soc-flown-mk_V999_20200611_001.tm"
    assert coverage.mk_date == date(2020, 6, 11)
    # the orbit file spans 2020-02-10 .. 2030-11-18, so the MK date is what limits coverage
    assert str(format_utc(coverage.spk_utc_start))[:10] == "2020-02-10"
    assert str(format_utc(coverage.spk_utc_end))[:10] == "2030-11-18"
    assert coverage.utc_end == np.datetime64("2020-06-11T00:00:00", "ns")
    assert str(format_utc(spice.scet_to_datetime64(coverage.obt_end))) == "2020-06-11T00:00:00.000"


def test_covers(spice: SpiceKernels) -> None:
    coverage = flown_coverage(spice)
    assert coverage is not None
    end = coverage.obt_end
    may_2020 = SCETime([642038387, 642124787], 0)
    assert coverage.covers(may_2020)
    assert coverage.covers(end)
    assert not coverage.covers(end + SCETimeDelta(0, 1))
    assert not coverage.covers(SCETime.concatenate([may_2020, SCETime(end.coarse + 3600, 0)]))
    assert coverage.covers(SCETime(628184120, 0))  # 2019 ground test: before, hence final
    # unsynchronised times (top coarse bit set) are not clock readings: ignored
    unsynchronised = SCETime(2**31 + 5, 0)
    assert coverage.covers(SCETime.concatenate([may_2020, unsynchronised]))
    assert not coverage.covers(SCETime.concatenate([unsynchronised, SCETime(end.coarse + 1, 0)]))
    assert coverage.covers(SCETime([], []))


def test_no_flown_meta_kernel(reference_data: Path, tmp_path: Path) -> None:
    import os

    root = tmp_path / "tree"
    (root / "mk").mkdir(parents=True)
    source = reference_data / "spice" / "kernels"
    for name in ("ck", "fk", "ik", "lsk", "pck", "sclk", "spk"):
        os.symlink(source / name, root / name)
    pred = "solo_ANC_soc-pred-mk_V999_20200611_001.tm"
    (root / "mk" / pred).write_text((source / "mk" / pred).read_text())
    spice = SpiceKernels(root, tmp_path / "work").load()
    assert spice.meta_kernel_names == [pred]
    assert flown_coverage(spice) is None
