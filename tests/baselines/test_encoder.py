"""SequenceLibraryEncoder: sequences (+ library labels) → one-hot, lengths, library index."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_dynapro.baselines import SequenceLibraryEncoder
from sklearn_dynapro.preprocessing import SequenceOneHot


@pytest.fixture
def frame():
    return pd.DataFrame(
        {"sequence": ["ACGU", "NNA", "gattaca", "T"], "library": ["b", "a", "b", "a"]}
    )


def test_outputs_align_with_the_one_hot_encoder(frame):
    with pytest.warns(UserWarning, match=r"Ambiguous bases .* row \[1\]"):
        out = SequenceLibraryEncoder().fit(frame).transform(frame)
    assert set(out) == {"onehot", "length", "library"}
    with pytest.warns(UserWarning, match="Ambiguous"):
        expected = SequenceOneHot().fit_transform(frame["sequence"])
    np.testing.assert_array_equal(out["onehot"], expected)
    assert out["onehot"].dtype == np.float32 and out["onehot"].shape == (4, 4, 7)
    # N is all-zero like padding: only the lengths tell them apart.
    assert out["length"].tolist() == [4, 3, 7, 1] and out["length"].dtype == np.int64
    assert out["library"].tolist() == [1, 0, 1, 0] and out["library"].dtype == np.int64


def test_library_labels(frame):
    enc = SequenceLibraryEncoder(ambiguous="mask").fit(frame)
    assert enc.libraries_.tolist() == ["a", "b"] and enc.n_libraries_ == 2
    bad = frame.copy()
    bad.loc[2, "library"] = "c"
    with pytest.raises(ValueError, match=r"among those seen in fit \['a', 'b'\], got 'c' at row"):
        enc.transform(bad)
    with pytest.raises(ValueError, match="X must be a DataFrame with the library column"):
        enc.transform(["ACGT"])
    missing = frame.copy()
    missing.loc[3, "library"] = None
    with pytest.raises(ValueError, match=r"must not be missing, got None/NaN at row \[3\]"):
        SequenceLibraryEncoder(ambiguous="mask").fit(missing)
    twice = pd.concat([frame, frame[["library"]]], axis=1)
    with pytest.raises(ValueError, match="'library', which names 2 columns"):
        enc.transform(twice)


def test_one_implicit_library_without_a_column(frame):
    enc = SequenceLibraryEncoder(ambiguous="mask").fit(["ACGT", "GG"])
    assert enc.libraries_ is None and enc.n_libraries_ == 1
    # Labels given later are ignored: the model has a single library.
    assert enc.transform(frame.iloc[:1])["library"].tolist() == [0]
    no_column = SequenceLibraryEncoder(library_column=None, ambiguous="mask").fit(frame)
    assert no_column.transform(frame)["library"].tolist() == [0, 0, 0, 0]


def test_length_limits_and_truncation():
    enc = SequenceLibraryEncoder(max_len=5).fit(["ACG"])
    assert enc.max_len_ == 5
    with pytest.raises(ValueError, match=r"longer than max_len=5 .* at row \[1\]"):
        enc.transform(["AC", "ACGTAC"])
    cut = SequenceLibraryEncoder(max_len=5, truncate=True).fit(["ACG"])
    with pytest.warns(UserWarning, match="5' ends were cut off"):
        out = cut.transform(["ACGTAC"])
    assert out["length"].tolist() == [5]
    with pytest.raises(TypeError, match="pass a list"):
        enc.transform("ACGT")


def test_set_output_accepts_only_the_default():
    enc = SequenceLibraryEncoder()
    assert enc.set_output(transform="default") is enc
    with pytest.raises(ValueError, match="a dict of arrays"):
        enc.set_output(transform="pandas")
    assert clone(enc).get_params() == enc.get_params()


@pytest.mark.parametrize(
    "check",
    [
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_parameters_default_constructible,
    ],
)
def test_data_free_sklearn_checks(check):
    check("SequenceLibraryEncoder", SequenceLibraryEncoder())
