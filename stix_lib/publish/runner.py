"""One publishing run from a request: the single entry of ``stix-pipeline publish`` and the Airflow task.

:func:`run_publish` takes a :class:`~stix_lib.publish.request.PublishRequest` (or its resolved
:class:`~stix_lib.publish.request.PublishPlan`) and does the whole run: the RID LUT refresh (with
retry and fallback, :mod:`stix_lib.ridlut.refresh`), the history database (read-only in a dry
run), the RID LUT, the kernels, the transport (a local folder, or the caller's remote transport)
and :func:`stix_lib.publish.publisher.publish` with its gate checks. Callers only parse their
inputs and render the :class:`~stix_lib.publish.report.PublishReport`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from stix_lib.publish.request import PublishPlan, PublishRequest
from stix_lib.settings import Settings, format_duration

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from stix_lib.publish.report import PublishReport
    from stix_lib.publish.transport import Transport
    from stix_lib.ridlut.refresh import RidLutRefresh

log = logging.getLogger(__name__)

#: Opens the transport to a remote host: ``(host, target_dir)`` → a context manager yielding an
#: unconnected :class:`~stix_lib.publish.transport.Transport` (``publish`` connects and closes it).
RemoteTransport = Callable[[str, Path], AbstractContextManager["Transport"]]


def history_engine(url: str, *, dry_run: bool) -> Engine | None:
    """The pipeline database of a run; for a dry run neither created nor migrated.

    Returns
    -------
    Engine or None
        None for a dry run without a history yet (no database, or no ``published`` table).
    """
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from stix_lib.db import connect

    if not dry_run:
        return connect(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (not parsed.database or not Path(parsed.database).exists()):
        return None
    engine = connect(url, migrate_schema=False)
    return engine if inspect(engine).has_table("published") else None


def refresh_request_lut(request: PublishRequest, settings: Settings) -> RidLutRefresh:
    """Refresh the RID LUT of ``request`` from its API (attempts and fallback rule of the request).

    Raises
    ------
    stix_lib.ridlut.refresh.RidLutUnusable
        ``request.rid_lut_required``, the API failed and the local LUT holds no request.
    ValueError
        The API URL is not http(s).
    """
    from stix_lib.ridlut.refresh import refresh_rid_lut

    return refresh_rid_lut(
        request.lut_path(settings),
        request.lut_update_url(settings),
        attempts=request.rid_lut_attempts,
        require_usable=request.rid_lut_required,
    )


@contextmanager
def _transport(plan: PublishPlan, remote: RemoteTransport | None) -> Iterator[Transport]:
    from stix_lib.publish.transport import LocalTransport

    if plan.target_host is None:
        yield LocalTransport(plan.target_dir)
        return
    if remote is None:
        raise ValueError(f"no transport to reach the remote target host {plan.target_host}")
    with remote(plan.target_host, plan.target_dir) as transport:
        yield transport


def run_publish(
    request: PublishRequest | PublishPlan,
    settings: Settings,
    *,
    remote_transport: RemoteTransport | None = None,
    refreshed: RidLutRefresh | None = None,
    on_refresh: Callable[[RidLutRefresh], None] | None = None,
    warnings: Sequence[str] = (),
) -> PublishReport:
    """One publishing run.

    Parameters
    ----------
    request
        What to publish, or the plan already resolved from it (:meth:`PublishRequest.resolve`).
    settings
        Pipeline settings.
    remote_transport
        Opens the transport to a remote target host (needed when the plan's host is not local).
    refreshed
        The RID LUT refresh an earlier step already made for this run (then none is made here;
        its error becomes a report warning).
    on_refresh
        Called with the RID LUT refresh this run made (e.g. to print it).
    warnings
        Earlier problems for the report.

    Returns
    -------
    PublishReport
        Every file's outcome, the counts and the warnings.

    Raises
    ------
    stix_lib.publish.PublishLockedError, stix_lib.publish.TransportError
        Another run is active; the target cannot be reached (nothing was claimed).
    stix_lib.ridlut.refresh.RidLutUnusable
        See :func:`refresh_request_lut`.
    OSError, ValueError
        See :meth:`PublishRequest.resolve`; no remote transport for a remote host.
    """
    from stix_lib.publish.ephemeris import flown_kernels
    from stix_lib.publish.publisher import publish
    from stix_lib.ridlut.table import RidLut, RidLutError

    plan = request if isinstance(request, PublishPlan) else request.resolve(settings)
    options = plan.options
    warnings = list(warnings)
    if refreshed is not None:
        if refreshed.error:
            warnings.append(f"{refreshed.error} (published with the local RID LUT, {refreshed.rows} rows)")
    elif plan.request.update_rid_lut:
        if options.dry_run:
            warnings.append("dry run: RID LUT not updated")
        else:
            refresh = refresh_request_lut(plan.request, settings)
            if on_refresh is not None:
                on_refresh(refresh)
            if refresh.error:
                warnings.append(refresh.error)
    engine = history_engine(plan.db_url, dry_run=options.dry_run)
    rid_lut = None
    try:
        rid_lut = RidLut.read(plan.rid_lut_file)
    except (OSError, RidLutError) as exc:
        warnings.append(f"no RID LUT ({exc}): BSD request comments are left out")

    def kernels():
        return flown_kernels(plan.spice_dir, meta_kernel=plan.meta_kernel).load()

    with _transport(plan, remote_transport) as transport:
        log.info(
            "publishing %s -> %s (waiting %s, LL %s, dry run %s)",
            options.fits_dir, transport.describe(), format_duration(options.waiting_period),
            format_duration(options.ll_waiting_period), options.dry_run,
        )  # fmt: skip
        return publish(options, engine, transport, rid_lut=rid_lut, kernels=kernels, warnings=warnings)
