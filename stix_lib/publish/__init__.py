"""Publishing STIX products to ESA's SOAR (replaces STIXCore's ``publish.py``, cron C6).

Entry point: :func:`run_publish` with a :class:`PublishRequest` (what the caller asks; ``None`` =
the setting) — the one path of ``stix-pipeline publish`` and the Airflow task: RID LUT refresh
(retry and fallback), history database, transport, :func:`publish` and its report. :func:`publish`
itself runs :class:`PublishOptions` with a :class:`Transport` (:class:`LocalTransport` or
:class:`SftpTransport`) and the pipeline database; the history lives in its ``published`` table
(:class:`PublishHistory`). See :mod:`stix_lib.publish.publisher` for the algorithm and
:mod:`stix_lib.publish.timestamps` for the waiting-period clock.
"""

from typing import TYPE_CHECKING

from stix_lib.lazy_exports import lazy_exports

if TYPE_CHECKING:  # imported on first use (stix_lib.lazy_exports): a submodule does not pull its siblings
    from stix_lib.publish.ephemeris import ExplicitMetaKernel, finalize_incomplete, flown_kernels
    from stix_lib.publish.product_name import (
        VERSION_REGEX,
        ProductName,
        ProductNameError,
        complete_name,
        incomplete_name,
        is_incomplete_name,
    )
    from stix_lib.publish.publish_history import (
        DeliveryStatus,
        DryRunHistory,
        HistoryRow,
        PublishConflict,
        PublishHistory,
        PublishResult,
        import_stixcore_history,
    )
    from stix_lib.publish.publisher import Publisher, PublishOptions, publish
    from stix_lib.publish.report import FileOutcome, Outcome, PublishReport, build_report_message
    from stix_lib.publish.request import LOCAL_HOSTS, PublishPlan, PublishRequest
    from stix_lib.publish.runlock import PublishLockedError, publish_lock
    from stix_lib.publish.runner import history_engine, refresh_request_lut, run_publish
    from stix_lib.publish.selection import SelectionFilters, read_blacklist, select_candidates
    from stix_lib.publish.timestamps import product_time
    from stix_lib.publish.transport import HostKeyRejected, LocalTransport, SftpTransport, Transport, TransportError

__all__ = [
    "LOCAL_HOSTS",
    "VERSION_REGEX",
    "DeliveryStatus",
    "DryRunHistory",
    "ExplicitMetaKernel",
    "FileOutcome",
    "HistoryRow",
    "HostKeyRejected",
    "LocalTransport",
    "Outcome",
    "ProductName",
    "ProductNameError",
    "PublishConflict",
    "PublishHistory",
    "PublishLockedError",
    "PublishOptions",
    "PublishPlan",
    "PublishReport",
    "PublishRequest",
    "PublishResult",
    "Publisher",
    "SelectionFilters",
    "SftpTransport",
    "Transport",
    "TransportError",
    "build_report_message",
    "complete_name",
    "finalize_incomplete",
    "flown_kernels",
    "history_engine",
    "import_stixcore_history",
    "incomplete_name",
    "is_incomplete_name",
    "product_time",
    "publish",
    "publish_lock",
    "read_blacklist",
    "refresh_request_lut",
    "run_publish",
    "select_candidates",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
