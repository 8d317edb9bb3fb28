"""The one sequence checker: normalisation and the bad-input matrix."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, cross_val_score

from sklearn_dynapro import check_sequences, check_target
from sklearn_dynapro._validation import (
    check_bool,
    check_groups,
    check_int,
    check_library_labels,
    format_rows,
    library_indices,
)
from sklearn_dynapro.baselines import make_kmer_baseline
from sklearn_dynapro.datasets import load_mpra_random50


def test_normalises_case_and_uracil():
    out = check_sequences(["acgu", "ACGT", "uuAG"])
    assert out.tolist() == ["ACGT", "ACGT", "TTAG"]
    assert out.dtype == object


@pytest.mark.parametrize(
    "container",
    [list, np.array, pd.Series, lambda s: pd.DataFrame({"sequence": s, "other": 1})],
)
def test_same_result_for_every_container(container):
    seqs = ["ACGTACGT", "acguu", "GGGCCC"]
    assert check_sequences(container(seqs)).tolist() == ["ACGTACGT", "ACGTT", "GGGCCC"]


def test_single_column_2d_array_is_accepted():
    assert check_sequences(np.array([["ACG"], ["TTT"]], dtype=object)).tolist() == ["ACG", "TTT"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("", r"empty sequence at row \[1\]"),
        (None, r"missing value \(None/NaN\) at row \[1\]"),
        (np.nan, r"missing value \(None/NaN\) at row \[1\]"),
        (pd.NA, r"missing value \(None/NaN\) at row \[1\]"),
        ("nan", r"missing value written as text at row \[1\]"),
        ("None", r"missing value written as text at row \[1\]"),
        ("<NA>", r"missing value written as text at row \[1\]"),
        ("ACG T", r"whitespace at row \[1\]"),
        ("ACGT\n", r"whitespace at row \[1\]"),
        ("AC1GT", r"digits at row \[1\]"),
        ("ACG&T", r"invalid characters '&' at row \[1\]"),
        ("ACG-T", r"invalid characters '-' at row \[1\]"),
        ("ACGTé", r"non-ASCII characters at row \[1\]"),
    ],
)
def test_bad_sequences_name_the_row_and_problem(bad, message):
    with pytest.raises(ValueError, match=message):
        check_sequences(["ACGT", bad, "GGCC"])


def test_nan_in_a_numpy_string_array_is_missing():
    # NumPy writes NaN as the text "nan", which would otherwise be read as N-A-N.
    X = np.array(["ACGTAC", np.nan, "GGCC"])
    assert X.dtype.kind == "U"
    with pytest.raises(ValueError, match=r"missing value written as text at row \[1\]"):
        check_sequences(X, ambiguous="mask")


def test_all_problems_are_reported_together():
    with pytest.raises(ValueError, match=r"empty sequence at row \[0\].*digits at rows \[1, 2\]"):
        check_sequences(["", "A1", "C2"])


def test_bare_string_is_a_type_error():
    with pytest.raises(TypeError, match="pass a list"):
        check_sequences("ACGT")


def test_non_string_values_are_a_type_error():
    with pytest.raises(TypeError, match=r"X must hold strings, got int at row \[1\]"):
        check_sequences(["ACGT", 5])


@pytest.mark.parametrize("shape", [(2, 2), (1, 2, 2)])
def test_wrong_shape(shape):
    with pytest.raises(ValueError, match="X must be 1-D"):
        check_sequences(np.full(shape, "A", dtype=object))


def test_empty_input():
    with pytest.raises(ValueError, match="at least one sequence"):
        check_sequences([])


def test_dataframe_needs_the_named_column():
    with pytest.raises(ValueError, match="sequence_column must be one of"):
        check_sequences(pd.DataFrame({"utr": ["ACG"]}))
    assert check_sequences(pd.DataFrame({"utr": ["ACG"]}), sequence_column="utr").tolist() == [
        "ACG"
    ]


@pytest.mark.parametrize("policy", ["error", "warn", "mask"])
def test_ambiguous_policy(policy):
    seqs = ["ACGN", "ACRY", "ACGT"]
    if policy == "error":
        with pytest.raises(ValueError, match=r"ambiguous bases .* at rows \[0, 1\]"):
            check_sequences(seqs, ambiguous=policy)
        return
    if policy == "warn":
        with pytest.warns(UserWarning, match=r"rows \[0, 1\] are read as N"):
            out = check_sequences(seqs, ambiguous=policy)
    else:
        out = check_sequences(seqs, ambiguous=policy)
    assert out.tolist() == ["ACGN", "ACNN", "ACGT"]


def test_unknown_policy():
    with pytest.raises(ValueError, match="ambiguous must be one of"):
        check_sequences(["ACGT"], ambiguous="ignore")


def test_too_long_is_an_error_unless_truncating():
    with pytest.raises(ValueError, match=r"longer than max_len=4 .* at row \[1\]"):
        check_sequences(["ACG", "AAAACCCC"], max_len=4)
    with pytest.warns(UserWarning, match=r"row \[1\] are longer than max_len=4"):
        out = check_sequences(["ACG", "AAAACCCC"], max_len=4, truncate=True)
    # Truncation keeps the 3' end: the bases next to the start codon.
    assert out.tolist() == ["ACG", "CCCC"]


def test_too_short():
    with pytest.raises(ValueError, match=r"shorter than min_len=3 at row \[0\]"):
        check_sequences(["AC", "ACG"], min_len=3)


def test_long_row_lists_are_elided():
    with pytest.raises(ValueError, match=r"rows \[0, 1, .*9, \.\.\.\] and 5 more"):
        check_sequences([""] * 15)


def test_check_target():
    assert check_target([1, 2, 3], 3).dtype == np.float64
    assert check_target(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), 2).shape == (2, 2)
    with pytest.raises(ValueError, match="same number of rows, got 3 sequences and 2 targets"):
        check_target([1.0, 2.0], 3)
    with pytest.raises(ValueError, match=r"finite, got NaN or infinite values at rows \[1, 2\]"):
        check_target([1.0, np.nan, np.inf], 3)
    with pytest.raises(ValueError, match=r"numeric, got values that are not at rows \[0, 1\]"):
        check_target(["a", "b"], 2)
    with pytest.raises(ValueError, match=r"not at row \[2\]: could not convert string"):
        check_target(pd.Series([1.5, "2.5", "high"]), 3)
    with pytest.raises(ValueError, match=r"not at row \[1\]"):
        check_target([[1.0, 2.0], [3.0, "n/a"]], 2)
    with pytest.raises(ValueError, match=r"y must be numeric, got values that are not: "):
        check_target([[1.0, 2.0], [3.0]], 2)  # ragged: no single row to blame
    with pytest.raises(ValueError, match="1-D or 2-D"):
        check_target(np.zeros((2, 2, 2)), 2)


def test_pandas_rows_are_also_named_by_their_index_labels():
    # What cross_val_score hands a step: a slice of the user's frame, positions counting
    # within the fold, index labels those of the whole frame.
    assert format_rows([1], pd.RangeIndex(3)) == "row [1]"
    assert format_rows([0, 2], pd.Index(["a", "b", "c"])) == (
        "rows [0, 2] (index labels ['a', 'c'])"
    )
    assert format_rows(range(12), pd.RangeIndex(100, 112)).endswith(
        "(index labels [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, ...] and 2 more)"
    )
    frame = pd.DataFrame(
        {"sequence": ["ACGT"] * 6, "library": ["a"] * 6, "y": np.arange(6.0)},
        index=np.arange(10, 16),
    )
    frame.loc[14, "sequence"] = "ACXT"
    frame.loc[13, "y"] = np.nan
    frame.loc[12, "library"] = None
    fold = frame.iloc[[1, 2, 3, 4]]  # index labels 11..14
    with pytest.raises(
        ValueError, match=r"invalid characters 'X' at row \[3\] \(index label \[14\]\)"
    ):
        check_sequences(fold)
    with pytest.raises(ValueError, match=r"at row \[2\] \(index label \[13\]\)"):
        check_target(fold["y"], 4)
    with pytest.raises(ValueError, match=r"None/NaN at row \[1\] \(index label \[12\]\)"):
        check_library_labels(fold["library"])
    with pytest.raises(ValueError, match=r"at row \[1\] \(index label \[12\]\)"):
        check_groups(fold["library"], 4)
    with pytest.raises(ValueError, match=r"got 'b' at row \[0\] \(index label \['x'\]\)"):
        library_indices(np.array(["b", "a"]), np.array(["a"]), pd.Index(["x", "y"]))
    with pytest.raises(TypeError, match=r"got int at row \[0\] \(index label \[7\]\)"):
        check_sequences(pd.Series([5, "ACGT"], index=[7, 8]))


def test_cross_val_score_names_the_bad_row_of_the_whole_frame():
    X, y = load_mpra_random50()
    frame = pd.DataFrame({"sequence": X[:200]})
    frame.loc[150, "sequence"] = "ACGZ" + frame.loc[150, "sequence"][4:]
    # The training part of the first fold is rows 100-199: row 50 there, label 150.
    with pytest.raises(ValueError, match=r"'Z' at row \[50\] \(index label \[150\]\)"):
        cross_val_score(make_kmer_baseline(), frame, y[:200], cv=KFold(2), error_score="raise")


def test_masked_entries_are_missing_not_their_hidden_data():
    seqs = np.ma.array(["ACGT", "GGGG", "TTAA"], mask=[False, True, False])
    with pytest.raises(ValueError, match=r"masked value at row \[1\]"):
        check_sequences(seqs)
    assert check_sequences(np.ma.array(["acgt", "GG"])).tolist() == ["ACGT", "GG"]
    y = np.ma.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], mask=[[0, 0], [0, 0], [0, 1]])
    with pytest.raises(ValueError, match=r"y must not be masked, got masked values at row \[2\]"):
        check_target(y, 3)
    assert check_target(np.ma.array([1.0, 2.0]), 2).tolist() == [1.0, 2.0]


def test_check_int_and_check_bool():
    assert check_int("n", np.int32(3)) == 3 and type(check_int("n", np.int32(3))) is int
    assert check_int("n", None, allow_none=True) is None
    with pytest.raises(TypeError, match=r"n must be an int >= 1, got None\."):
        check_int("n", None)
    with pytest.raises(ValueError, match=r"n must be an int >= 2 or None, got 1\."):
        check_int("n", 1, minimum=2, allow_none=True)
    for value in (True, np.True_, 2.0, "2"):
        with pytest.raises(TypeError, match="n must be an int >= 1"):
            check_int("n", value)
    assert check_bool("flag", np.True_) is True
    with pytest.raises(TypeError, match=r"flag must be a bool, got 1\."):
        check_bool("flag", 1)


def test_check_groups_numbers_labels_by_first_appearance():
    # Real transcript ids; the codes do not depend on how the labels sort.
    from sklearn_dynapro.datasets import load_cao2021_te

    X, _ = load_cao2021_te(cell_line="PC3", target="te")
    ids = X["transcript_id"].iloc[:50]
    codes = check_groups(ids, 50)
    assert codes[0] == 0 and codes.dtype == np.int64
    # Reversed rows: the first row (the last transcript) is 0, and the rows group alike.
    reversed_codes = check_groups(ids[::-1], 50)[::-1]
    assert reversed_codes[-1] == 0
    pairs = set(zip(codes, reversed_codes, strict=True))
    assert len(pairs) == len(set(codes)) == len(set(reversed_codes))
    np.testing.assert_array_equal(check_groups("x" + ids, 50), codes)
    # A number and its text are different labels (NumPy would have made both strings).
    assert check_groups(["a", 1, "1", 1], 4).tolist() == [0, 1, 2, 1]
    assert check_groups(np.array([[3], [4], [3]]), 3).tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        ("abc", "single str"),
        ([1, 2], r"one label per row \(3\), got 2"),
        ([[1, 2], [3, 4], [5, 6]], r"must be 1-D .* shape \(3, 2\)"),
        ([1.0, np.nan, None], r"missing values at rows \[1, 2\]"),
    ],
)
def test_check_groups_errors(groups, match):
    with pytest.raises(ValueError, match=match):
        check_groups(groups, 3)
