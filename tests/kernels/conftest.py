"""Shared kernel sets for the kernel-builder tests (built once per session into temp folders)."""

from __future__ import annotations

import pytest
from kernels_support import END, FLOWN_UNTIL, START

from stix_lib.kernels import KernelSetManifest, build_kernel_set


@pytest.fixture(scope="session")
def kernel_set(tmp_path_factory: pytest.TempPathFactory) -> KernelSetManifest:
    """2024-03-01 .. 2024-03-05, flown until 2024-03-03, with zips."""
    root = tmp_path_factory.mktemp("kernel-set") / "kernels"
    return build_kernel_set(root, START, END, FLOWN_UNTIL, make_zips=True)


