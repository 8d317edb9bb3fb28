"""KmerFeatures: hand counts, per-k frequencies, fixed vocabulary, sparse output, sklearn API."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_dynapro.features import KmerFeatures
from sklearn_dynapro.features._kmers import kmer_vocabulary


def counts(seqs, k_range) -> pd.DataFrame:
    kmers = KmerFeatures(k_range=k_range, normalize=False).set_output(transform="pandas")
    return kmers.fit_transform(seqs)


def test_hand_counts():
    # ACGTA: 1-mers A A C G T → A=2, C=G=T=1; 2-mers AC CG GT TA, once each.
    got = counts(["ACGTA"], (1, 2)).iloc[0]
    assert got[["kmer_A", "kmer_C", "kmer_G", "kmer_T"]].tolist() == [2, 1, 1, 1]
    assert got[["kmer_AC", "kmer_CG", "kmer_GT", "kmer_TA"]].tolist() == [1, 1, 1, 1]
    assert got.sum() == 5 + 4


def test_kmers_with_n_are_not_counted():
    with pytest.warns(UserWarning, match="read as N"):
        got = counts(["ANAA"], (1, 2)).iloc[0]
    assert got["kmer_A"] == 3 and got["kmer_AA"] == 1 and got.sum() == 4


def test_hand_frequencies():
    # AACG: 1-mers over 4 positions, 2-mers over 3, 3-mers over 2.
    got = KmerFeatures(k_range=(1, 3)).set_output(transform="pandas").fit_transform(["AACG"])
    row = got.iloc[0]
    assert row["kmer_A"] == pytest.approx(0.5) and row["kmer_C"] == pytest.approx(0.25)
    assert row["kmer_AA"] == pytest.approx(1 / 3) and row["kmer_ACG"] == pytest.approx(0.5)


def test_frequencies_of_each_k_sum_to_one(random50, varlen):
    seqs = random50[:50] + varlen
    kmers = KmerFeatures()
    X = kmers.fit_transform(seqs)
    assert X.dtype == np.float32 and X.shape == (len(seqs), 5460)
    offset = 0
    for k in range(1, 7):
        block = X[:, offset : offset + 4**k]
        np.testing.assert_allclose(block.sum(axis=1), 1.0, rtol=1e-5)
        offset += 4**k


def test_shorter_than_k_gives_zero_block():
    X = KmerFeatures(k_range=(3, 3)).fit_transform(["AC", "ACG"])
    assert X[0].sum() == 0 and X[1].sum() == pytest.approx(1.0)


def test_vocabulary_is_fixed_and_ordered(random50):
    names = KmerFeatures().fit(random50[:3]).get_feature_names_out()
    assert names.dtype == object and len(names) == sum(4**k for k in range(1, 7))
    assert list(names[:5]) == ["kmer_A", "kmer_C", "kmer_G", "kmer_T", "kmer_AA"]
    assert names[-1] == "kmer_TTTTTT"
    other = KmerFeatures().fit(["GGGG"]).get_feature_names_out()
    np.testing.assert_array_equal(names, other)
    assert kmer_vocabulary((2, 2))[:3] == ["AA", "AC", "AG"]


def test_sparse_output_matches_dense(random50):
    dense = KmerFeatures(k_range=(2, 4)).fit_transform(random50[:20])
    sparse = KmerFeatures(k_range=(2, 4), sparse_output=True).fit_transform(random50[:20])
    assert sp.issparse(sparse) and sparse.dtype == np.float32
    np.testing.assert_array_equal(sparse.toarray(), dense)


def test_input_forms_agree(random50):
    seqs = random50[:5]
    expected = KmerFeatures(k_range=(1, 3)).fit_transform(seqs)
    forms = [
        np.array(seqs, dtype=object),
        pd.Series(seqs),
        pd.DataFrame({"sequence": seqs}),
        [s.lower().replace("t", "u") for s in seqs],
    ]
    for form in forms:
        got = KmerFeatures(k_range=(1, 3)).fit(form).transform(form)
        np.testing.assert_array_equal(got, expected)


def test_pandas_output_columns(random50):
    kmers = KmerFeatures(k_range=(1, 2)).set_output(transform="pandas")
    out = kmers.fit_transform(random50[:3])
    assert list(out.columns) == list(kmers.get_feature_names_out())


def test_bad_input_names_the_row():
    kmers = KmerFeatures().fit(["ACGT"])
    with pytest.raises(ValueError, match=r"row \[1\]"):
        kmers.transform(["ACGT", "AC1T"])


@pytest.mark.parametrize("k_range", [(0, 2), (3, 2), (1, 9), "ab", (1.0, 2), 3])
def test_bad_k_range(k_range):
    with pytest.raises(ValueError, match="k_range must be a pair of ints"):
        KmerFeatures(k_range=k_range).fit(["ACGT"])


def test_bad_flags():
    with pytest.raises(TypeError, match="normalize must be a bool"):
        KmerFeatures(normalize="yes").fit(["ACGT"])


def test_not_fitted_and_clone():
    with pytest.raises(NotFittedError):
        KmerFeatures().transform(["ACGT"])
    kmers = KmerFeatures(k_range=(2, 3), normalize=False)
    assert clone(kmers).get_params() == kmers.get_params()


@pytest.mark.parametrize(
    "check",
    [
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_parameters_default_constructible,
    ],
)
def test_sklearn_checks(check):
    check("KmerFeatures", KmerFeatures())
