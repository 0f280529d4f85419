"""Science LB files -> per-request L0/L1 files: complete sequences, decoding, errors per request, the pipeline step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from stix_lib.idb.manager import IDBManager
from stix_lib.lb.fits_io import read_lb
from stix_lib.lb.request_sequences import request_sequences
from stix_lib.products.l0.packets import decode_lb_product
from stix_lib.products.l0.science import ALL_SCIENCE_SSIDS, decode_science_request
from stix_lib.products.science.errors import NoRidLut, ScienceRequestError
from stix_lib.products.science.file import ScienceOutput, write_science_file
from stix_lib.products.science.naming import obt_range, product_version, science_l0_path
from stix_lib.products.sequence_gaps import ArchiveGapExplainer, packet_btimes
from stix_lib.products.steps import StepResult
from stix_lib.products.writer import ProductWriter
from stix_lib.ridlut.table import RidLut


@dataclass
class ScienceLBResult:
    """What :func:`process_science_lb` did with one LB file.

    Attributes
    ----------
    written
        Files written now (L0 and L1 of each complete request).
    existing
        Files that existed already (write-once: left as they were).
    incomplete
        One line per incomplete sequence (no product).
    errors
        Packets or requests left out, with the reason.
    waiting
        L1 files held back by :attr:`ScienceOutput.l1_gate`, with the reason.
    levels
        Level (``"L0"``/``"L1"``) of every file in ``written`` and ``existing``.
    """

    written: list[Path] = field(default_factory=list)
    existing: list[Path] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    levels: dict[Path, str] = field(default_factory=dict)

    def files_of(self, level: str) -> tuple[list[Path], list[Path]]:
        """``(written, existing)`` files of one level (``"L0"`` or ``"L1"``)."""
        return (
            [p for p in self.written if self.levels[p] == level],
            [p for p in self.existing if self.levels[p] == level],
        )


def process_science_lb(
    lb_path: Path,
    out: ScienceOutput,
    idb_manager: IDBManager,
    *,
    version: int = 2,
    levels: tuple[str, ...] = ("L0", "L1"),
) -> ScienceLBResult:
    """LB file of science requests -> L0 and L1 files of its complete sequences.

    Incomplete sequences (:func:`stix_lib.lb.request_sequences.request_sequences`) yield no
    product and are reported; a sequence whose packets need more than one IDB version, fail to
    decode, cannot be combined or cannot be descaled is reported in ``errors``. ``levels``
    selects the files written; ``version`` is the configured version (see :func:`product_version`).
    """
    lb = read_lb(lb_path)
    if lb.key[:2] != (21, 6) or lb.key[2] not in ALL_SCIENCE_SSIDS:
        raise ScienceRequestError(f"{lb_path.name}: packet type {lb.key} is not a science request")
    result = ScienceLBResult()
    file_version = product_version(int(lb.key[2]), version)
    report = request_sequences(
        lb.headers["sequence_flag"],
        lb.headers["sequence_count"],
        lb.key,
        times=packet_btimes(lb.headers),
        explain=ArchiveGapExplainer.for_request(out.archive, lb.headers),
    )
    result.incomplete.extend(report.messages(lb_path.name))
    for sequence in report.complete:
        part = lb.take(np.asarray(sequence.rows, dtype=np.int64))
        batches, errors = decode_lb_product(part, idb_manager)
        result.errors.extend(str(e) for e in errors)
        rows = f"{lb_path.name}: request rows {sequence.rows[0]}..{sequence.rows[-1]}"
        if errors or len(batches) != 1:
            result.errors.append(f"{rows} skipped")
            continue
        (batch,) = batches
        try:
            request = decode_science_request(batch)
        except ValueError as exc:
            result.errors.append(f"{rows}: {exc}")
            continue
        if request is None:  # an aspect burst without samples
            continue
        raw_files = tuple(sorted(set(np.asarray(batch.raw_file, dtype=str).tolist())))
        times = batch.header_times()
        parents = {"L0": lb_path.name, "L1": science_l0_path(out.archive, request, file_version).name}
        for level in ("L0", "L1"):
            if level not in levels:
                continue
            if level == "L1" and out.l1_gate is not None:
                problem = out.l1_gate(float(obt_range(request)[1]))
                if problem is not None:
                    result.waiting.append(f"{rows} -> L1: {problem}")
                    continue
            try:
                path, new = write_science_file(
                    request,
                    out,
                    level=level,
                    idb_version=batch.version,
                    version=file_version,
                    parent=parents[level],
                    raw_files=raw_files,
                    packets=np.asarray(batch.packet),
                    packet_times=(float(times.min()), float(times.max())),
                )
            except NoRidLut as exc:
                reason = f" ({out.rid_lut_error})" if out.rid_lut_error else ""
                result.errors.append(f"{rows} -> {level}: {exc}{reason}")
                break
            except ValueError as exc:
                result.errors.append(f"{rows} -> {level}: {exc}")
                break
            (result.written if new else result.existing).append(path)
            result.levels[path] = level
    return result


class ScienceSteps(NamedTuple):
    """:func:`science_lb_step` per level.

    ``l0``: the L0 files with the LB file's warnings, errors and held-back L1 files; ``l1``: the L1 files.
    """

    l0: StepResult
    l1: StepResult


def science_lb_step(
    lb_path: Path,
    idb_manager: IDBManager,
    writer: ProductWriter,
    *,
    make_l1: bool,
    rid_lut: RidLut | None = None,
    rid_lut_error: str | None = None,
) -> ScienceSteps:
    """:func:`process_science_lb` as a pipeline step: L0 (and L1) files into the writer's archive.

    Incomplete sequences are warnings (they complete when later packets arrive), problems of a
    request are file errors. Archive, clock, versions, SPICE and SOOP come from the writer.
    ``rid_lut_error`` (why no LUT is available) is added to a request's error when its triggers
    need descaling. Files are told apart by the level they were written at.
    """
    step = StepResult(Path(lb_path))
    l1 = StepResult(step.source)
    if writer.energy_channels is None:
        step.file_errors.append(f"{Path(lb_path).name}: no science energy channels (STIX-CONF) configured")
        return ScienceSteps(step, l1)
    out = ScienceOutput(
        writer.archive,
        writer.clock,
        writer.energy_channels,
        vers_cfg=writer.vers_cfg,
        date=writer.date,
        kernels=writer.kernels,
        soop=writer.soop,
        rid_lut=rid_lut,
        rid_lut_error=rid_lut_error,
        l1_gate=writer.l1_kernel_problem,
    )
    try:
        result = process_science_lb(
            Path(lb_path),
            out,
            idb_manager,
            version=int(writer.processing_version),
            levels=("L0", "L1") if make_l1 else ("L0",),
        )
    except (ValueError, OSError) as exc:
        step.file_errors.append(f"{Path(lb_path).name}: {exc}")
        return ScienceSteps(step, l1)
    step.written, step.unchanged = result.files_of("L0")
    l1.written, l1.unchanged = result.files_of("L1")
    step.warnings.extend(result.incomplete)
    step.waiting.extend(result.waiting)
    step.file_errors.extend(result.errors)
    return ScienceSteps(step, l1)
