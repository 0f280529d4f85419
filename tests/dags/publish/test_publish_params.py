"""The trigger-form Params and ``stix-pipeline publish`` build the same library request."""

from __future__ import annotations

import argparse
from dataclasses import replace

from stix_lib.cli.publish_cmd import _request, add_arguments
from stix_lib.publish.request import PublishRequest


def _cli_request(*argv: str) -> PublishRequest:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return _request(parser.parse_args(list(argv)))


def test_params_and_cli_defaults_agree_but_for_the_rid_lut_refresh() -> None:
    from stix_ops.operators.publish import param_defaults, publish_request

    dag = publish_request(param_defaults())
    cli = _cli_request()
    # The scheduled run refreshes the LUT (3 resuming attempts, fatal without a usable LUT); the CLI
    # keeps STIXCore's opt-in --update_rid_lut with one attempt whose failure is a report warning.
    assert (dag.update_rid_lut, dag.rid_lut_attempts, dag.rid_lut_required) == (True, None, True)
    assert (cli.update_rid_lut, cli.rid_lut_attempts, cli.rid_lut_required) == (False, 1, False)
    assert replace(dag, update_rid_lut=False, rid_lut_attempts=1, rid_lut_required=False) == cli
    assert cli == replace(PublishRequest(), update_rid_lut=False, rid_lut_attempts=1, rid_lut_required=False)


def test_form_values_are_trimmed_and_empty_means_the_setting() -> None:
    from stix_ops.operators.publish import param_defaults, publish_request

    params = {
        **param_defaults(), "fits_dir": "  /archive ", "target_host": "   ", "waiting_period": " 12h ",
        "include_levels": " ", "include_products": "", "batch_size": 5, "rid_lut_update": "skip", "dry_run": True,
    }  # fmt: skip
    request = publish_request(params, run_id="manual__1")

    assert request == replace(
        publish_request(param_defaults()), fits_dir="/archive", waiting_period="12h", include_levels="*",
        include_products="*", batch_size=5, update_rid_lut=False, dry_run=True, run_id="manual__1",
    )  # fmt: skip
    assert request == replace(
        _cli_request("-f", "/archive", "-w", "12h", "-l", "*", "-p", "*", "-n", "5", "--dry-run", "--run_id",
                     "manual__1"),
        rid_lut_attempts=None, rid_lut_required=True,
    )  # fmt: skip
