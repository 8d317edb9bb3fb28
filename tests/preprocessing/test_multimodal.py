"""DynaProEncoder: raw sequences (+ library labels) → tokens, features, library one-hot."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_dynapro.datasets import load_mpra_random50, load_mpra_varlen_random
from sklearn_dynapro.features import KmerFeatures
from sklearn_dynapro.preprocessing import DynaProEncoder, SequenceTokenizer


@pytest.fixture(scope="module")
def mixed():
    X50, _ = load_mpra_random50(as_frame=True)
    Xv, _ = load_mpra_varlen_random(as_frame=True)
    return pd.concat([X50.iloc[:40], Xv.iloc[:40]], ignore_index=True)


def test_outputs_align_with_their_parts(mixed):
    enc = DynaProEncoder(library_column="library").fit(mixed)
    out = enc.transform(mixed)
    assert set(out) == {"tokens", "features", "library"}
    expected_tokens = SequenceTokenizer().fit(mixed["sequence"]).transform(mixed["sequence"])
    np.testing.assert_array_equal(out["tokens"], expected_tokens)
    assert out["tokens"].dtype == np.int64
    assert out["features"].dtype == np.float32
    assert out["features"].shape == (80, enc.n_features_)
    # standardised on the training data
    np.testing.assert_allclose(out["features"].mean(axis=0), 0, atol=1e-5)
    assert enc.libraries_.tolist() == ["random50", "varlen_random"]
    np.testing.assert_array_equal(out["library"].argmax(axis=1), [0] * 40 + [1] * 40)
    assert out["library"].sum(axis=1).tolist() == [1.0] * 80
    names = enc.get_feature_names_out()
    assert len(names) == out["tokens"].shape[1] + enc.n_features_ + 2
    assert names[-1] == "library_varlen_random"


def test_custom_and_absent_features(mixed):
    enc = DynaProEncoder(features=KmerFeatures(k_range=(1, 2))).fit(mixed)
    assert enc.transform(mixed)["features"].shape == (80, 4 + 16)
    out = DynaProEncoder(features=None).fit(mixed).transform(mixed)
    assert set(out) == {"tokens"}
    with pytest.raises(ValueError, match="features must be 'biophysical'"):
        DynaProEncoder(features="cao").fit(mixed)


def _gc_count(sequences):
    return np.array([[s.count("G") + s.count("C"), len(s)] for s in sequences], dtype=float)


def test_features_from_any_transformer(mixed):
    # A FunctionTransformer cannot name its columns, and KmerFeatures can return a sparse
    # matrix; both used to fail in fit.
    X = mixed.iloc[:40]  # 50-nt UTRs: the length column never varies and is dropped
    plain = DynaProEncoder(features=FunctionTransformer(_gc_count)).fit(X)
    assert plain.n_features_ == 1
    assert plain.get_feature_names_out()[-1] == "x0"
    features = plain.transform(mixed)["features"]
    assert features.shape == (80, 1) and features.dtype == np.float32
    sparse = DynaProEncoder(features=KmerFeatures(k_range=(1, 2), sparse_output=True)).fit(X)
    dense = DynaProEncoder(features=KmerFeatures(k_range=(1, 2))).fit(X)
    np.testing.assert_array_equal(
        sparse.transform(mixed)["features"], dense.transform(mixed)["features"]
    )
    assert isinstance(sparse.transform(mixed)["features"], np.ndarray)
    assert list(sparse.get_feature_names_out()) == list(dense.get_feature_names_out())


def test_features_constant_in_training_are_dropped(mixed):
    # 50-nt training UTRs: ``length`` never varies, so it must not reach the network, where
    # its untrained weight would be scaled by z = 50 on 100-nt UTRs.
    enc = DynaProEncoder().fit(mixed.iloc[:40])
    names = enc.get_feature_names_out()
    assert "length" not in names and "mfe" in names
    assert enc.transform(mixed)["features"].shape == (80, enc.n_features_)
    assert "length" in DynaProEncoder().fit(mixed).get_feature_names_out()
    # nothing varies across copies of one sequence: no feature block at all
    same = DynaProEncoder().fit([mixed["sequence"][0]] * 3)
    assert same.n_features_ == 0
    assert set(same.transform(mixed)) == {"tokens"}


def test_library_errors(mixed):
    with pytest.raises(ValueError, match="needs X to be a DataFrame"):
        DynaProEncoder(library_column="library", features=None).fit(mixed["sequence"].tolist())
    bad = mixed.copy()
    bad.loc[3, "library"] = None
    with pytest.raises(ValueError, match=r"missing, got None/NaN at row \[3\]"):
        DynaProEncoder(library_column="library", features=None).fit(bad)
    enc = DynaProEncoder(library_column="library", features=None).fit(mixed)
    bad = mixed.copy()
    bad.loc[5, "library"] = "other"
    with pytest.raises(ValueError, match=r"got 'other' at row \[5\]"):
        enc.transform(bad)
    # A duplicated name selects two columns, which read as labels gave wrong one-hots.
    twice = pd.concat([mixed, mixed[["library"]]], axis=1)
    match = "library_column must name a single column, got 'library', which names 2 columns"
    with pytest.raises(ValueError, match=match):
        DynaProEncoder(library_column="library", features=None).fit(twice)
    with pytest.raises(ValueError, match=match):
        enc.transform(twice)


def test_int_labels_read_back_as_floats_are_the_same_library(mixed):
    # A label column that picks up a NaN (or a round trip through a file) turns 1 into
    # 1.0; compared as text, "1.0" was an unknown library.
    X = mixed[["sequence"]].assign(library=np.repeat([1, 2], 40))
    enc = DynaProEncoder(library_column="library", features=None).fit(X)
    assert enc.libraries_.tolist() == ["1", "2"]
    floats = X.assign(library=X["library"].astype(float))
    np.testing.assert_array_equal(enc.transform(floats)["library"], enc.transform(X)["library"])
    mixed_types = X.assign(library=np.array([1.0, "2"] * 40, dtype=object))
    assert enc.transform(mixed_types)["library"].argmax(axis=1).tolist() == [0, 1] * 40
    with pytest.raises(ValueError, match=r"got '1.5' at row \[0\]"):
        enc.transform(X.assign(library=np.r_[1.5, np.ones(79)]))


def test_library_labels_are_checked_before_any_folding(mixed, monkeypatch):
    # Bad labels were reported only after the whole input had been folded.
    from sklearn_dynapro.features import _folding, clear_fold_cache

    folded = []
    real = _folding._fold_chunk

    def counting(groups, *rest):
        folded.extend(seq for _, seqs in groups for seq in seqs)
        return real(groups, *rest)

    monkeypatch.setattr(_folding, "_fold_chunk", counting)
    clear_fold_cache()
    bad = mixed.copy()
    bad.loc[3, "library"] = None
    with pytest.raises(ValueError, match=r"at row \[3\]"):
        DynaProEncoder(library_column="library").fit(bad)
    assert folded == []
    enc = DynaProEncoder(library_column="library").fit(mixed.iloc[:20])
    folded.clear()
    unseen = mixed.iloc[20:30].copy()
    unseen.loc[25, "library"] = "other"
    with pytest.raises(ValueError, match=r"got 'other' at row \[5\]"):
        enc.transform(unseen)
    assert folded == []
    clear_fold_cache()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"k": "3"}, "The 'k' parameter"),
        ({"k": 7}, "The 'k' parameter"),
        ({"max_len": 0}, "The 'max_len' parameter"),
        ({"truncate": "yes"}, "The 'truncate' parameter"),
        ({"ambiguous": "drop"}, "The 'ambiguous' parameter"),
        ({"n_jobs": 1.5}, "The 'n_jobs' parameter"),
    ],
)
def test_parameters_are_validated_in_fit(mixed, params, match):
    # k="3" had surfaced as a bare TypeError from inside the sequence check.
    with pytest.raises(ValueError, match=match):
        DynaProEncoder(features=None, **params).fit(mixed)


def test_sequence_errors_name_the_row(mixed):
    enc = DynaProEncoder(features=None).fit(mixed)
    with pytest.raises(ValueError, match=r"longer than max_len=50 .* at row \[1\]"):
        enc.transform(["ACGT", "A" * 51])
    with pytest.raises(ValueError, match=r"whitespace at row \[0\]"):
        enc.transform(["AC GT"])


def test_set_output_and_clone(mixed):
    enc = DynaProEncoder(features=None)
    Pipeline([("encode", enc)]).set_output(transform="default")
    with pytest.raises(ValueError, match=r"returns a dict of arrays .* cannot hold"):
        enc.set_output(transform="pandas")
    assert clone(enc).get_params() == enc.get_params()
