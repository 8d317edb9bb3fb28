"""SequenceOneHot: channels, padding, N value, 3-D output and set_output."""

import numpy as np
import pytest
import sklearn
from sklearn.pipeline import Pipeline, make_pipeline

from sklearn_dynapro.datasets import load_cao2021_te
from sklearn_dynapro.preprocessing import SequenceOneHot, SequenceTokenizer


def test_hand_example_padding_and_channels():
    enc = SequenceOneHot()
    out = enc.fit_transform(["ACG", "T"])
    assert out.shape == (2, 4, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], np.eye(4, 3))
    expected_t = np.zeros((4, 3), dtype=np.float32)
    expected_t[3, 2] = 1.0  # T, in the last column; the two pad columns are all-zero.
    np.testing.assert_array_equal(out[1], expected_t)


@pytest.mark.parametrize("n_value", [0.0, 0.25])
def test_n_value(n_value):
    out = SequenceOneHot(n_value=n_value, ambiguous="mask").fit_transform(["ANG", "N"])
    np.testing.assert_array_equal(out[0, :, 1], [n_value] * 4)
    np.testing.assert_array_equal(out[1, :, 2], [n_value] * 4)
    np.testing.assert_array_equal(out[1, :, :2], 0.0)


@pytest.mark.parametrize("n_value", [0.5, 1, -0.25, "0.25"])
def test_invalid_n_value(n_value):
    with pytest.raises(ValueError, match="'n_value' parameter of SequenceOneHot"):
        SequenceOneHot(n_value=n_value).fit(["ACGT"])


def test_agrees_with_the_tokenizer():
    rng = np.random.default_rng(1)
    sequences = ["".join(rng.choice(list("ACGT"), size=n)) for n in rng.integers(1, 30, 100)]
    onehot = SequenceOneHot().fit_transform(sequences)
    tokens = SequenceTokenizer().fit_transform(sequences)
    real = tokens >= 3
    np.testing.assert_array_equal(onehot.sum(axis=1), real)
    np.testing.assert_array_equal(onehot.argmax(axis=1)[real], tokens[real] - 3)


def test_too_long_and_truncate():
    enc = SequenceOneHot().fit(["ACGT"])
    with pytest.raises(ValueError, match=r"longer than max_len=4 .* row \[0\]"):
        enc.transform(["GGACGT"])
    enc = SequenceOneHot(truncate=True).fit(["ACGT"])
    with pytest.warns(UserWarning, match="5' ends were cut off"):
        out = enc.transform(["GGACGT"])
    np.testing.assert_array_equal(out[0], np.eye(4))


def test_feature_names_follow_flattened_order():
    enc = SequenceOneHot().fit(["AC"])
    names = enc.get_feature_names_out()
    assert names.tolist() == ["A_-2", "A_-1", "C_-2", "C_-1", "G_-2", "G_-1", "T_-2", "T_-1"]
    flat = enc.transform(["AC"]).reshape(1, -1)[0]
    assert names[flat == 1].tolist() == ["A_-2", "C_-1"]


@pytest.mark.parametrize("transform", ["pandas", "polars"])
def test_set_output_rejects_tables(transform):
    with pytest.raises(ValueError, match="3-D array"):
        SequenceOneHot().set_output(transform=transform)
    with pytest.raises(ValueError, match="3-D array"):
        make_pipeline(SequenceOneHot()).set_output(transform=transform)


@pytest.mark.parametrize("transform", ["default", None])
def test_pipeline_with_onehot_accepts_default_output(transform):
    enc = SequenceOneHot()
    assert enc.set_output(transform=transform) is enc
    pipe = Pipeline([("onehot", enc)]).set_output(transform=transform)
    out = pipe.fit_transform(["ACGT", "GT"])
    assert isinstance(out, np.ndarray) and out.shape == (2, 4, 4)


def test_global_pandas_output_does_not_wrap_the_3d_array():
    with sklearn.config_context(transform_output="pandas"):
        out = SequenceOneHot().fit_transform(["ACGT"])
    assert isinstance(out, np.ndarray) and out.shape == (1, 4, 4)


def test_real_endogenous_windows():
    X, _ = load_cao2021_te(cell_line="HEK293")
    out = SequenceOneHot().fit_transform(X.iloc[:300])
    assert out.shape == (300, 4, 101) and out.dtype == np.float32
    np.testing.assert_array_equal(out.sum(axis=1), 1.0)
