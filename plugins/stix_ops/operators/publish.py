"""SOAR publishing operators (``stix_soar_publish``): RID LUT refresh, the publishing run, the report mail.

Thin adapters around :mod:`stix_lib.publish` and :mod:`stix_lib.ridlut`; the trigger-form Params
mirror ``stix-pipeline publish`` (:mod:`stix_lib.cli.publish_cmd`).

* **Params** (:func:`publish_params`): a ``None`` default means "from the settings", resolved when
  the task runs (:func:`publish_request`, then :meth:`stix_lib.publish.request.PublishRequest.resolve`),
  never at parse time. The run itself is :func:`stix_lib.publish.runner.run_publish`.
* **Transport**: the target host (``target_host`` Param, else the ``soar_host`` setting) empty or
  ``localhost`` → :class:`~stix_lib.publish.LocalTransport`; any other host →
  :class:`~stix_lib.publish.SftpTransport` with the :class:`~stix_lib.transfer.rsync.SSHEndpoint` of
  the Airflow SSH connection ``soar_conn_id`` (:class:`~stix_ops.hooks.ssh.RsyncSSHHook`: key from
  ``key_file``/``private_key``, host key pinned by ``host_key``/``known_hosts``,
  ``no_host_key_check`` refused). The library's own paramiko client then enforces the pin
  (``RejectPolicy``, unknown or changed keys are never added) and uploads atomically
  (``.<name>.part`` + ``posix-rename``). The provider's ``SFTPHook``/``SSHHook`` are not used: they
  hand out an already connected client whose host-key policy follows the connection's
  ``no_host_key_check`` (accepting unknown hosts unless told otherwise), while the library's
  transport owns connect/close, strict checking and stale ``.part`` clean-up itself.
* **Asset**: :class:`PublishedAnnounceOperator`, after the publish task, declares
  :data:`~stix_ops.assets.SOAR_PUBLISHED` as its outlet (so the asset graph shows
  ``stix_soar_publish`` as its producer from the start) and emits it only when files were
  delivered: otherwise it is *skipped*, and Airflow 3.3.2 records asset events of *successful*
  task instances only (a declared outlet of a successful task always gets an event, so the publish
  task cannot declare it itself). A run with errors fails before it and emits none; the NAS mirror
  picks the archive changes up on its 6-hourly schedule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Param
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from stix_ops.assets import SOAR_PUBLISHED
from stix_ops.hooks.pipeline import StixPipelineHook

if TYPE_CHECKING:
    from stix_lib.publish import PublishReport, Transport
    from stix_lib.publish.request import PublishRequest
    from stix_lib.publish.runner import RemoteTransport
    from stix_lib.settings import Settings

#: ``stix_lib.publish.selection.DEFAULT_LEVELS`` / ``DEFAULT_PRODUCTS`` (STIXCore code defaults),
#: spelled out so that parsing the DAG does not import the publishing library (a test keeps them equal).
DEFAULT_LEVELS = "L0, L1, L2, ANC, LL03, CAL"
DEFAULT_PRODUCTS = "ql,hk,sci,asp,cal"

#: Values of the ``rid_lut_update`` Param.
RID_LUT_MODES = ("update", "skip", "only")
#: Values of the ``report_mail`` Param.
REPORT_MAIL_MODES = ("always", "activity", "never")
#: Delivered names listed in an asset event (the rest is counted).
EVENT_FILES_MAX = 500
#: Report outcomes that delivered a file (``stix_lib.publish.Outcome`` values; ``PublishReport.delivered``).
DELIVERED_OUTCOMES = frozenset({"published", "supplement"})

_DURATION = r"^\s*[0-9]*\.?[0-9]+\s*(s|sec|min|m|h|d|w)?\s*$"
_LIST = r"^\s*(\*|[A-Za-z0-9]+(\s*,\s*[A-Za-z0-9]+)*)\s*$"
_VERSIONS = r"^\s*(\*|[Vv]?[0-9]+(\s*,\s*[Vv]?[0-9]+)*)\s*$"
_PATH = ["null", "string"]


def _spec() -> dict[str, dict[str, Any]]:
    """Default, JSON schema and description of every Param (the order of the trigger form)."""
    settings_default = "empty: the setting"
    return {
        "fits_dir": {
            "default": None, "type": _PATH,
            "description": f"-f/--fits_dir: archive root to scan ({settings_default} fits_archive_dir)",
        },
        "target_dir": {
            "default": None, "type": _PATH,
            "description": f"-t/--target_dir: delivery folder, local or on the target host ({settings_default} "
            "soar_target_dir)",
        },
        "target_host": {
            "default": None, "type": _PATH,
            "description": f"-T/--target_host: SOAR host; 'localhost' = local folder ({settings_default} soar_host; "
            "empty soar_host = local). A remote host is reached over SFTP with the SSH connection of the "
            "soar_conn_id setting (pinned host key)",
        },
        "same_esa_name_dir": {
            "default": None, "type": _PATH,
            "description": f"-s/--same_esa_name_dir: local folder for products that would need a third supplement "
            f"({settings_default} soar_conflicts_dir)",
        },
        "rid_lut_file": {
            "default": None, "type": _PATH,
            "description": f"-r/--rid_lut_file: BSD request-id lookup table CSV ({settings_default} rid_lut_file)",
        },
        "rid_lut_update": {
            "default": "update", "type": "string", "enum": list(RID_LUT_MODES),
            "description": "--update_rid_lut[_only]: 'update' refreshes the RID LUT from the API before publishing "
            "(a failed refresh is a warning when a usable local LUT exists), 'skip' uses the local LUT as it is, "
            "'only' refreshes it and publishes nothing",
        },
        "rid_lut_update_url": {
            "default": None, "type": _PATH, "pattern": r"^https?://\S+$",
            "description": f"--rid_lut_update_url: RID API base URL, http(s) ({settings_default} rid_lut_update_url)",
        },
        "sort_files": {
            "default": False, "type": "boolean",
            "description": "--sort_files: process the selected files sorted by full path",
        },
        "blacklist_files": {
            "default": None, "type": _PATH,
            "description": "--blacklist_files: file with names never to publish, one per line (empty: none; an "
            "unreadable file stops the run)",
        },
        "supplement_report": {
            "default": None, "type": _PATH,
            "description": "--supplement_report: tab-separated supplement report to append to (empty: "
            "<data_root>/publish/supplement_report.csv)",
        },
        "waiting_period": {
            "default": None, "type": _PATH, "pattern": _DURATION,
            "description": f"-w/--waiting_period: minimum product age, e.g. 0s, 12h, 14d ({settings_default} "
            "publish_waiting_period)",
        },
        "ll_waiting_period": {
            "default": None, "type": _PATH, "pattern": _DURATION,
            "description": f"--ll_waiting_period: minimum age of LL* products ({settings_default} "
            "publish_ll_waiting_period)",
        },
        "future_guard": {
            "default": None, "type": _PATH, "pattern": _DURATION,
            "description": f"--future_guard: ignore products starting later than now + this ({settings_default} "
            "publish_future_guard)",
        },
        "batch_size": {
            "default": None, "type": ["null", "integer"], "minimum": -1,
            "description": f"-n/--batch_size: maximum files per run, -1 = no limit ({settings_default} "
            "publish_batch_size)",
        },
        "include_versions": {
            "default": "*", "type": "string", "pattern": _VERSIONS,
            "description": "-v/--include_versions: '*' or a comma list of versions like V01,2",
        },
        "include_levels": {
            "default": DEFAULT_LEVELS, "type": "string", "pattern": _LIST,
            "description": "-l/--include_levels: '*' or a comma list of levels (case-insensitive)",
        },
        "include_products": {
            "default": DEFAULT_PRODUCTS, "type": "string", "pattern": _LIST,
            "description": "-p/--include_products: '*' or a comma list of product groups (ql, hk, sci, asp, cal, …)",
        },
        "spice_file": {
            "default": None, "type": _PATH,
            "description": "-S/--spice_file: meta kernel for the ephemeris refresh of incomplete products (empty: "
            "the latest flown meta kernel of the spice_dir setting)",
        },
        "dry_run": {
            "default": False, "type": "boolean",
            "description": "--dry-run: list what would be delivered; change, record, connect and mail nothing",
        },
        "report_mail": {
            "default": "always", "type": "string", "enum": list(REPORT_MAIL_MODES),
            "description": "report mail to the alert_to setting: 'always' (STIXCore report_mail_send: one mail per "
            "run, the all-zero mail is the daily sign of life), 'activity' (only when a file was published, "
            "supplemented, ignored or failed, or there are warnings), 'never'. Dry runs send none",
        },
    }  # fmt: skip


#: Trigger-form sections of the Params.
_SECTIONS = {
    "Archive and selection": (
        "fits_dir", "include_levels", "include_products", "include_versions", "waiting_period",
        "ll_waiting_period", "future_guard", "batch_size", "sort_files", "blacklist_files", "spice_file",
    ),
    "Delivery": ("target_host", "target_dir", "same_esa_name_dir", "supplement_report"),
    "RID LUT": ("rid_lut_update", "rid_lut_file", "rid_lut_update_url"),
    "Run": ("dry_run", "report_mail"),
}  # fmt: skip


def publish_params() -> dict[str, Param]:
    """The Params of ``stix_soar_publish`` (trigger form, in sections), validated by their JSON schema."""
    section_of = {name: section for section, names in _SECTIONS.items() for name in names}
    params = {}
    for name, spec in _spec().items():
        schema = dict(spec)
        default, description = schema.pop("default"), schema.pop("description")
        params[name] = Param(default, description=description, title=name, section=section_of[name], **schema)
    return params


def param_defaults() -> dict[str, Any]:
    """Every Param's default (what a scheduled run gets)."""
    return {name: spec["default"] for name, spec in _spec().items()}


def publish_request(params: Mapping[str, Any], *, run_id: str = "") -> PublishRequest:
    """The library request of the run's Params (missing names take their defaults; empty text = the setting).

    The ``rid_lut_update`` mode ``update`` asks for a refresh with :data:`~stix_lib.ridlut.refresh.RID_API_ATTEMPTS`
    attempts that fails without a usable local LUT (``refresh_rid_lut`` task).
    """
    from stix_lib.publish.request import PublishRequest

    defaults = param_defaults()  # built once per request, not once per Param

    def get(name: str) -> Any:
        return params.get(name, defaults[name])

    def text(name: str) -> str | None:  # a text Param named as the request field it sets (empty: the setting)
        value = get(name)
        return None if value is None or not str(value).strip() else str(value).strip()

    batch_size = get("batch_size")
    return PublishRequest(
        fits_dir=text("fits_dir"),
        target_dir=text("target_dir"),
        target_host=text("target_host"),
        same_esa_name_dir=text("same_esa_name_dir"),
        rid_lut_file=text("rid_lut_file"),
        rid_lut_update_url=text("rid_lut_update_url"),
        blacklist_files=text("blacklist_files"),
        supplement_report=text("supplement_report"),
        waiting_period=text("waiting_period"),
        ll_waiting_period=text("ll_waiting_period"),
        future_guard=text("future_guard"),
        spice_file=text("spice_file"),
        include_versions=text("include_versions") or "*",
        include_levels=text("include_levels") or "*",
        include_products=text("include_products") or "*",
        update_rid_lut=get("rid_lut_update") == "update",
        sort_files=bool(get("sort_files")),
        batch_size=None if batch_size is None else int(batch_size),
        dry_run=bool(get("dry_run")),
        run_id=run_id,
    )


def soar_transport(settings: Settings) -> RemoteTransport:
    """The remote transport of a publishing run: SFTP with the endpoint of the SSH connection ``soar_conn_id``.

    The returned function opens (as a context manager) the transport for a host and target folder; the
    key and pinned host key files exist until the block ends; :func:`stix_lib.publish.publish` connects
    and closes the transport.

    Raises
    ------
    stix_lib.transfer.sshkeys.SSHConfigError
        The connection has no key or no pinned host key, disables host-key checking, or names another host.
    """

    @contextmanager
    def remote(host: str, target_dir: Path) -> Iterator[Transport]:
        from stix_lib.publish import SftpTransport
        from stix_ops.hooks.ssh import RsyncSSHHook

        timeout = int(settings.ssh_connect_timeout.total_seconds())
        with RsyncSSHHook(settings.soar_conn_id, connect_timeout=timeout, host=host).endpoint() as ssh:
            yield SftpTransport(ssh, str(target_dir), io_timeout=settings.transfer_io_timeout.total_seconds())

    return remote


def publish_with_params(
    params: Mapping[str, Any],
    settings: Settings,
    db_url: str,
    *,
    run_id: str = "",
    refreshed: Mapping[str, Any] | None = None,
) -> PublishReport:
    """One publishing run with the given Params (:func:`stix_lib.publish.runner.run_publish`).

    Parameters
    ----------
    params
        The run's Params (missing names take their defaults).
    settings
        Pipeline settings.
    db_url
        The pipeline database (its history).
    run_id
        Stored on the history rows.
    refreshed
        The ``refresh_rid_lut`` task's XCom (its error goes into the report).
    """
    from stix_lib.publish.runner import run_publish
    from stix_lib.ridlut.refresh import RidLutRefresh

    request = replace(publish_request(params, run_id=run_id), db_url=db_url)
    return run_publish(
        request,
        settings,
        remote_transport=soar_transport(settings),
        refreshed=RidLutRefresh(**refreshed) if refreshed else None,
    )


class RidLutRefreshOperator(BaseOperator):
    """Refresh the RID LUT from ``rid_lut_update_url`` (:func:`stix_lib.ridlut.refresh.refresh_rid_lut`).

    Skipped when the ``rid_lut_update`` Param is ``skip`` and in dry runs (a dry run changes
    nothing). A failed refresh is a warning carried into the report when a usable local LUT exists,
    else the task fails (and is retried by Airflow).
    """

    def execute(self, context: Any) -> dict[str, Any]:
        """Refresh and return what was fetched (``error`` set when the API failed)."""
        from stix_lib.publish.runner import refresh_request_lut

        params = context["params"]
        mode = params.get("rid_lut_update", "update")
        if mode == "skip":
            raise AirflowSkipException("rid_lut_update=skip: the local RID LUT is used as it is")
        if params.get("dry_run"):
            raise AirflowSkipException("dry run: the RID LUT is not updated")
        try:
            result = refresh_request_lut(publish_request(params), StixPipelineHook().settings)
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from exc
        if result.error:
            self.log.warning("%s; publishing with the local LUT (%d requests)", result.error, result.rows)
        self.log.info(
            "RID LUT %s: %d API call(s), %d new and %d replaced row(s), %d rows",
            result.lut_file, result.calls, result.added, result.replaced, result.rows,
        )  # fmt: skip
        return result.as_dict()


class SoarPublishOperator(BaseOperator):
    """Run one SOAR publishing run (:func:`publish_with_params`) and return its report summary.

    The XCom (``return_value``) is :meth:`stix_lib.publish.PublishReport.as_dict` plus the mail's
    ``subject`` and ``body``; it is pushed before the task fails, so the report mail still has it.
    :class:`PublishedAnnounceOperator` announces the delivered files from it. Outcomes:

    * errors (E > 0: a copy failed, or a product would need a third supplement) → the task fails
      at the end without retry; failed copies stay pending and the next run offers them again;
    * target unreachable, another run active → the task fails and Airflow retries it (nothing was
      claimed);
    * host key not matching the pin, bad Params or settings → the task fails without retry;
    * ``rid_lut_update=only`` → skipped.

    Parameters
    ----------
    refreshed
        What the RID LUT refresh fetched (its warning goes into the report), templated: pass the
        refresh task's ``output`` (None when it was skipped).
    """

    template_fields = ("refreshed",)

    def __init__(self, *, refreshed: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refreshed = refreshed

    def execute(self, context: Any) -> dict[str, Any]:
        """Publish, log every outcome, fail on errors."""
        from stix_lib.publish import HostKeyRejected, Outcome, PublishLockedError, TransportError
        from stix_lib.transfer.sshkeys import SSHConfigError

        params = context["params"]
        if params.get("rid_lut_update") == "only":
            raise AirflowSkipException("rid_lut_update=only: the RID LUT was refreshed, nothing is published")
        hook = StixPipelineHook()
        try:
            report = publish_with_params(
                params, hook.settings, hook.db_url, run_id=context["run_id"], refreshed=self.refreshed
            )
        except (HostKeyRejected, SSHConfigError) as exc:
            raise AirflowFailException(f"SOAR target refused: {exc}") from exc
        except (PublishLockedError, TransportError):
            raise
        except (OSError, ValueError) as exc:
            raise AirflowFailException(f"cannot publish with these Params/settings: {exc}") from exc

        verb = "would be " if report.dry_run else ""
        for outcome in report.outcomes:
            level = self.log.error if outcome.outcome is Outcome.ERROR else self.log.info
            level("%-12s %s%s", outcome.outcome.value.upper(), verb, outcome.line())
        for warning in report.warnings:
            self.log.warning("%s", warning)
        self.log.info("%s%s (target %s)", "DRY RUN: " if report.dry_run else "", report.subject(), report.target)

        summary = {**report.as_dict(), "subject": report.subject(), "body": report.body()}
        failed = report.of(Outcome.ERROR)
        if failed:
            context["ti"].xcom_push(key="return_value", value=summary)
            names = "; ".join(o.line() for o in failed[:20]) + (" …" if len(failed) > 20 else "")
            raise AirflowFailException(
                f"{len(failed)} of {len(report.outcomes)} file(s) failed (failed copies are offered again by the "
                f"next run): {names}"
            )
        return summary


def published_event_extra(summary: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Extra of the ``stix_soar_published`` event for a publish XCom; None when nothing was delivered.

    Parameters
    ----------
    summary
        The publish task's XCom (:class:`SoarPublishOperator`), or None when it returned none.

    Returns
    -------
    dict or None
        ``counts``, ``files`` (at most :data:`EVENT_FILES_MAX` delivered names), ``more_files``,
        ``target``; None for a dry run or a run that delivered nothing.
    """
    if not summary or summary.get("dry_run"):
        return None
    delivered = [
        o["delivered_name"]
        for o in summary.get("outcomes", ())
        if o.get("outcome") in DELIVERED_OUTCOMES and o.get("delivered_name")
    ]
    if not delivered:
        return None
    return {
        "counts": summary["counts"],
        "files": delivered[:EVENT_FILES_MAX],
        "more_files": max(0, len(delivered) - EVENT_FILES_MAX),
        "target": summary["target"],
    }


class PublishedAnnounceOperator(BaseOperator):
    """Emit :data:`~stix_ops.assets.SOAR_PUBLISHED` (its declared outlet) when the publish task delivered files.

    Skipped otherwise (dry run, nothing new): a skipped task emits no asset event, so a run that
    delivered nothing wakes nobody. Runs only after a successful publish task (a failed one fails
    the run and announces nothing).

    Parameters
    ----------
    summary
        The publish task's XCom, which lists the deliveries; templated: pass its ``output``.
    """

    template_fields = ("summary",)

    def __init__(self, *, summary: Any, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [SOAR_PUBLISHED])
        super().__init__(**kwargs)
        self.summary = summary

    def execute(self, context: Any) -> dict[str, Any]:
        """Attach the delivered names to the event, or skip."""
        extra = published_event_extra(self.summary)
        if extra is None:
            raise AirflowSkipException("nothing delivered (or a dry run): no stix_soar_published event")
        context["outlet_events"][SOAR_PUBLISHED].extra = extra
        count = len(extra["files"]) + extra["more_files"]
        self.log.info("announced %d delivered file(s) to %s", count, extra["target"])
        return extra


class PublishReportMailOperator(BaseOperator):
    """Mail the publishing report through the SMTP provider (connection ``smtp_conn_id``, to ``alert_to``).

    Runs as a teardown of the publishing task, so it also reports failed runs (STIXCore's
    ``ERROR-report``) without deciding the DAG run's state. The ``report_mail`` Param chooses
    ``always`` (default, STIXCore's ``report_mail_send``), ``activity`` or ``never``. Skipped when
    there is no report (publishing did not run), for dry runs, and without recipients. The plain-text
    report (:meth:`~stix_lib.publish.PublishReport.subject` and ``body``, as in
    :func:`stix_lib.publish.build_report_message`) is the plain-text part, the same preformatted
    the HTML part.

    Parameters
    ----------
    summary
        The publishing task's report summary; templated: pass its ``output`` (None when it pushed none).
    """

    template_fields = ("summary",)

    def __init__(self, *, summary: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.summary = summary

    def execute(self, context: Any) -> dict[str, Any]:
        """Send the mail; return subject and recipients."""
        from stix_lib.publish.report import report_html
        from stix_ops.notifiers import send_mail

        params = context["params"]
        summary = self.summary
        if not summary:
            raise AirflowSkipException("no publishing report: the publish task did not run to its end")
        if summary.get("dry_run"):
            raise AirflowSkipException("dry run: no report mail")
        mode = params.get("report_mail", "always")
        if mode == "never":
            raise AirflowSkipException("report_mail=never")
        if mode == "activity" and not any(summary["counts"].values()) and not summary["warnings"]:
            raise AirflowSkipException("report_mail=activity and nothing happened")
        recipients = list(StixPipelineHook().settings.alert_to)
        if not recipients:
            raise AirflowSkipException("no report recipients: set alert_to (STIX_ALERT_TO)")
        send_mail(summary["subject"], report_html(summary["body"]), text_body=summary["body"])
        self.log.info("report mail %r sent to %s", summary["subject"], ", ".join(recipients))
        return {"subject": summary["subject"], "to": recipients}
