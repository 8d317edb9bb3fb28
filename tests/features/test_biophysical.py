"""BiophysicalFeatures: hand-checked counts, a per-sequence reference, folding, sklearn API."""

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

from sklearn_dynapro.features import BiophysicalFeatures, KmerFeatures
from sklearn_dynapro.features._biophysical import SCAN_FEATURES, start_codon_features

STOPS = {"TAA", "TAG", "TGA"}

# Hand-made UTR of length L = 32 (0-based positions; the CDS ATG starts at 32):
#
#   ACC ATG GCC TAA CCCC ATG CCCC GCC ATG CCC
#   0   3   6   9   12   16  19   23  26  29
#
# uAUGs at 3, 16, 26; the only stop codon is the TAA at 9.
# - ATG@3: distance 32-3 = 29 ≡ 2 (mod 3) → out of frame. Its codons 3, 6, 9 reach TAA@9
#   → a uORF of 9+3-3 = 9 nt. Kozak: −3 = pos 0 'A' (purine), +4 = pos 6 'G' → strong.
# - ATG@16: distance 16 ≡ 1 → out of frame. The only stop (9) is upstream → runs into the CDS:
#   an oORF. Kozak: −3 = pos 13 'C', +4 = pos 19 'C' → weak.
# - ATG@26: distance 6 ≡ 0 → in frame, codon 29 'CCC' then the CDS → N-terminal extension.
#   Kozak: −3 = pos 23 'G' (purine), +4 = pos 29 'C' → adequate.
# TAA@9: 32-9 = 23 ≡ 2 → not in frame with the start codon. Nearest uAUG: 32-26 = 6.
# Start codon −3: pos 29 'C' → not a purine. Bases: 6 A, 17 C, 5 G, 4 T.
HAND = "ACCATGGCCTAACCCCATGCCCCGCCATGCCC"
HAND_EXPECTED = {
    "length": 32,
    "frac_A": 6 / 32,
    "frac_C": 17 / 32,
    "frac_G": 5 / 32,
    "frac_T": 4 / 32,
    "gc_content": 22 / 32,
    "n_uaug": 3,
    "n_uaug_in_frame": 1,
    "n_uaug_out_of_frame": 2,
    "n_uaug_kozak_strong": 1,
    "n_uaug_kozak_adequate": 1,
    "n_uaug_kozak_weak": 1,
    "n_uorf": 1,
    "n_oorf": 1,
    "n_nte": 1,
    "max_uorf_length": 9,
    "n_ustop": 1,
    "n_ustop_in_frame": 0,
    "dist_nearest_uaug": 6,
    "start_minus3_purine": 0,
}


def reference_features(s: str) -> dict[str, float]:
    """Straightforward per-sequence version of the definitions, to check the vectorised one."""
    length = len(s)
    context = s + "ATG"  # +4 of a uAUG ending at the UTR's end is the A of the CDS ATG
    uaugs = [i for i in range(length - 2) if s[i : i + 3] == "ATG"]
    stops = [j for j in range(length - 2) if s[j : j + 3] in STOPS]
    out = dict.fromkeys(SCAN_FEATURES, 0.0)
    out["length"] = length
    for base in "ACGT":
        out[f"frac_{base}"] = s.count(base) / length
    out["gc_content"] = (s.count("C") + s.count("G")) / length
    out["n_uaug"] = len(uaugs)
    out["n_ustop"] = len(stops)
    out["n_ustop_in_frame"] = sum((length - j) % 3 == 0 for j in stops)
    out["dist_nearest_uaug"] = length + 3
    for i in uaugs:
        in_frame = (length - i) % 3 == 0
        out["n_uaug_in_frame" if in_frame else "n_uaug_out_of_frame"] += 1
        purine = i >= 3 and s[i - 3] in "AG"
        g4 = context[i + 3] == "G"
        kozak = "strong" if purine and g4 else "adequate" if purine or g4 else "weak"
        out[f"n_uaug_kozak_{kozak}"] += 1
        stop = next((j for j in range(i + 3, length - 2, 3) if s[j : j + 3] in STOPS), None)
        if stop is not None:
            out["n_uorf"] += 1
            out["max_uorf_length"] = max(out["max_uorf_length"], stop + 3 - i)
        else:
            out["n_nte" if in_frame else "n_oorf"] += 1
        out["dist_nearest_uaug"] = min(out["dist_nearest_uaug"], length - i)
    out["start_minus3_purine"] = float(length >= 3 and s[length - 3] in "AG")
    return out


def frame(seqs, **kwargs) -> pd.DataFrame:
    return BiophysicalFeatures(**kwargs).set_output(transform="pandas").fit_transform(seqs)


def test_hand_made_sequence():
    got = frame([HAND]).iloc[0]
    for name, value in HAND_EXPECTED.items():
        assert got[name] == pytest.approx(value), name


@pytest.mark.parametrize(
    ("seq", "expected"),
    [
        # uAUG ending at the UTR's end: +4 is the A of the CDS ATG (not G), −3 'C' → weak;
        # distance 3 → in frame, no codon left → N-terminal extension. L-3 = 3 is 'A'.
        ("CCGATG", {"n_uaug_kozak_weak": 1, "n_nte": 1, "dist_nearest_uaug": 3,
                    "start_minus3_purine": 1}),
        # ATG CCC TA|A: the stop straddles the junction, so it is not a UTR stop and the
        # out-of-frame ORF (distance 8 ≡ 2) overlaps the CDS. −3 lies before the UTR.
        ("ATGCCCTA", {"n_oorf": 1, "n_uorf": 0, "n_ustop": 0, "n_uaug_kozak_weak": 1,
                      "dist_nearest_uaug": 8}),
        # ATG TGA CC: uORF of 6 nt. The TGA sits at distance 8-3 = 5 from the CDS → not in
        # frame. −3 lies before the UTR and +4 is pos 3 'T' → weak.
        ("ATGTGACC", {"n_uorf": 1, "max_uorf_length": 6, "n_ustop": 1,
                      "n_ustop_in_frame": 0, "n_uaug_kozak_weak": 1}),
        # Too short for any codon: no uAUG, distance L + 3, no −3 base.
        ("A", {"length": 1, "n_uaug": 0, "dist_nearest_uaug": 4, "start_minus3_purine": 0}),
    ],
)  # fmt: skip
def test_edge_cases(seq, expected):
    got = frame([seq]).iloc[0]
    for name, value in expected.items():
        assert got[name] == pytest.approx(value), name


def test_vectorised_scan_matches_reference(varlen, endogenous, random50):
    seqs = [*varlen, *endogenous, *random50, HAND, "CCGATG", "ATGCCCTA", "A", "ANATGNN"]
    got = start_codon_features(np.array(seqs, dtype=object))
    expected = np.array([[reference_features(s)[n] for n in SCAN_FEATURES] for s in seqs])
    np.testing.assert_allclose(got, expected)


def test_folding_columns(varlen):
    seqs = varlen[::5]
    got = frame(seqs, cache=False)
    lengths = np.array([len(s) for s in seqs])
    mfe = np.array([RNA.fold(s)[1] for s in seqs])
    window = np.array([RNA.fold(s[-30:])[1] for s in seqs])
    np.testing.assert_allclose(got["mfe"], mfe, atol=1e-4)
    np.testing.assert_allclose(got["mfe_per_nt"], mfe / lengths, atol=1e-5)
    np.testing.assert_allclose(got["mfe_start_window"], window, atol=1e-4)
    short = lengths <= 30
    assert short.any() and (~short).any()
    np.testing.assert_array_equal(got["mfe_start_window"][short], got["mfe"][short])


def test_window_and_temperature_parameters(random50):
    seqs = random50[:5]
    got = frame(seqs, window=12, temperature=25.0, cache=False)
    md = RNA.md()
    md.temperature = 25.0
    expected = [RNA.fold_compound(s[-12:], md).mfe()[1] for s in seqs]
    np.testing.assert_allclose(got["mfe_start_window"], expected, atol=1e-4)


def test_global_viennarna_state_does_not_leak(random50):
    seqs = random50[:10]
    expected = BiophysicalFeatures(cache=False).fit_transform(seqs)
    saved = RNA.cvar.temperature
    try:
        RNA.cvar.temperature = 60.0
        got = BiophysicalFeatures(cache=False).fit_transform(seqs)
    finally:
        RNA.cvar.temperature = saved
    np.testing.assert_array_equal(got, expected)


def test_two_jobs_equal_one(varlen):
    serial = BiophysicalFeatures(n_jobs=1, cache=False).fit_transform(varlen)
    parallel = BiophysicalFeatures(n_jobs=2, cache=False).fit_transform(varlen)
    np.testing.assert_array_equal(parallel, serial)


def test_kmer_columns_are_appended(random50):
    seqs = random50[:10]
    bio = BiophysicalFeatures(kmer_range=(1, 2)).fit(seqs)
    names = bio.get_feature_names_out()
    assert len(names) == 23 + 20 and names[23] == "kmer_A" and names[-1] == "kmer_TT"
    got = bio.transform(seqs)
    np.testing.assert_allclose(got[:, 23:], KmerFeatures(k_range=(1, 2)).fit_transform(seqs))
    np.testing.assert_array_equal(got[:, :23], BiophysicalFeatures().fit_transform(seqs))


def test_input_forms_agree(random50):
    seqs = random50[:8]
    expected = BiophysicalFeatures().fit_transform(seqs)
    forms = [
        np.array(seqs, dtype=object),
        pd.Series(seqs),
        pd.DataFrame({"sequence": seqs, "library": "random50"}),
        [s.lower() for s in seqs],
        [s.replace("T", "U") for s in seqs],
    ]
    for form in forms:
        np.testing.assert_array_equal(BiophysicalFeatures().fit_transform(form), expected)
    other_column = pd.DataFrame({"utr": seqs})
    got = BiophysicalFeatures(sequence_column="utr").fit(other_column).transform(other_column)
    np.testing.assert_array_equal(got, expected)


def test_pandas_output(random50):
    bio = BiophysicalFeatures().set_output(transform="pandas")
    X = pd.DataFrame({"sequence": random50[:4]}, index=[10, 11, 12, 13])
    out = bio.fit_transform(X)
    assert list(out.columns) == list(bio.get_feature_names_out())
    assert list(out.index) == [10, 11, 12, 13]
    assert bio.get_feature_names_out().dtype == object


def test_bad_input_names_the_row(random50):
    bio = BiophysicalFeatures().fit(random50[:3])
    with pytest.raises(ValueError, match=r"row \[2\]"):
        bio.transform(["ACGT", "ACGT", "AC GT"])
    with pytest.raises(ValueError, match=r"row \[1\]"):
        BiophysicalFeatures().fit(["ACGT", ""])
    with pytest.raises(ValueError, match=r"ambiguous.*row \[0\]"):
        BiophysicalFeatures(ambiguous="error").fit_transform(["ACNGT"])


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"window": 0}, ValueError, "window must be an int >= 1"),
        ({"window": 2.5}, TypeError, "window must be an int"),
        ({"kmer_range": (0, 3)}, ValueError, "kmer_range must be"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be"),
        ({"temperature": None}, TypeError, "temperature must be"),
        ({"cache": None}, TypeError, "cache must be a bool"),
    ],
)
def test_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        BiophysicalFeatures(**params).fit(["ACGT"])


def test_not_fitted():
    with pytest.raises(NotFittedError):
        BiophysicalFeatures().transform(["ACGT"])
    with pytest.raises(NotFittedError):
        BiophysicalFeatures().get_feature_names_out()


def test_clone_and_params():
    bio = BiophysicalFeatures(window=20, kmer_range=(1, 3), n_jobs=2)
    copy = clone(bio)
    assert copy.get_params() == bio.get_params()
    assert not hasattr(copy, "feature_names_out_")


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
    check("BiophysicalFeatures", BiophysicalFeatures())
