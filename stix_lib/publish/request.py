"""What a caller asks of one publishing run, and its resolution against the settings.

:class:`PublishRequest` holds the caller's choices as given (``stix-pipeline publish`` options,
the ``stix_soar_publish`` Params); ``None`` means "the setting". :meth:`PublishRequest.resolve`
turns it into a :class:`PublishPlan`: the concrete :class:`~stix_lib.publish.publisher.PublishOptions`,
the delivery target, the RID LUT, the kernels and the history database of the run.
:func:`stix_lib.publish.runner.run_publish` executes a plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from stix_lib.publish.selection import DEFAULT_LEVELS, DEFAULT_PRODUCTS
from stix_lib.settings import Settings, parse_duration

if TYPE_CHECKING:  # the publishing code (SQLAlchemy, astropy) is imported when a plan is made
    from stix_lib.publish.publisher import PublishOptions

#: Hosts that mean "deliver into a local folder".
LOCAL_HOSTS = frozenset({"", "localhost"})

PathLike = str | Path


@dataclass(frozen=True)
class PublishRequest:
    """The caller's choices for one publishing run (``None``: the setting named below).

    Attributes
    ----------
    fits_dir
        Archive root to scan (``fits_archive_dir``).
    target_dir
        Delivery folder, local or on the target host (``soar_target_dir``).
    target_host
        SOAR host; empty or ``localhost`` = a local folder (``soar_host``).
    same_esa_name_dir
        Local folder for products that would need a third supplement (``soar_conflicts_dir``).
    rid_lut_file
        The RID LUT CSV (``rid_lut_file``).
    rid_lut_update_url
        RID API base URL (``rid_lut_update_url``).
    update_rid_lut
        Refresh the RID LUT from the API before publishing (never in a dry run).
    rid_lut_attempts
        Refresh attempts (None: :data:`stix_lib.ridlut.refresh.RID_API_ATTEMPTS`).
    rid_lut_required
        A failed refresh without a usable local LUT stops the run
        (:class:`~stix_lib.ridlut.refresh.RidLutUnusable`); else it is a report warning.
    sort_files
        Process the selected files sorted by full path.
    blacklist_files
        File with names never to publish, one per line (None: none).
    supplement_report
        Tab-separated supplement report (``<data_root>/publish/supplement_report.csv``).
    db_url
        History database: SQLAlchemy URL or SQLite file (``pipeline_db_url``).
    waiting_period, ll_waiting_period, future_guard
        Durations like ``12h`` (``publish_waiting_period``, ``publish_ll_waiting_period``,
        ``publish_future_guard``).
    batch_size
        Maximum files per run, < 0 = no limit (``publish_batch_size``).
    include_versions, include_levels, include_products
        ``*`` or comma lists.
    spice_file
        Meta kernel for ephemeris refreshes (None: the latest flown meta kernel of ``spice_dir``).
    spice_dir
        SPICE kernel tree (``spice_dir``).
    dry_run
        Decide and report only: change, record, connect and mail nothing.
    run_id
        Stored on the history rows.
    """

    fits_dir: PathLike | None = None
    target_dir: PathLike | None = None
    target_host: str | None = None
    same_esa_name_dir: PathLike | None = None
    rid_lut_file: PathLike | None = None
    rid_lut_update_url: str | None = None
    update_rid_lut: bool = False
    rid_lut_attempts: int | None = None
    rid_lut_required: bool = True
    sort_files: bool = False
    blacklist_files: PathLike | None = None
    supplement_report: PathLike | None = None
    db_url: str | None = None
    waiting_period: str | None = None
    ll_waiting_period: str | None = None
    future_guard: str | None = None
    batch_size: int | None = None
    include_versions: str = "*"
    include_levels: str = DEFAULT_LEVELS
    include_products: str = DEFAULT_PRODUCTS
    spice_file: PathLike | None = None
    spice_dir: PathLike | None = None
    dry_run: bool = False
    run_id: str = ""

    def lut_path(self, settings: Settings) -> Path:
        """The RID LUT of this run."""
        return Path(self.rid_lut_file or settings.rid_lut_file)

    def lut_update_url(self, settings: Settings) -> str:
        """The RID API base URL of this run."""
        return self.rid_lut_update_url or settings.rid_lut_update_url

    def history_url(self, settings: Settings) -> str:
        """The history database URL (a bare file name is a SQLite file)."""
        if not self.db_url:
            return settings.pipeline_db_url
        return self.db_url if "://" in self.db_url else f"sqlite:///{Path(self.db_url).expanduser().absolute()}"

    def resolve(self, settings: Settings) -> PublishPlan:
        """The concrete run: options, target, RID LUT, kernels and database.

        Raises
        ------
        FileNotFoundError
            The FITS folder does not exist.
        OSError
            The blacklist cannot be read.
        ValueError
            A duration or version list that cannot be parsed.
        """
        from stix_lib.publish.gate import gate_checks
        from stix_lib.publish.publisher import PublishOptions
        from stix_lib.publish.selection import SelectionFilters, read_blacklist

        def duration(value: str | None, default: timedelta) -> timedelta:
            return parse_duration(value) if value else default

        fits_dir = Path(self.fits_dir or settings.fits_archive_dir)
        if not fits_dir.is_dir():
            raise FileNotFoundError(f"FITS folder {fits_dir} does not exist")
        options = PublishOptions(
            fits_dir=fits_dir,
            conflicts_dir=Path(self.same_esa_name_dir or settings.soar_conflicts_dir),
            waiting_period=duration(self.waiting_period, settings.publish_waiting_period),
            ll_waiting_period=duration(self.ll_waiting_period, settings.publish_ll_waiting_period),
            future_guard=duration(self.future_guard, settings.publish_future_guard),
            batch_size=settings.publish_batch_size if self.batch_size is None else self.batch_size,
            filters=SelectionFilters.from_strings(self.include_levels, self.include_products, self.include_versions),
            sort_files=self.sort_files,
            blacklist=read_blacklist(Path(self.blacklist_files)) if self.blacklist_files else frozenset(),
            supplement_report=Path(
                self.supplement_report or settings.data_root / "publish" / "supplement_report.csv"
            ),
            dry_run=self.dry_run,
            run_id=self.run_id,
            checks=gate_checks(
                stixpy=settings.publish_stixpy_check,
                conservation_idb=Path(settings.idb_dir) if settings.publish_conservation_check else None,
            ),
        )
        host = (settings.soar_host if self.target_host is None else self.target_host).strip()
        return PublishPlan(
            request=self,
            options=options,
            target_dir=Path(self.target_dir or settings.soar_target_dir),
            target_host=None if host.lower() in LOCAL_HOSTS else host,
            rid_lut_file=self.lut_path(settings),
            rid_lut_update_url=self.lut_update_url(settings),
            spice_dir=Path(self.spice_dir or settings.spice_dir),
            meta_kernel=Path(self.spice_file) if self.spice_file else None,
            db_url=self.history_url(settings),
        )


@dataclass(frozen=True)
class PublishPlan:
    """One run's request resolved against the settings.

    Attributes
    ----------
    request
        What was asked.
    options
        The library options of :func:`stix_lib.publish.publisher.publish`.
    target_dir
        Delivery folder (local, or on ``target_host``).
    target_host
        Remote host, or None for a local folder.
    rid_lut_file, rid_lut_update_url
        The RID LUT and its API.
    spice_dir, meta_kernel
        Kernels for the ephemeris refresh of incomplete products.
    db_url
        The history database.
    """

    request: PublishRequest
    options: PublishOptions
    target_dir: Path
    target_host: str | None
    rid_lut_file: Path
    rid_lut_update_url: str
    spice_dir: Path
    meta_kernel: Path | None
    db_url: str
