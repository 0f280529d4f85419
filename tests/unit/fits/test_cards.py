"""Header cards formatted without astropy are astropy's own images (its ``Card`` is the truth)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.fits.cards import _format_card

NAMES = ";".join(f"solo_LB_stix-21-6-{30 + i}_0640137600_V02.fits" for i in range(8))
VALUES = [
    "x" * 68,
    "x" * 69,
    "y" * 70,
    "z" * 135,
    "w" * 201,
    NAMES[:180],
    NAMES,
    "a few words " * 20,
    "word " * 13 + "x" * 80 + " tail",
    "trailing blanks   " * 6 + "   ",
    " leading blank" + "." * 70,
    "solo_ANC_soc-flown-mk_V105_20200515_001.tm;solo_ANC_soc-pred-mk_V106_20201116_001.tm",
]
COMMENTS = ["", "c", "source files of this product", "long comment " * 12, "nospaces" * 20]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("comment", COMMENTS)
def test_long_strings_are_astropys_continue_cards(value: str, comment: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fits.Card("PARENT", value, comment).image
    assert _format_card("PARENT", value, comment) == expected


def test_long_strings_read_back() -> None:
    image = _format_card("RAW_FILE", NAMES, "raw files")
    header = fits.Header.fromstring(image + "END".ljust(80))
    assert header["RAW_FILE"] == NAMES
    assert header.comments["RAW_FILE"] == "raw files"
    assert np.all([len(image) % 80 == 0])
