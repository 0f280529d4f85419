"""Product.with_rows: control rows renumbered in order of first use, dangling references refused."""

from __future__ import annotations

import numpy as np
import pytest

from stix_lib.products.catalogue import product_spec
from stix_lib.products.model import Product, bin_centres
from stix_lib.products.table import ColumnTable


def _product(control_index: list[int], control_rows: list[int]) -> Product:
    control = ColumnTable()
    control.add("scet_coarse", np.array([1000 + 10 * i for i in control_rows], dtype=np.uint32))
    control.add("scet_fine", np.zeros(len(control_rows), dtype=np.int64))
    control.add("index", np.array(control_rows, dtype=np.int64))
    data = ColumnTable()
    data.add("control_index", np.array(control_index, dtype=np.int64))
    data.add("time", bin_centres(np.full(len(control_index), 1000.0), np.arange(len(control_index)), 400))
    data.add("timedel", np.full(len(control_index), 400), unit="cs")
    return Product(product_spec(21, 6, 30), "L0", control, data)


def test_control_rows_follow_first_use_and_unused_ones_go() -> None:
    product = _product([7, 7, 3, 5, 3], [3, 5, 7, 9])
    out = product.with_rows([0, 1, 2, 3, 4])
    assert out.control["index"].tolist() == [0, 1, 2]
    assert out.control["scet_coarse"].tolist() == [1070, 1030, 1050]  # 7, 3, 5; 9 unused
    assert out.data["control_index"].tolist() == [0, 0, 1, 2, 1]
    sorted_rows = _product([3, 3, 5, 7], [3, 5, 7, 9]).with_rows([1, 2, 3])
    assert sorted_rows.data["control_index"].tolist() == [0, 1, 2]
    assert sorted_rows.control["scet_coarse"].tolist() == [1030, 1050, 1070]


@pytest.mark.parametrize("control_index", [[0, 4], [0, 99]])  # a gap in the indices, beyond the last
def test_data_referring_to_missing_control_rows_is_refused(control_index: list[int]) -> None:
    product = _product(control_index, [0, 1, 2, 3, 5])
    with pytest.raises(ValueError, match=rf"control rows \[{control_index[1]}\] that do not exist"):
        product.with_rows([0, 1])
