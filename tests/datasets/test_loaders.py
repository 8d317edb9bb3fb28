"""Bundled data loaders: shapes, dtypes, targets and options."""

from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

from sklearn_dynapro import check_sequences
from sklearn_dynapro.datasets import (
    load_cao2021_te,
    load_mpra_random50,
    load_mpra_varlen_random,
)


@pytest.mark.parametrize(
    ("loader", "n_rows", "lengths"),
    [(load_mpra_random50, 20_000, (50, 50)), (load_mpra_varlen_random, 7_600, (25, 100))],
)
def test_mpra_arrays(loader, n_rows, lengths):
    X, y = loader()
    assert isinstance(X, np.ndarray) and X.dtype == object and X.shape == (n_rows,)
    assert isinstance(y, np.ndarray) and y.dtype == np.float64 and y.shape == (n_rows,)
    assert np.isfinite(y).all() and 1.0 < y.min() < y.max() < 10.0
    assert all(isinstance(s, str) for s in X[:100])
    n = np.array([len(s) for s in X])
    assert (n.min(), n.max()) == lengths
    # Valid upper-case DNA: the checker returns them unchanged.
    np.testing.assert_array_equal(check_sequences(X[:500]), X[:500])


def test_varlen_has_100_sequences_per_length():
    X, _ = load_mpra_varlen_random()
    counts = pd.Series([len(s) for s in X]).value_counts()
    assert counts.index.sort_values().tolist() == list(range(25, 101))
    assert (counts == 100).all()


@pytest.mark.parametrize(
    ("loader", "library"),
    [(load_mpra_random50, "random50"), (load_mpra_varlen_random, "varlen_random")],
)
def test_mpra_as_frame(loader, library):
    X_arr, y_arr = loader()
    X, y = loader(as_frame=True)
    assert isinstance(X, pd.DataFrame) and list(X.columns) == ["sequence", "library"]
    assert (X["library"] == library).all()
    np.testing.assert_array_equal(X["sequence"].to_numpy(dtype=object), X_arr)
    assert isinstance(y, pd.Series) and y.name == "mrl" and y.dtype == np.float64
    np.testing.assert_array_equal(y.to_numpy(), y_arr)


def test_loaders_return_fresh_objects():
    X1, y1 = load_mpra_varlen_random()
    X1[0] = "A"
    y1[:] = 0.0
    X2, y2 = load_mpra_varlen_random()
    assert X2[0] != "A" and (y2 != 0.0).all()


@pytest.mark.parametrize(
    ("cell_line", "n_rows"), [(None, 4_890), ("HEK293", 2_442), ("PC3", 2_448)]
)
def test_cao2021_rows_and_columns(cell_line, n_rows):
    X, y = load_cao2021_te(cell_line=cell_line)
    assert list(X.columns) == ["sequence", "cell_line", "transcript_id", "gene", "window"]
    assert X.shape == (n_rows, 5) and y.shape == (n_rows,)
    assert isinstance(X.index, pd.RangeIndex) and y.index.equals(X.index)
    assert X["window"].dtype == np.int64
    assert (X["sequence"].str.len() == 101).all()
    if cell_line is not None:
        assert (X["cell_line"] == cell_line).all()
    else:
        assert set(X["cell_line"]) == {"HEK293", "PC3"}


def test_cao2021_targets_are_natural_logs_of_the_file():
    resource = files("sklearn_dynapro.datasets") / "data" / "cao2021_endogenous_te.csv.gz"
    with resource.open("rb") as handle:
        raw = pd.read_csv(handle, compression="gzip")
    X, y_te = load_cao2021_te()
    _, y_expr = load_cao2021_te(target="expression")
    _, both = load_cao2021_te(target="both")
    assert y_te.name == "log_te" and y_expr.name == "log_expression"
    assert isinstance(both, pd.DataFrame)
    assert list(both.columns) == ["log_te", "log_expression"]
    for y in (y_te, y_expr, both["log_te"], both["log_expression"]):
        assert y.dtype == np.float64 and np.isfinite(y).all()
    np.testing.assert_allclose(y_te, np.log(raw["te"]))
    np.testing.assert_allclose(y_expr, np.log(raw["rna_rpkm"]))
    np.testing.assert_array_equal(both["log_te"], y_te)
    assert (X["sequence"] == raw["utr"]).all()


def test_cao2021_transcripts_share_labels():
    X, y = load_cao2021_te()
    # Windows of one transcript in one cell line carry that transcript's label.
    spread = y.groupby([X["cell_line"], X["transcript_id"]]).nunique()
    assert (spread == 1).all()
    assert X.groupby("cell_line")["transcript_id"].nunique().lt(X["cell_line"].value_counts()).all()


def test_cao2021_invalid_arguments():
    with pytest.raises(ValueError, match=r"cell_line must be one of \('HEK293', 'PC3'\)"):
        load_cao2021_te(cell_line="HeLa")
    with pytest.raises(ValueError, match=r"target must be one of .*got 'mrl'"):
        load_cao2021_te(target="mrl")


def test_keyword_only():
    with pytest.raises(TypeError):
        load_mpra_random50(True)
    with pytest.raises(TypeError):
        load_cao2021_te("PC3")
