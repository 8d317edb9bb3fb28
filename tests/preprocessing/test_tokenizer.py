"""SequenceTokenizer: vocabulary, right alignment, k-mers, N handling, lengths."""

from itertools import product

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.pipeline import Pipeline

from sklearn_dynapro.datasets import load_mpra_random50, load_mpra_varlen_random
from sklearn_dynapro.preprocessing import (
    MASK_ID,
    N_ID,
    PAD_ID,
    SequenceTokenizer,
    _onehot,
    _padding,
    _tokenizer,
)


def naive_tokens(sequences, max_len, k):
    """Loop-by-loop reference for the vectorised tokenizer."""
    kmer_id = {"".join(p): 3 + i for i, p in enumerate(product("ACGT", repeat=k))}
    out = np.zeros((len(sequences), max_len - k + 1), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids = [
            N_ID if "N" in seq[i : i + k] else kmer_id[seq[i : i + k]]
            for i in range(len(seq) - k + 1)
        ]
        if ids:
            out[row, -len(ids) :] = ids
    return out


def test_vocabulary_is_fixed_and_documented():
    tok = SequenceTokenizer().fit(["ACGT"])
    assert tok.vocabulary_ == {"[PAD]": 0, "[MASK]": 1, "N": 2, "A": 3, "C": 4, "G": 5, "T": 6}
    assert tok.vocab_size_ == 7
    assert (PAD_ID, MASK_ID, N_ID) == (0, 1, 2)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_kmer_vocabulary_is_lexicographic(k):
    tok = SequenceTokenizer(k=k).fit(["ACGTAC"])
    assert tok.vocab_size_ == 4**k + 3
    kmers = list(tok.vocabulary_)[3:]
    assert kmers == sorted(kmers)
    assert [tok.vocabulary_[m] for m in kmers] == list(range(3, 4**k + 3))


def test_padding_puts_last_base_in_last_column():
    tok = SequenceTokenizer()
    out = tok.fit_transform(["ACGT", "GT", "T"])
    np.testing.assert_array_equal(out, [[3, 4, 5, 6], [0, 0, 5, 6], [0, 0, 0, 6]])
    assert out.dtype == np.int64
    assert tok.max_len_ == 4


def test_kmer_ids_hand_example():
    # ACG = 0*16 + 1*4 + 2 = 6 -> id 9; CGT = 27 -> 30; GTA = 44 -> 47.
    tok = SequenceTokenizer(k=3, max_len=6).fit(["ACGTA"])
    np.testing.assert_array_equal(tok.transform(["ACGTA"]), [[PAD_ID, 9, 30, 47]])
    assert tok.vocabulary_["ACG"] == 9
    assert tok.vocabulary_["TTT"] == 66


def test_n_and_kmers_with_n_map_to_n_id():
    with pytest.warns(UserWarning, match=r"Ambiguous bases .* row \[0\]"):
        out1 = SequenceTokenizer().fit_transform(["ANGT"])
    np.testing.assert_array_equal(out1, [[3, N_ID, 5, 6]])
    # AN and NG contain N; GT = 2*4 + 3 = 11 -> 14.
    out2 = SequenceTokenizer(k=2, ambiguous="mask").fit_transform(["ANGT"])
    np.testing.assert_array_equal(out2, [[N_ID, N_ID, 14]])
    # IUPAC codes are read as N.
    out3 = SequenceTokenizer(ambiguous="mask").fit_transform(["ARGT"])
    np.testing.assert_array_equal(out3, out1)


def test_ambiguous_error_policy_names_row():
    with pytest.raises(ValueError, match=r"ambiguous='error' at row \[1\]"):
        SequenceTokenizer(ambiguous="error").fit(["ACGT", "ACNT"])


def test_too_long_is_an_error_naming_the_row():
    tok = SequenceTokenizer().fit(["ACGT"])
    with pytest.raises(ValueError, match=r"longer than max_len=4 .* row \[1\]"):
        tok.transform(["AC", "GGACGT"])


def test_truncate_keeps_the_3_prime_end_and_warns():
    tok = SequenceTokenizer(truncate=True).fit(["ACGT"])
    with pytest.warns(UserWarning, match=r"row \[0\].*5' ends were cut off"):
        out = tok.transform(["GGACGT"])
    np.testing.assert_array_equal(out, [[3, 4, 5, 6]])


def test_explicit_max_len_sets_the_width():
    tok = SequenceTokenizer(max_len=10, k=3).fit(["ACGT"])
    assert tok.max_len_ == 10
    assert tok.transform(["ACGT"]).shape == (1, 8)
    with pytest.raises(ValueError, match=r"longer than max_len=10"):
        SequenceTokenizer(max_len=10).fit(["A" * 11])


def test_shorter_than_k_is_an_error_naming_the_row():
    with pytest.raises(ValueError, match=r"shorter than min_len=3 at row \[1\]"):
        SequenceTokenizer(k=3).fit(["ACGT", "AC"])
    tok = SequenceTokenizer(k=3).fit(["ACGT"])
    with pytest.raises(ValueError, match=r"shorter than min_len=3 at row \[0\]"):
        tok.transform(["GT"])


def test_max_len_below_k_is_rejected():
    with pytest.raises(ValueError, match=r"max_len must be at least k=4 to hold one token, got 3"):
        SequenceTokenizer(max_len=3, k=4).fit(["ACG"])


@pytest.mark.parametrize("k", [0, 7, 2.5, "3"])
def test_invalid_k_is_rejected(k):
    with pytest.raises(ValueError, match="'k' parameter of SequenceTokenizer"):
        SequenceTokenizer(k=k).fit(["ACGTACGT"])


@settings(max_examples=40, deadline=None)
@given(
    sequences=st.lists(st.text(alphabet="ACGTN", min_size=6, max_size=30), min_size=1, max_size=12),
    k=st.integers(1, 6),
    extra=st.integers(0, 5),
)
def test_matches_a_loop_reference(sequences, k, extra):
    max_len = max(map(len, sequences)) + extra
    tok = SequenceTokenizer(k=k, max_len=max_len, ambiguous="mask").fit(sequences)
    np.testing.assert_array_equal(tok.transform(sequences), naive_tokens(sequences, max_len, k))


@pytest.mark.parametrize("k", [1, 4])
def test_processing_blocks_do_not_change_the_result(monkeypatch, k):
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGTN"), size=n)) for n in rng.integers(5, 40, 200)]
    tok = SequenceTokenizer(k=k, ambiguous="mask").fit(sequences)
    expected = tok.transform(sequences)
    for module in (_padding, _tokenizer, _onehot):
        monkeypatch.setattr(module, "CHUNK_BASES", 37, raising=False)
    np.testing.assert_array_equal(tok.transform(sequences), expected)


def test_feature_names_count_distance_to_start_codon():
    tok = SequenceTokenizer().fit(["A" * 50])
    names = tok.get_feature_names_out()
    assert names[0] == "token_-50" and names[-1] == "token_-1" and len(names) == 50
    tok3 = SequenceTokenizer(k=3).fit(["A" * 50])
    names3 = tok3.get_feature_names_out()
    assert names3[0] == "token_-48" and names3[-1] == "token_-1" and len(names3) == 48


def test_pipeline_set_output_pandas_uses_feature_names():
    X = pd.Series(["ACGT", "GT"], index=["u1", "u2"])
    pipe = Pipeline([("tok", SequenceTokenizer())]).set_output(transform="pandas")
    out = pipe.fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["token_-4", "token_-3", "token_-2", "token_-1"]
    assert list(out.index) == ["u1", "u2"]
    np.testing.assert_array_equal(out.to_numpy(), [[3, 4, 5, 6], [0, 0, 5, 6]])


def test_inverse_transform_round_trip():
    sequences = ["ACGTN", "GT", "T"]
    tok = SequenceTokenizer(ambiguous="mask").fit(sequences)
    back = tok.inverse_transform(tok.transform(sequences))
    assert back.dtype == object
    assert back.tolist() == sequences


def test_inverse_transform_rejects_kmers_and_mask():
    tok3 = SequenceTokenizer(k=3).fit(["ACGT"])
    with pytest.raises(ValueError, match="inverse_transform needs k=1"):
        tok3.inverse_transform(tok3.transform(["ACGT"]))
    tok = SequenceTokenizer().fit(["ACGT"])
    with pytest.raises(ValueError, match=r"MASK=1\) at row \[1\]"):
        tok.inverse_transform([[3, 4, 5, 6], [0, MASK_ID, 5, 6]])
    with pytest.raises(ValueError, match=r"shape \(n_samples, 4\)"):
        tok.inverse_transform([[3, 4, 5]])


def test_real_fixed_length_library():
    X, _ = load_mpra_random50()
    out = SequenceTokenizer(k=3).fit_transform(X[:300])
    assert out.shape == (300, 48) and out.dtype == np.int64
    assert out.min() >= 3 and out.max() <= 66


def test_real_variable_length_library():
    X, _ = load_mpra_varlen_random()
    rng = np.random.default_rng(0)
    sample = X[rng.choice(len(X), 300, replace=False)]
    tok = SequenceTokenizer().fit(sample)
    out = tok.transform(sample)
    lengths = np.array([len(s) for s in sample])
    assert out.shape == (300, lengths.max())
    np.testing.assert_array_equal((out == PAD_ID).sum(axis=1), lengths.max() - lengths)
    assert (out[:, -1] != PAD_ID).all()
