"""STIX product file names as the SOAR publisher sees them.

A product name has at least five ``_``-separated tokens (processing spec §4.8)::

    solo_<LEVEL>_<descriptor>_<date range>_V<vv>[<status>][_<rid>[-<psc>]].<fits|svg>

``<status>`` is ``U`` for an *incomplete* daily file (still being merged, written with predicted
SPICE kernels) and ``C`` on the LL03 plots; complete products have none. The publisher

* turns an incomplete name into the complete one (``…_V02U.fits`` → ``…_V02.fits``,
  :func:`complete_name`; :func:`incomplete_name` is the inverse);
* groups products by their *ESA name* (:attr:`ProductName.esa_name`): the first five tokens with
  the version token reduced to ``V<digits>`` — the request-id token is dropped, so two BSD requests
  of the same product, time range and version share an ESA name;
* delivers a conflicting product as a *supplement*: ``-sup<n>`` appended to the descriptor
  (:meth:`ProductName.supplement`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from stix_lib.products import l0_l1_names as products_naming
from stix_lib.products.l0_l1_names import complete_name as complete_name  # re-exported for publish users
from stix_lib.products.l0_l1_names import is_incomplete_name

#: Groups a file name into (prefix up to ``_V``, version digits, rest) ignoring the ``U`` status;
#: used to find the versions of one product.
VERSION_REGEX = re.compile(r"(.*_V)([0-9]+)U?([\._].*)")
_VERSION_TOKEN = re.compile(r"V(\d+)([A-Z]?)")
#: File suffixes the publisher handles.
SUFFIXES = (".fits", ".svg")


class ProductNameError(ValueError):
    """A file name that is not a STIX product name (fewer than five tokens, bad version token)."""


def incomplete_name(name: str) -> str:
    """The incomplete twin of a complete name: ``_V<nn>`` → ``_V<nn>U`` (idempotent).

    Raises
    ------
    ProductNameError
        If the name has no ``_V<nn>`` version token followed by ``.`` or ``_``.
    """
    result = products_naming.incomplete_name(name)
    if result == name and not is_incomplete_name(name):
        raise ProductNameError(f"{name!r} has no version token")
    return result


@dataclass(frozen=True)
class ProductName:
    """The parts of a product file name.

    Attributes
    ----------
    name
        The whole file name.
    tokens
        The stem split at ``_``.
    suffix
        ``.fits``, ``.svg`` (or whatever the name ends with).
    version
        The processing version number.
    status
        The status letter after the version digits (``"U"``, ``"C"`` or ``""``).
    """

    name: str
    tokens: tuple[str, ...]
    suffix: str
    version: int
    status: str

    @classmethod
    def parse(cls, name: str) -> ProductName:
        """Split a file name into its tokens.

        Raises
        ------
        ProductNameError
            Fewer than five tokens, or the fifth is not ``V<digits>[<letter>]``.
        """
        path = PurePath(name)
        if path.name != name:
            raise ProductNameError(f"{name!r} is a path, not a file name")
        tokens = tuple(path.stem.split("_"))
        if len(tokens) < 5 or not all(tokens[:5]):
            raise ProductNameError(f"{name!r} is not a product name: fewer than 5 '_'-separated tokens")
        match = _VERSION_TOKEN.fullmatch(tokens[4])
        if match is None:
            raise ProductNameError(f"{name!r}: version token {tokens[4]!r} is not V<digits>[<status>]")
        return cls(name, tokens, path.suffix, int(match[1]), match[2])

    @property
    def level(self) -> str:
        """The level token as written (``L1``, ``ANC``, ``LL03``)."""
        return self.tokens[1]

    @property
    def descriptor(self) -> str:
        """The descriptor token (``stix-ql-lightcurve``)."""
        return self.tokens[2]

    @property
    def product(self) -> str:
        """The product group: second ``-`` part of the descriptor (``ql``, ``sci``, ``asp``), or ``""``."""
        parts = self.descriptor.lower().split("-")
        return parts[1] if len(parts) > 1 else ""

    @property
    def request(self) -> str | None:
        """The sixth token (``<rid>[-<psc>]``) if present."""
        return self.tokens[5] if len(self.tokens) > 5 else None

    @property
    def rid(self) -> int | None:
        """The BSD request id of the sixth token, None without one (or if it is not a number)."""
        if self.request is None:
            return None
        head = self.request.split("-")[0]
        return int(head) if head.isdigit() else None

    @property
    def is_fits(self) -> bool:
        """Whether this is a FITS file."""
        return self.suffix.lower() == ".fits"

    @property
    def incomplete(self) -> bool:
        """Whether this is an incomplete (``U``) daily file."""
        return self.status == "U"

    @property
    def version_digits(self) -> str:
        """The version digits as written (``"02"``)."""
        return self.tokens[4][1:].rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    @property
    def esa_name(self) -> str:
        """First five tokens with the version token as ``V<digits>`` (no status, no request id)."""
        return "_".join((*self.tokens[:4], f"V{self.version_digits}"))

    def complete(self) -> ProductName:
        """This product under its complete name."""
        return ProductName.parse(complete_name(self.name))

    def supplement(self, number: int) -> ProductName:
        """The supplement name: ``-sup<number>`` appended to the descriptor, all else kept."""
        if number < 1:
            raise ValueError("supplement numbers start at 1")
        tokens = list(self.tokens)
        tokens[2] = f"{tokens[2]}-sup{number}"
        return ProductName.parse("_".join(tokens) + self.suffix)

    @property
    def modified_esa_name(self) -> str:
        """ESA name plus suffix, as the history stores it for a delivered supplement."""
        return self.esa_name + self.suffix
