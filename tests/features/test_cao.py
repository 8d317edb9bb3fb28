"""CaoFeatures: energies against RNAfold, frame-0 codons by hand, definitions, sklearn API."""

import numpy as np
import pandas as pd
import pytest
import RNA
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_dynapro.features import CaoFeatures, KmerFeatures


def frame(seqs, **kwargs) -> pd.DataFrame:
    return CaoFeatures(**kwargs).set_output(transform="pandas").fit_transform(seqs)


def gquad_mfe(seq: str) -> float:
    md = RNA.md()
    md.gquad = 1
    return RNA.fold_compound(seq, md).mfe()[1]


def test_energies_match_rnafold(endogenous):
    seqs = [*endogenous[:8], "ACGUACGGGAAAUCCCGU" * 7]  # 126 nt: first-100 differs from whole
    got = frame(seqs, cache=False)
    for name, piece in [
        ("mfe_first100", lambda s: s[:100]),
        ("mfe_whole", lambda s: s),
        ("mfe_last30", lambda s: s[-30:]),
    ]:
        expected = [RNA.fold(piece(s))[1] for s in seqs]
        np.testing.assert_allclose(got[name], expected, atol=1e-4, err_msg=name)
    for name, piece in [
        ("mfe_gquad_whole", lambda s: s),
        ("mfe_gquad_first50", lambda s: s[:50]),
        ("mfe_gquad_last50", lambda s: s[-50:]),
    ]:
        expected = [gquad_mfe(piece(s)) for s in seqs]
        np.testing.assert_allclose(got[name], expected, atol=1e-4, err_msg=name)
    assert got["mfe_first100"].iloc[-1] != got["mfe_whole"].iloc[-1]
    assert got["mfe_gquad_first50"].iloc[-1] != got["mfe_gquad_whole"].iloc[-1]


def test_windows_of_short_utrs_are_the_whole_utr():
    # Cao et al.'s code folded the first 50 / last 50 / first 100 nt, which for a shorter
    # UTR is the UTR itself.
    got = frame(["GGGAAACCCAUGCAUGGGAAAUCC", "AAAAGGGGAAGGGGAAGGGGAAGGGGAAAA"]).to_numpy()
    np.testing.assert_array_equal(got[:, 0], got[:, 1])  # first100 = whole
    np.testing.assert_array_equal(got[:, 2], got[:, 1])  # last30 = whole (<= 30 nt)
    np.testing.assert_array_equal(got[:, 4], got[:, 3])  # gquad first50 = gquad whole
    np.testing.assert_array_equal(got[:, 5], got[:, 3])
    assert got[1, 3] < got[1, 1]  # the G-quadruplex is counted


def test_gquad_column_differs_on_g_rich_utr():
    seq = "AAAAGGGGAAGGGGAAGGGGAAGGGGAAAA"  # G-quadruplex -8.9 kcal/mol, no plain structure
    got = frame([seq]).iloc[0]
    assert got["mfe_gquad_whole"] < got["mfe_whole"]


def test_frame0_codons_and_composition_by_hand():
    # ATG TAA TGG N: three complete codons (L // 3 = 3), read from the 5' end:
    # Met, stop, Trp → 1/3 each; one stop and one AUG in frame 0.
    # Bases: A 3, C 0, G 3, T 3 (+ one N), L = 10.
    with pytest.warns(UserWarning, match="read as N"):
        got = frame(["ATGTAATGGN"]).iloc[0]
    for name in ("codon_ATG", "codon_TAA", "codon_TGG", "aa_M", "aa_stop", "aa_W"):
        assert got[name] == pytest.approx(1 / 3), name
    codon_cols = [c for c in got.index if c.startswith("codon_")]
    aa_cols = [c for c in got.index if c.startswith("aa_")]
    assert len(codon_cols) == 64 and len(aa_cols) == 21
    assert got[codon_cols].sum() == pytest.approx(1) and got[aa_cols].sum() == pytest.approx(1)
    assert got["n_stop_frame0"] == 1 and got["n_aug_frame0"] == 1
    assert got["cg_percent"] == pytest.approx(100 * 3 / 10)
    assert got["cg_ratio"] == pytest.approx(abs((0 + 1) / (3 + 1) - 1))  # |(C+1)/(G+1) - 1|
    assert got["at_ratio"] == pytest.approx(0.0)  # |(A+1)/(T+1) - 1|
    assert got["length_dev95"] == 85 and got["length"] == 10


def test_codons_with_n_are_skipped_but_counted_in_the_denominator():
    # ANG ATG: the first codon is unreadable, ATG is 1 of 2 codons.
    got = frame(["ANGATG"], ambiguous="mask").iloc[0]
    assert got["codon_ATG"] == pytest.approx(0.5) and got["aa_M"] == pytest.approx(0.5)


def test_standard_genetic_code():
    got = frame(["TTTCTTATTGTTTCTCCTACTGCTTATCATAATGATTGTCGTAGTGGTTGGCAAAAAGAAATGTAG"])
    row = got.iloc[0]
    for aa in "FLIVSPTAYHNDCRSGWQKEM":
        assert row[f"aa_{aa}"] > 0, aa
    assert row["aa_stop"] > 0


def test_kmer_block_and_names(endogenous):
    cao = CaoFeatures().fit(endogenous[:3])
    names = cao.get_feature_names_out()
    assert cao.n_features_out_ == len(names) == 6 + 64 + 21 + 7 + 5460
    assert list(names[:6]) == [
        "mfe_first100",
        "mfe_whole",
        "mfe_last30",
        "mfe_gquad_whole",
        "mfe_gquad_first50",
        "mfe_gquad_last50",
    ]
    X = cao.transform(endogenous[:3])
    np.testing.assert_allclose(X[:, -5460:], KmerFeatures().fit_transform(endogenous[:3]))


def test_input_forms_and_pandas_output(endogenous):
    seqs = endogenous[:3]
    expected = CaoFeatures().fit_transform(seqs)
    for form in (pd.Series(seqs), pd.DataFrame({"sequence": seqs}), [s.lower() for s in seqs]):
        np.testing.assert_array_equal(CaoFeatures().fit_transform(form), expected)
    cao = CaoFeatures().set_output(transform="pandas")
    assert list(cao.fit_transform(seqs).columns) == list(cao.get_feature_names_out())


def test_two_jobs_equal_one(endogenous):
    serial = CaoFeatures(cache=False).fit_transform(endogenous[:6])
    parallel = CaoFeatures(n_jobs=2, cache=False).fit_transform(endogenous[:6])
    np.testing.assert_array_equal(parallel, serial)


def test_bad_input_and_parameters():
    with pytest.raises(ValueError, match=r"row \[1\]"):
        CaoFeatures().fit(["ACGT", "ACGT!"])
    with pytest.raises(TypeError, match="verbose must be a bool"):
        CaoFeatures(verbose=None).fit(["ACGT"])
    with pytest.raises(NotFittedError):
        CaoFeatures().transform(["ACGT"])
    assert clone(CaoFeatures(n_jobs=2)).n_jobs == 2


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
    check("CaoFeatures", CaoFeatures())
