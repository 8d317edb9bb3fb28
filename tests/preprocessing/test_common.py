"""Behaviour shared by both encoders: input handling and the scikit-learn contract."""

import pickle

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

from sklearn_dynapro.preprocessing import SequenceOneHot, SequenceTokenizer

ENCODERS = [SequenceTokenizer(), SequenceTokenizer(k=3), SequenceOneHot(n_value=0.25)]
IDS = ["tokenizer", "tokenizer-k3", "onehot"]

BAD_INPUTS = [
    (["ACGT", ""], r"empty sequence at row \[1\]"),
    (["ACGT", None], r"missing value \(None/NaN\) at row \[1\]"),
    (["ACGT", np.nan], r"missing value \(None/NaN\) at row \[1\]"),
    (["ACGT", "AC GT"], r"whitespace at row \[1\]"),
    (["ACGT", "ACGT\n"], r"whitespace at row \[1\]"),
    (["ACGT", "AC1GT"], r"digits at row \[1\]"),
    (["ACGT", "AC&GT"], r"invalid characters '&' at row \[1\]"),
    (["ACGT", "ACGTé"], r"non-ASCII characters at row \[1\]"),
    ([], r"at least one sequence, got 0 rows"),
]


@pytest.mark.parametrize("encoder", ENCODERS, ids=IDS)
def test_bare_string_is_rejected(encoder):
    with pytest.raises(TypeError, match="pass a list"):
        clone(encoder).fit("ACGTACGT")
    fitted = clone(encoder).fit(["ACGTACGT"])
    with pytest.raises(TypeError, match="pass a list"):
        fitted.transform("ACGTACGT")


@pytest.mark.parametrize(("X", "match"), BAD_INPUTS)
@pytest.mark.parametrize("encoder", ENCODERS, ids=IDS)
def test_bad_sequences_name_the_row(encoder, X, match):
    with pytest.raises(ValueError, match=match):
        clone(encoder).fit(X)
    fitted = clone(encoder).fit(["ACGTACGT"])
    with pytest.raises(ValueError, match=match):
        fitted.transform(X)


@pytest.mark.parametrize("encoder", ENCODERS, ids=IDS)
def test_non_string_values_are_a_type_error(encoder):
    with pytest.raises(TypeError, match=r"must hold strings, got int at row \[1\]"):
        clone(encoder).fit(["ACGT", 42])


@pytest.mark.parametrize("encoder", ENCODERS, ids=IDS)
def test_containers_case_and_rna_give_the_same_output(encoder):
    seqs = ["ACGTTGCA", "GGTAC", "TTTACGA"]
    expected = clone(encoder).fit(seqs).transform(seqs)
    frame = pd.DataFrame({"sequence": seqs, "library": ["a", "b", "a"]})
    variants = [
        np.array(seqs, dtype=object),
        np.array(seqs),  # fixed-width unicode
        np.array(seqs, dtype=object).reshape(-1, 1),
        pd.Series(seqs, index=[10, 11, 12]),
        frame,
        [s.lower() for s in seqs],
        [s.replace("T", "U") for s in seqs],
        [s.lower().replace("t", "u") for s in seqs],
    ]
    for X in variants:
        np.testing.assert_array_equal(clone(encoder).fit(X).transform(X), expected)


@pytest.mark.parametrize("encoder", ENCODERS, ids=IDS)
def test_sequence_column_of_a_dataframe(encoder):
    frame = pd.DataFrame({"utr": ["ACGTAC", "GTACA"], "library": ["a", "b"]})
    expected = clone(encoder).fit(frame["utr"]).transform(frame["utr"])
    enc = clone(encoder).set_params(sequence_column="utr")
    np.testing.assert_array_equal(enc.fit(frame).transform(frame), expected)
    with pytest.raises(ValueError, match=r"sequence_column must be one of"):
        clone(encoder).fit(frame)


@pytest.mark.parametrize("encoder", ENCODERS, ids=IDS)
def test_fit_returns_self_and_transform_needs_fit(encoder):
    enc = clone(encoder)
    with pytest.raises(ValueError, match="not fitted"):
        enc.transform(["ACGT"])
    with pytest.raises(ValueError, match="not fitted"):
        enc.get_feature_names_out()
    assert enc.fit(["ACGTACGT"], y=[1.0]) is enc


@pytest.mark.parametrize("encoder", ENCODERS, ids=IDS)
def test_clone_and_pickle_round_trip(encoder):
    seqs = ["ACGTACGTAA", "CCGTA"]
    fitted = clone(encoder).fit(seqs)
    cloned = clone(fitted)
    assert cloned.get_params() == fitted.get_params()
    assert not hasattr(cloned, "max_len_")
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(seqs), fitted.transform(seqs))
    np.testing.assert_array_equal(restored.get_feature_names_out(), fitted.get_feature_names_out())


@pytest.mark.parametrize("encoder", ENCODERS, ids=IDS)
def test_feature_names_match_the_flattened_width(encoder):
    enc = clone(encoder)
    out = enc.fit_transform(["ACGTACGTAA", "CCGTA"])
    names = enc.get_feature_names_out()
    assert names.dtype == object
    assert len(names) == out.reshape(out.shape[0], -1).shape[1]


def test_tags_declare_string_input():
    for encoder in ENCODERS:
        tags = encoder.__sklearn_tags__()
        assert tags.input_tags.string and tags.input_tags.one_d_array
        assert not tags.input_tags.two_d_array


@pytest.mark.parametrize(
    "check",
    [
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_parameters_default_constructible,
    ],
)
@pytest.mark.parametrize("encoder", ENCODERS, ids=IDS)
def test_sklearn_api_checks(encoder, check):
    check(type(encoder).__name__, clone(encoder))
