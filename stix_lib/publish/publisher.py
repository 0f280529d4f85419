"""A publishing run: select archive products, finish them, deliver them to SOAR, record and report.

Per candidate, in order (operations spec §6.4, with the changes listed below):

1. an incomplete ``U`` file is finalised in the archive (:func:`~stix_lib.publish.ephemeris.finalize_incomplete`:
   complete name, ``FILENAME``, ephemeris from flown kernels for L1/L2/ANC);
2. it is claimed in the history under its complete name (:meth:`PublishHistory.add`); a name that
   is already final there is reported IGNORED ("re-requested") and left alone;
3. a FITS product starting more than ``future_guard`` after now is IGNORED (final);
4. a blacklisted name (``U`` or complete form) is BLACKLISTED (final, never copied);
5. the publish gate (:mod:`stix_lib.publish.gate`): a product failing a product check (kernels
   used, request complete, stixpy loads it, no conflicting twin in the archive, …) is PARKED —
   history status ``parked`` with the reasons, checked again by the next run, never delivered
   while it fails;
6. no delivered product has its ESA name → delivered as is (PUBLISHED);
7. else (FITS only) its ``DATA`` is compared with every delivered product of that ESA name:
   identical to one → IGNORED; otherwise it becomes supplement ``-sup1``/``-sup2`` (MODIFIED,
   with COMMENTs naming the base product and the original name, a row in the supplement report);
   a third supplement is not allowed: the file is copied to the conflicts folder, recorded as
   IGNORED and reported as an error ("max supplement error").

Delivery (:meth:`Publisher._deliver`) prepares a copy in a private work folder — COMMENT with the
BSD request reason (RID LUT), ``FILENAME`` = delivered name, HISTORY "published to ESA SOAR as …" —
hands it to the :class:`~stix_lib.publish.transport.Transport` (temporary name + rename at the
target) and only then records PUBLISHED/MODIFIED. Any exception after the claim is recorded as a
failed attempt and the product is offered again by the next run.

Changes against STIXCore, on purpose: archive files are not annotated (the BSD COMMENT and the
"published" HISTORY go into the delivered copy only; the history table says what went where);
copy errors are retried; conflicts count only delivered products; a malformed name, a
``-p '*'``, a version filter on ``U`` names and ``-S`` work instead of crashing; an unreadable
blacklist stops the run; the waiting period uses the product's ``DATE`` (see
:mod:`stix_lib.publish.timestamps`).

A **dry run** (``options.dry_run``) makes the same decisions against an in-memory overlay of the
history (:class:`~stix_lib.publish.publish_history.DryRunHistory`) and reports them, but renames,
edits, copies, records and connects nothing.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from astropy.io import fits
from sqlalchemy import Engine

from stix_lib.publish.ephemeris import KernelsProvider, finalize_incomplete
from stix_lib.publish.fitsedit import (
    begin_time,
    bsd_comment,
    copy_file_atomic,
    data_identical,
    published_note,
    rewrite_fits,
    supplement_note,
    utc_iso,
)
from stix_lib.publish.gate import DEFAULT_CHECKS, GateCheck, ProductGate
from stix_lib.publish.product_name import ProductName
from stix_lib.publish.publish_history import (
    DryRunHistory,
    HistoryRow,
    HistoryStore,
    PublishConflict,
    PublishHistory,
    PublishResult,
)
from stix_lib.publish.report import MAX_SUPPLEMENT_ERROR, FileOutcome, Outcome, PublishReport, append_supplement_report
from stix_lib.publish.runlock import publish_lock
from stix_lib.publish.selection import Candidate, SelectionFilters, select_candidates
from stix_lib.publish.transport import LocalTransport, Transport
from stix_lib.ridlut.table import RidLut
from stix_lib.spice.kernels import SpiceKernels

log = logging.getLogger(__name__)

#: Supplements allowed per ESA name (``-sup1``, ``-sup2``).
MAX_SUPPLEMENTS = 2


@dataclass(frozen=True)
class PublishOptions:
    """Settings of one publishing run (the CLI options of ``stix-pipeline publish``).

    Attributes
    ----------
    fits_dir
        Archive root to scan.
    conflicts_dir
        Local folder for products that would need a third supplement.
    waiting_period, ll_waiting_period
        Minimum product age; the second for ``LL*`` levels.
    future_guard
        Products starting later than now + this are ignored.
    batch_size
        Maximum candidates per run (< 0: no limit).
    filters
        Version/level/product filters.
    sort_files
        Process candidates sorted by full path.
    blacklist
        File names never to publish.
    supplement_report
        Tab-separated supplement report to append to (None: none).
    dry_run
        Decide and report only.
    run_id
        Stored on history rows (e.g. the Airflow run id).
    work_dir
        Parent of the run's private staging folder (default: system temp).
    checks
        Per-file checks of the publish gate (:data:`stix_lib.publish.gate.DEFAULT_CHECKS`; see
        :func:`stix_lib.publish.gate.gate_checks`).
    check_conflicts
        Run the gate's archive conflict check (another file of the same product and request/day).
    """

    fits_dir: Path
    conflicts_dir: Path
    waiting_period: timedelta = timedelta(days=14)
    ll_waiting_period: timedelta = timedelta(minutes=1)
    future_guard: timedelta = timedelta(days=7)
    batch_size: int = -1
    filters: SelectionFilters = field(default_factory=SelectionFilters)
    sort_files: bool = False
    blacklist: frozenset[str] = frozenset()
    supplement_report: Path | None = None
    dry_run: bool = False
    run_id: str = ""
    work_dir: Path | None = None
    checks: tuple[GateCheck, ...] = DEFAULT_CHECKS
    check_conflicts: bool = True


class Publisher:
    """Runs the per-candidate algorithm (module docstring) for one run.

    Parameters
    ----------
    options
        The run's options.
    history
        The history (database, or the dry-run overlay).
    transport
        The delivery target (unused in a dry run, may be None then).
    rid_lut
        For the BSD request comments (None: no comments).
    kernels
        Returns the flown kernels for ephemeris refreshes (called at most once, when needed).
    now
        Run time (default: now, UTC).
    """

    def __init__(
        self,
        options: PublishOptions,
        history: HistoryStore,
        transport: Transport | None,
        *,
        rid_lut: RidLut | None = None,
        kernels: KernelsProvider | None = None,
        now: datetime | None = None,
    ) -> None:
        if transport is None and not options.dry_run:
            raise ValueError("a publishing run needs a transport (only dry runs do not)")
        self.options = options
        self.history = history
        self.transport = transport
        self.rid_lut = rid_lut
        self._kernels_provider = kernels
        self._kernels: SpiceKernels | None = None
        self.now = (now or datetime.now(UTC)).astimezone(UTC)
        self._files: dict[str, Path] = {}  # complete name -> file, for products of this run
        self.gate = ProductGate(options.checks, options.check_conflicts)
        self._work: Path | None = None
        self.report = PublishReport(
            started=self.now, target=transport.describe() if transport else "", dry_run=options.dry_run
        )

    # -- helpers -------------------------------------------------------------------------------
    def _flown_kernels(self) -> SpiceKernels:
        if self._kernels is None:
            if self._kernels_provider is None:
                raise ValueError("no SPICE kernels configured for the ephemeris refresh")
            self._kernels = self._kernels_provider()
        return self._kernels

    def _file_of(self, row: HistoryRow) -> Path:
        return self._files.get(row.name, row.file)

    def _deliver(self, source: Path, delivered_name: str, comments: list[str]) -> None:
        """Stage an annotated copy and hand it to the transport (atomic at the target)."""
        if self.options.dry_run:
            return
        if self._work is None or self.transport is None:
            raise RuntimeError("deliveries happen inside Publisher.run()")
        staged = self._work / delivered_name
        try:
            if ProductName.parse(delivered_name).is_fits:

                def annotate(hdul: fits.HDUList) -> None:
                    header = hdul[0].header
                    for comment in comments:
                        if comment:
                            header.add_comment(comment)
                    header["FILENAME"] = delivered_name
                    header.add_history(published_note(delivered_name, self.now))

                rewrite_fits(source, staged, annotate)
            else:
                copy_file_atomic(source, staged)
            self.transport.deliver(staged, delivered_name)
        finally:
            staged.unlink(missing_ok=True)

    def _park(self, source: Path, name: str) -> Path:
        """Copy a product that would need a third supplement to the conflicts folder."""
        target = self.options.conflicts_dir / name
        if not self.options.dry_run:
            LocalTransport(self.options.conflicts_dir).deliver(source, name)
        return target

    # -- the algorithm -------------------------------------------------------------------------
    def process(self, candidate: Candidate) -> FileOutcome:
        """Publish one candidate; never raises (errors become ERROR outcomes)."""
        source, final = candidate.path, candidate.name.complete()
        try:
            path = source
            if candidate.name.incomplete and not self.options.dry_run:
                path = finalize_incomplete(source, self.now, self._flown_kernels)
            self._files[final.name] = path
            conflict, rows = self.history.add(
                path, name=final.name, m_date=candidate.product_time, run_id=self.options.run_id
            )
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the run
            log.exception("publishing %s failed before it was recorded", source)
            return FileOutcome(source, final.name, Outcome.ERROR, reason=f"{type(exc).__name__}: {exc}")
        row = rows[-1]
        if conflict is PublishConflict.SAME_EXISTS:
            state = row.result.name.lower() if row.result is not None else row.status.value
            return FileOutcome(source, final.name, Outcome.IGNORED, reason=f"re-requested (already {state})")
        try:
            return self._decide(source, path, final, conflict, rows)
        except Exception as exc:  # noqa: BLE001 - recorded, retried next run
            log.exception("publishing %s failed", source)
            reason = f"{type(exc).__name__}: {exc}"
            try:
                attempt = self.history.fail(row.id, reason).attempts
            except Exception:  # noqa: BLE001 - the row stays pending: retried next run all the same
                log.exception("could not record the failure of %s", source)
                attempt = row.attempts + 1
            return FileOutcome(source, final.name, Outcome.ERROR, reason=reason, attempt=attempt)

    def _decide(
        self, source: Path, path: Path, final: ProductName, conflict: PublishConflict, rows: list[HistoryRow]
    ) -> FileOutcome:
        row = rows[-1]
        header = fits.getheader(path, 0) if final.is_fits else None
        if header is not None:
            begin = begin_time(header)
            if begin is not None and begin > self.now + self.options.future_guard:
                reason = f"starts in the future ({utc_iso(begin)})"
                self.history.finish(row.id, PublishResult.IGNORED, note=reason)
                return FileOutcome(source, final.name, Outcome.IGNORED, reason=reason)
        if source.name in self.options.blacklist or final.name in self.options.blacklist:
            self.history.finish(row.id, PublishResult.BLACKLISTED, note="blacklisted")
            return FileOutcome(source, final.name, Outcome.BLACKLISTED)
        problems = self.gate.problems(path, final, self.history.get, header)
        if problems:
            reason = "; ".join(problems)
            self.history.park(row.id, reason)
            return FileOutcome(source, final.name, Outcome.PARKED, reason=reason)

        comment = bsd_comment(final, self.rid_lut) if final.is_fits else ""
        if conflict is PublishConflict.ADDED:
            self._deliver(path, final.name, [comment])
            done = self.history.finish(row.id, PublishResult.PUBLISHED, delivered_name=final.name)
            return FileOutcome(
                source, final.name, Outcome.PUBLISHED, delivered_name=final.name, comment=comment, attempt=done.attempts
            )

        delivered = rows[:-1]
        base = delivered[0]
        if not final.is_fits:
            reason = f"same ESA name as delivered {base.delivered_name or base.name}; only FITS can be supplements"
            self.history.finish(row.id, PublishResult.IGNORED, note=reason)
            return FileOutcome(source, final.name, Outcome.IGNORED, reason=reason)
        for other in delivered:
            if data_identical(path, self._file_of(other)):
                reason = f"identical DATA to delivered {other.delivered_name or other.name}"
                self.history.finish(row.id, PublishResult.IGNORED, note=reason)
                return FileOutcome(source, final.name, Outcome.IGNORED, reason=reason)
        number = sum(1 for other in delivered if other.modified_esaname) + 1
        if number > MAX_SUPPLEMENTS:
            parked = self._park(path, final.name)
            self.history.finish(
                row.id, PublishResult.IGNORED, note=f"{MAX_SUPPLEMENT_ERROR}: parked in {parked}", attempted=True
            )
            return FileOutcome(source, final.name, Outcome.ERROR, reason=MAX_SUPPLEMENT_ERROR, parked=parked)
        supplement = final.supplement(number)
        self._deliver(path, supplement.name, [comment, supplement_note(base.name, final.name)])
        done = self.history.finish(
            row.id,
            PublishResult.MODIFIED,
            delivered_name=supplement.name,
            modified_esaname=supplement.modified_esa_name,
        )
        if self.options.supplement_report is not None and not self.options.dry_run:
            try:
                append_supplement_report(self.options.supplement_report, [(supplement.name, base.name, comment)])
            except OSError as exc:
                self.report.warnings.append(f"supplement report {self.options.supplement_report}: {exc}")
        return FileOutcome(
            source,
            final.name,
            Outcome.SUPPLEMENT,
            delivered_name=supplement.name,
            base=base.name,
            comment=comment,
            attempt=done.attempts,
        )

    def run(self) -> PublishReport:
        """Select and process every candidate; return the report."""
        options = self.options
        selection = select_candidates(
            options.fits_dir,
            options.filters,
            self.history.states(),
            self.now.timestamp(),
            options.waiting_period,
            options.ll_waiting_period,
            options.batch_size,
            options.sort_files,
        )
        self.report.scanned, self.report.waiting = selection.scanned, selection.waiting
        self.report.warnings += [f"skipped: {text}" for text in selection.skipped]
        for path in selection.superseded:
            log.info("%s is superseded by its incomplete twin in this run", path)
        log.info("%d candidate(s) of %d product file(s)", len(selection.candidates), selection.scanned)
        if selection.candidates and options.check_conflicts:
            self.gate.index(options.fits_dir)
        with tempfile.TemporaryDirectory(prefix="stix-publish-", dir=options.work_dir) as work:
            self._work = Path(work)
            for candidate in selection.candidates:
                outcome = self.process(candidate)
                log.info("%s: %s", outcome.outcome.value.upper(), outcome.line())
                self.report.outcomes.append(outcome)
        self._work = None
        return self.report


def publish(
    options: PublishOptions,
    engine: Engine | None,
    transport: Transport | None,
    *,
    rid_lut: RidLut | None = None,
    kernels: KernelsProvider | None = None,
    now: datetime | None = None,
    warnings: list[str] | None = None,
) -> PublishReport:
    """Run a publishing run against the history of ``engine``.

    A real run holds the publishing lock (:mod:`stix_lib.publish.runlock`), opens the transport and
    removes stale temporary uploads first; a dry run reads the database only and does not connect.

    Parameters
    ----------
    options
        The run's options.
    engine
        Pipeline database (migrated). A dry run may pass None (an empty history).
    transport
        Delivery target (ignored by dry runs; may be None then).
    rid_lut, kernels, now
        See :class:`Publisher`.
    warnings
        Earlier problems to include in the report (e.g. a failed RID LUT update).

    Raises
    ------
    PublishLockedError
        If another run is active.
    TransportError
        If the target cannot be reached (nothing was claimed or recorded).
    """
    if options.dry_run:
        base = PublishHistory(engine) if engine is not None else None
        publisher = Publisher(options, DryRunHistory(base), None, rid_lut=rid_lut, kernels=kernels, now=now)
        publisher.report.target = transport.describe() if transport else ""
        publisher.report.warnings += list(warnings or [])
        return publisher.run()
    if transport is None or engine is None:
        raise ValueError("a publishing run needs a database and a transport (only dry runs do not)")
    with publish_lock(engine), transport:
        publisher = Publisher(options, PublishHistory(engine), transport, rid_lut=rid_lut, kernels=kernels, now=now)
        publisher.report.warnings += list(warnings or [])
        stale = transport.remove_stale_parts()
        if stale:
            publisher.report.warnings.append(f"removed {len(stale)} stale partial upload(s): {', '.join(stale)}")
        return publisher.run()
