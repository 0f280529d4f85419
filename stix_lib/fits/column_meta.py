"""Column units and the serialized-columns YAML of a FITS table, without importing astropy.

Product files carry, per binary table, a ``TUNIT`` card per column in the FITS unit syntax and the
``--BEGIN-ASTROPY-SERIALIZED-COLUMNS--`` COMMENT block: the YAML astropy's table writer makes of
each column's name, unit, datatype, description and meta. astropy itself (``astropy.units`` +
``astropy.table`` with ``astropy.io.fits`` and ``astropy.time``) costs about 0.5 s of CPU to
import, more than an Airflow LB -> L1 task needs for its work; so the common cases are produced
here with PyYAML and a table of the units our products use, byte for byte what astropy produces
(``tests/unit/fits/test_column_meta.py`` compares both), and anything else (an unknown unit, meta
values other than text, numbers, booleans, ``None`` or lists of them) goes to astropy as before.
"""

from __future__ import annotations

import copy
import functools
import json
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from stix_lib.fits.writer import WriteColumn

#: Unit text -> (astropy's generic form, FITS form); astropy's parser decides for any other text.
#: The FITS forms are listed too: they are the units of columns read back from product files.
KNOWN_UNITS: dict[str, tuple[str, str]] = {
    "%": ("%", "10**-2"),
    "10**-2": ("0.01", "10**-2"),
    "A": ("A", "A"),
    "D": ("D", "D"),
    "K": ("K", "K"),
    "V": ("V", "V"),
    "W": ("W", "W"),
    "adu": ("adu", "adu"),
    "arcsec": ("arcsec", "arcsec"),
    "count": ("ct", "count"),
    "cs": ("cs", "cs"),
    "ct": ("ct", "count"),
    "d": ("d", "d"),
    "deg": ("deg", "deg"),
    "h": ("h", "h"),
    "keV": ("keV", "keV"),
    "keV adu-1": ("keV / adu", "keV adu-1"),
    "keV/adu": ("keV / adu", "keV adu-1"),
    "km": ("km", "km"),
    "m": ("m", "m"),
    "mA": ("mA", "mA"),
    "min": ("min", "min"),
    "ms": ("ms", "ms"),
    "s": ("s", "s"),
    "us": ("us", "us"),
}

_PLAIN = (str, int, float, bool, type(None))


def astropy_unit_forms(unit: str) -> tuple[str, str]:
    """``(generic, FITS)`` forms of ``unit`` as astropy writes them (unknown units as given)."""
    import astropy.units as u
    from astropy.utils.exceptions import AstropyWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        parsed = u.Unit(unit, parse_strict="silent")
    if isinstance(parsed, u.UnrecognizedUnit):
        return str(parsed), unit
    try:
        return str(parsed), parsed.to_string(format="fits")
    except (ValueError, TypeError):
        return str(parsed), unit


def unit_forms(unit: str) -> tuple[str, str]:
    """``(generic, FITS)`` forms of a unit text: :data:`KNOWN_UNITS`, else astropy's parser."""
    known = KNOWN_UNITS.get(unit)
    return known if known is not None else astropy_unit_forms(unit)


def _datatype(dtype: np.dtype) -> str:
    name = dtype.name
    if name.startswith(("bytes", "str")):
        return "string"
    return name.removesuffix("_")


def _plain(value: Any) -> bool:
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    return type(value) in _PLAIN


def serialized_yaml(columns: Sequence[WriteColumn]) -> list[str] | None:
    """The YAML lines astropy writes for zero-row copies of ``columns``; ``None`` when astropy must make them.

    Same structure as astropy's ``get_yaml_from_table``: ``datatype`` (one mapping per column:
    name, unit, datatype, description, meta as ``!!omap``, subtype for vector columns) and
    ``meta`` (``__serialized_columns__: {}``).
    """
    import yaml

    entries = []
    for column in columns:
        dtype = column.values.dtype
        if dtype.kind not in "biufSU" or not all(_plain(v) for v in column.meta.values()):
            return None
        entry: list[tuple[str, Any]] = [("name", column.name)]
        if column.unit:
            entry.append(("unit", unit_forms(column.unit)[0]))
        shape = column.values.shape[1:]
        entry.append(("datatype", "string" if shape else _datatype(dtype)))
        if column.description is not None:
            entry.append(("description", column.description))
        if column.meta:
            entry.append(("meta", OrderedDict(copy.deepcopy(column.meta))))
        if shape:
            entry.append(("subtype", _datatype(dtype) + json.dumps(list(shape), separators=(",", ":"))))
        entries.append(_Ordered(entry))
    header = {"datatype": entries, "meta": OrderedDict([("__serialized_columns__", {})])}
    return yaml.dump(header, default_flow_style=None, Dumper=_dumper(), width=130).splitlines()


class _Ordered(list):
    """Key-value pairs written as a mapping in their own order (astropy's column attribute order)."""


@functools.cache
def _dumper() -> type:
    """A PyYAML dumper writing mappings as astropy's table dumper does (built on first use)."""
    import yaml

    base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: same text, faster

    class ColumnDumper(base):  # a base chosen at run time
        def represent_mapping(self, tag: str, mapping: Any, flow_style: bool | None = None) -> yaml.MappingNode:
            pairs = list(mapping) if isinstance(mapping, _Ordered) else sorted(mapping.items())
            value: list[tuple[yaml.Node, yaml.Node]] = []
            node = yaml.MappingNode(tag, value, flow_style=flow_style)
            if self.alias_key is not None:
                self.represented_objects[self.alias_key] = node
            best_style = True
            for key, item in pairs:
                node_key, node_value = self.represent_data(key), self.represent_data(item)
                if not (isinstance(node_key, yaml.ScalarNode) and not node_key.style):
                    best_style = False
                if not (isinstance(node_value, yaml.ScalarNode) and not node_value.style):
                    best_style = False
                value.append((node_key, node_value))
            if flow_style is None:
                node.flow_style = self.default_flow_style if self.default_flow_style is not None else best_style
            return node

        def represent_omap(self, data: OrderedDict) -> yaml.SequenceNode:
            value: list[yaml.Node] = []
            node = yaml.SequenceNode("tag:yaml.org,2002:omap", value, flow_style=None)
            if self.alias_key is not None:
                self.represented_objects[self.alias_key] = node
            best_style = True
            for key, item in data.items():
                entry = self.represent_data({key: item})
                if not (isinstance(entry, yaml.ScalarNode) and not entry.style):
                    best_style = False
                value.append(entry)
            node.flow_style = self.default_flow_style if self.default_flow_style is not None else best_style
            return node

    ColumnDumper.add_representer(_Ordered, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data))
    ColumnDumper.add_representer(OrderedDict, ColumnDumper.represent_omap)
    return ColumnDumper
