"""Helpers for the ingest / staging / sync tests: kernel trees, kernel zips, asset events."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

MK_TEMPLATE = "solo_ANC_soc-flown-mk_V999_20200611_001.tm"
PRED_TEMPLATE = "solo_ANC_soc-pred-mk_V999_20200611_001.tm"


def flown_mk_name(day: str) -> str:
    """Name of a flown meta kernel dated ``day`` (``YYYYMMDD``)."""
    return f"solo_ANC_soc-flown-mk_V999_{day}_001.tm"


def mk_text(reference_data: Path, template: str = MK_TEMPLATE) -> str:
    """Text of a real meta kernel of the shared data (relative PATH_VALUES ``..``)."""
    return (reference_data / "spice" / "kernels" / "mk" / template).read_text()


def build_kernel_tree(root: Path, reference_data: Path, flown_day: str | None) -> Path:
    """Copy the real 2020 kernels into ``root`` with a predicted MK and a flown MK dated ``flown_day``."""
    source = reference_data / "spice" / "kernels"
    for sub in ("ck", "fk", "ik", "lsk", "pck", "sclk", "spk"):
        shutil.copytree(source / sub, root / sub)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # the shared copy is read-only
    (root / "mk").mkdir(parents=True)
    (root / "mk" / PRED_TEMPLATE).write_text(mk_text(reference_data, PRED_TEMPLATE))
    if flown_day:
        (root / "mk" / flown_mk_name(flown_day)).write_text(mk_text(reference_data))
    return root


def write_zip(
    path: Path, members: dict[str, bytes], symlinks: dict[str, str] | None = None, *, stored: bool = False
) -> Path:
    """Write a zip with regular ``members`` (name → bytes) and optional symlink members (name → target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            archive.writestr(info, data, compress_type=method)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            info.external_attr = 0o120777 << 16
            info.create_system = 3
            archive.writestr(info, target)
    return path


def flown_mk_zip(path: Path, reference_data: Path, day: str) -> Path:
    """A kernel delivery zip holding a new flown meta kernel (as SOC zips: paths relative to the tree)."""
    return write_zip(path, {f"mk/{flown_mk_name(day)}": mk_text(reference_data).encode()})


def asset_events(uri: str) -> list[dict]:
    """Extras of the asset events recorded in the Airflow DB for ``uri``, oldest first."""
    from airflow import settings
    from airflow.models.asset import AssetEvent, AssetModel
    from sqlalchemy import select

    with settings.Session() as session:
        rows = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.uri == uri)
            .order_by(AssetEvent.id)
        ).all()
        return [dict(row.extra or {}) for row in rows]
