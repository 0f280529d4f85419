"""Lazy re-exports for package ``__init__`` modules: a name is imported from its submodule on first use.

A package lists its public names as ordinary imports inside ``if TYPE_CHECKING:`` (so type checkers
and readers see them) and ends with::

    __getattr__, __dir__ = lazy_exports(__name__, __file__)

Importing one submodule (``stix_lib.products.l0_l1_names``) then no longer imports its siblings and
their heavy dependencies (astropy, scipy, SQLAlchemy): the CLI and the Airflow tasks pay only for
what they use.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _type_checking_imports(source: str, package: str) -> dict[str, tuple[str, str]]:
    """``{exported name: (module, attribute)}`` of the ``from ... import`` in ``if TYPE_CHECKING:``."""
    exports: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.module:
                module = "." * statement.level + statement.module
                module = importlib.util.resolve_name(module, package) if statement.level else module
                for alias in statement.names:
                    exports[alias.asname or alias.name] = (module, alias.name)
    return exports


def lazy_exports(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` resolving the names imported under ``TYPE_CHECKING``.

    Parameters
    ----------
    package
        The package's ``__name__``.
    init_file
        The package's ``__file__`` (its ``__init__.py``, read once to find the exports).

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` to assign in the package namespace.
    """
    exports = _type_checking_imports(Path(init_file).read_text(encoding="utf-8"), package)

    def __getattr__(name: str) -> Any:
        try:
            module, attribute = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attribute)
        setattr(sys.modules[package], name, value)  # later look-ups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
