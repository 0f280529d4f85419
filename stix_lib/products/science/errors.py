"""Errors of science requests, as exception types (callers tell them apart by type, not by text)."""

from __future__ import annotations


class ScienceRequestError(ValueError):
    """A request yields no product: the message says which request and why."""


class NoRidLut(ScienceRequestError):
    """The request's triggers are scaled and no RID LUT is available to descale them."""
