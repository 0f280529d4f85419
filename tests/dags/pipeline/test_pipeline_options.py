"""One options object and one constructor for the processing pipeline (issue 18 item 2).

``stix-pipeline process``, the ``stix_level_processing`` tasks and the reprocessing of a day all
build their pipeline with :func:`stix_lib.pipeline.build.build_pipeline` from a
:class:`~stix_lib.pipeline.options.PipelineOptions`. These tests hold the callers to it: the same
inputs give the same options whichever way they come in, the defaults (SOOP keywords from
``from_soc_dir``, the CAL hook for end level L2) are the same for every caller, and no second
construction site appears in production code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from stix_lib.pipeline.build import build_pipeline
from stix_lib.pipeline.options import PipelineOptions

REPO = Path(__file__).resolve().parents[3]
#: Production code: the library, the Airflow plugins and the DAG files.
PRODUCTION = ("stix_lib", "plugins", "dags")
#: The only module allowed to build a pipeline (and its CAL hook).
CONSTRUCTOR = Path("stix_lib/pipeline/build.py")

#: The same run asked for on the command line and in the DAG's trigger form.
SAME_INPUTS: list[dict[str, object]] = [
    {},
    {"end_level": "L1"},
    {"end_level": "ALL", "stop_on_error": True},
    {
        "fits_dir": "/data/out",
        "idb_dir": "/data/idb",
        "spice_dir": "/data/spice",
        "spice_file": "/data/spice/mk/solo_ANC_soc-flown-mk.tm",
        "soop_dir": "/data/soop",
        "end_level": "L0",
    },
]


def _cli_options(inputs: dict[str, object]) -> PipelineOptions:
    from stix_lib.cli.main import build_parser
    from stix_lib.cli.process_cmd import pipeline_options

    argv = ["process"]
    for name, value in inputs.items():
        if name == "stop_on_error":
            argv.append("--stop_on_error" if value else "--continue_on_error")
        else:
            argv += [f"--{name}", str(value)]
    return pipeline_options(build_parser().parse_args(argv))


def _dag_options(inputs: dict[str, object]) -> PipelineOptions:
    from stix_ops.operators.processing import PARAMS, pipeline_options

    params = {name: param.value for name, param in PARAMS.items()}  # the trigger form's defaults
    params.update(inputs)
    return pipeline_options(params)


@pytest.mark.parametrize("inputs", SAME_INPUTS, ids=lambda inputs: ",".join(inputs) or "defaults")
def test_cli_and_dag_give_the_same_options(inputs: dict[str, object]) -> None:
    cli, dag = _cli_options(inputs), _dag_options(inputs)
    assert cli == dag
    if not inputs:
        assert cli == PipelineOptions()  # nothing given: everything from the settings, up to L2


def test_reprocessing_asks_for_the_same_options_plus_version_and_folder(settings) -> None:
    from stix_lib.stages.reprocess import resolve_options

    inputs = SAME_INPUTS[-1]
    resolved = resolve_options(settings, version=7, **inputs)  # type: ignore[arg-type]
    assert resolved.pipeline_options() == PipelineOptions.from_overrides(**inputs, processing_version=7)


def test_empty_overrides_mean_the_settings_and_levels_are_checked() -> None:
    assert PipelineOptions.from_overrides(fits_dir="", soop_dir=" ", end_level="all") == PipelineOptions()
    with pytest.raises(ValueError, match="end level 'L3'"):
        PipelineOptions(end_level="L3")
    with pytest.raises(ValueError, match="processing version"):
        PipelineOptions(processing_version=0)


def _three_callers(settings, tmp_path: Path) -> dict[str, PipelineOptions]:
    from stix_lib.stages.reprocess import resolve_options

    return {
        "cli": _cli_options({}),
        "dag": _dag_options({}),
        "reprocess": resolve_options(settings, fits_dir=tmp_path / "re").pipeline_options(),
    }


def test_every_caller_takes_soop_keywords_from_the_soc_delivery(settings, tmp_path: Path) -> None:
    """SOOP default decided once: the LTP exports SOC delivers into ``from_soc_dir``."""
    for caller, options in _three_callers(settings, tmp_path).items():
        pipeline = build_pipeline(settings, options)
        soop = pipeline.writer.soop
        assert soop is not None, caller
        assert Path(soop.soop_dir) == Path(settings.from_soc_dir), caller  # type: ignore[attr-defined]
        given = build_pipeline(settings, PipelineOptions(soop_dir=tmp_path / "soop"))
        assert Path(given.writer.soop.soop_dir) == tmp_path / "soop"  # type: ignore[union-attr]


def test_cal_hook_is_built_with_the_pipeline_and_shares_its_inputs(settings, tmp_path: Path) -> None:
    from stix_lib.cal import CalEnergyStep

    options = PipelineOptions(fits_dir=tmp_path / "out", processing_version=9)
    pipeline = build_pipeline(settings, options)
    hook = pipeline.l2_hook
    assert isinstance(hook, CalEnergyStep)
    assert hook.soop is pipeline.writer.soop and hook.spice_kernels is pipeline.writer.kernels
    assert hook.archive_dir == pipeline.archive == tmp_path / "out"
    assert hook.version == pipeline.writer.processing_version == 9
    for level in ("TM", "LB", "L0", "L1"):
        assert build_pipeline(settings, PipelineOptions(end_level=level)).l2_hook is None


def test_workers_and_error_policy_reach_the_pipeline(settings) -> None:
    pipeline = build_pipeline(settings, PipelineOptions(workers=3, stop_on_error=True, end_level="L1"))
    assert (pipeline.workers, pipeline.stop_on_error) == (3, True)
    assert pipeline.rid_lut is None and "not found" in str(pipeline.rid_lut_error)  # no LUT under a fresh root


def _foreign_l2_hook(target: ast.expr) -> bool:
    """``x.l2_hook = ...`` on another object than ``self`` (a class setting its own field is fine)."""
    owner = target.value if isinstance(target, ast.Attribute) else None
    return owner is not None and target.attr == "l2_hook" and not (isinstance(owner, ast.Name) and owner.id == "self")


def construction_sites(root: Path) -> list[str]:
    """Places in production code outside :data:`CONSTRUCTOR` that build or rewire a pipeline.

    Flagged: calling ``Pipeline`` or ``CalEnergyStep`` (also as ``x.Pipeline(...)`` or
    ``Pipeline.<classmethod>(...)``), assigning ``<object>.l2_hook`` (not ``self.l2_hook``), and defining a function
    called ``build_pipeline``.
    """
    found: list[str] = []
    for top in PRODUCTION:
        for path in sorted((root / top).rglob("*.py")):
            relative = path.relative_to(root)
            if relative == CONSTRUCTOR:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                where = f"{relative}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.Call):
                    func = node.func
                    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                        if func.value.id == "Pipeline":
                            found.append(f"{where} Pipeline.{func.attr}()")
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                    if name in ("Pipeline", "CalEnergyStep"):
                        found.append(f"{where} {name}()")
                elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(_foreign_l2_hook(target) for target in targets):
                        found.append(f"{where} .l2_hook assigned after construction")
                elif isinstance(node, ast.FunctionDef) and node.name == "build_pipeline":
                    found.append(f"{where} def build_pipeline")
    return found


def test_the_pipeline_is_built_in_one_place_only() -> None:
    """Rule: production code builds a Pipeline (and its CAL hook) only in stix_lib/pipeline/build.py."""
    assert (REPO / CONSTRUCTOR).is_file()
    assert construction_sites(REPO) == []


def test_the_construction_rule_sees_a_second_site(tmp_path: Path) -> None:
    """The checker itself: a stray construction in a production module is reported."""
    module = tmp_path / "stix_lib" / "stray.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from stix_lib.pipeline import orchestrator\n"
        "from stix_lib.pipeline.orchestrator import Pipeline\n"
        "a = Pipeline(writer, idb)\n"
        "b = orchestrator.Pipeline(writer, idb)\n"
        "c = Pipeline.from_settings(settings)\n"
        "c.l2_hook = CalEnergyStep(settings)\n"
        "def build_pipeline():\n    pass\n"
    )
    found = sorted(text.split(" ", 1)[1] for text in construction_sites(tmp_path))
    assert found == sorted(
        ["Pipeline()", "Pipeline()", "Pipeline.from_settings()", ".l2_hook assigned after construction",
         "CalEnergyStep()", "def build_pipeline"]
    )  # fmt: skip


def test_cli_default_soop_cards_are_those_of_the_real_stixcore_products(settings, reference_data: Path) -> None:
    """Without ``-p`` the CLI's L1 SOOP cards carry STIXCore's comments, as the DAG's always did.

    Anchored in a real STIXCore L1 product (no SOOP match there either: empty values, the SOOP
    manager's comments). The CLI used to write the fallback provider's comments instead, so its
    L1 headers differed from the DAG's for the same input.
    """
    from astropy.io import fits

    from stix_lib.products.header import soop_cards

    reference = fits.getheader(reference_data / "reference" / "l1" / "solo_L1_stix-ql-background_20200506_V01.fits")
    pipeline = build_pipeline(settings, _cli_options({}))
    cards = {key: comment for key, _value, comment in soop_cards(pipeline.writer.soop, "2020-05-06", "2020-05-07")}
    for key in ("SOOPNAME", "SOOPTYPE", "OBS_ID"):
        assert cards[key] == reference.comments[key], key
