"""The processing orchestrator (TM -> LB -> L0 -> L1 -> L2) used by the CLI and the Airflow tasks.

:func:`~stix_lib.pipeline.build.build_pipeline` builds the chain from the settings and one
:class:`~stix_lib.pipeline.options.PipelineOptions` (the only construction site);
:class:`~stix_lib.pipeline.orchestrator.Pipeline` runs it; its results are
:class:`~stix_lib.pipeline.report.FileReport` / :class:`~stix_lib.pipeline.report.RunReport`.
"""

from stix_lib.pipeline.build import build_pipeline
from stix_lib.pipeline.options import PipelineOptions
from stix_lib.pipeline.orchestrator import (
    ExplicitMetaKernel,
    Level,
    Pipeline,
    PipelineAborted,
    make_kernels,
    read_conf_version,
)
from stix_lib.pipeline.report import FileReport, RunReport

__all__ = [
    "ExplicitMetaKernel",
    "FileReport",
    "Level",
    "Pipeline",
    "PipelineAborted",
    "PipelineOptions",
    "RunReport",
    "build_pipeline",
    "make_kernels",
    "read_conf_version",
]
