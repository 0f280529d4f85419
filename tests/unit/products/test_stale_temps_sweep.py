"""The product writer removes left-overs of killed writers once per folder (one mechanism with LB files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stix_lib.atomic import TEMP_SUFFIX
from stix_lib.products.writer import ProductWriter


def test_stale_temps_of_any_daily_file_go_once_per_folder(
    moc_l0: dict, writer: ProductWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    (first,) = writer.write_l0(moc_l0[(21, 6, 43)])
    folder = first.path.parent
    other_day = first.path.name.replace("_0628128000_", "_0628214400_")
    assert other_day != first.path.name
    stale = [
        folder / f".{first.path.name}.abc{TEMP_SUFFIX}",  # the file written again below
        folder / f".{other_day}.x_9{TEMP_SUFFIX}",  # a day not written in this run
    ]
    kept = [
        folder / f".notes.txt.abc{TEMP_SUFFIX}",  # not a temporary file of a daily product
        folder / f"{first.path.name}.abc{TEMP_SUFFIX}",  # not hidden: not one of ours
    ]
    for path in [*stale, *kept]:
        path.write_bytes(b"half a file")
    scans: list[Path] = []
    real_scandir = os.scandir

    def counting(path):
        if Path(path) == folder:
            scans.append(Path(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counting)
    again = ProductWriter(writer.archive, energy_channels=writer.energy_channels)
    again.write_l0(moc_l0[(21, 6, 43)])
    changed = moc_l0[(21, 6, 43)].with_rows([1])
    changed.data.replace_values("pald", changed.data["pald"] + 1)
    again.write_l0(changed)  # a second merge in the same folder: no second scan
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)
    assert scans == [folder]
