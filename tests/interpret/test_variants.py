"""Variant scoring: predicted effects and the uAUG / frame / uORF annotations."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from sklearn_dynapro.interpret import score_variants


class LengthModel:
    """Predicts ``len(sequence) - 4`` (plus 100 for library "b" when given a DataFrame)."""

    def predict(self, X):
        if isinstance(X, pd.DataFrame):
            bonus = np.where(X["library"] == "b", 100.0, 0.0)
            return np.array([len(s) - 4.0 for s in X["sequence"]]) + bonus
        return np.array([len(s) - 4.0 for s in X])


def atg_count(seq: str) -> int:
    return len(re.findall("(?=ATG)", seq))


@pytest.fixture(scope="module")
def real_variants(mrl):
    """An SNV, a 1-nt insertion, a 2-nt deletion and a 3-nt delins of real UTRs."""
    X, _ = mrl
    a, b, c, d = X[:4]
    swap = {"A": "C", "C": "G", "G": "T", "T": "A"}
    other = next(base for base in "ACGT" if base not in d[5:7])
    ref = [a, b, c, d]
    alt = [
        a[:10] + swap[a[10]] + a[11:],
        b[:20] + "G" + b[20:],
        c[:30] + c[32:],
        d[:5] + other * 3 + d[7:],
    ]
    return ref, alt


def test_deltas_equal_direct_predictions(ridge, real_variants):
    ref, alt = real_variants
    out = score_variants(ridge, ref, alt, batch_size=3)
    ref_pred = ridge.predict(ref).astype(np.float64)
    alt_pred = ridge.predict(alt).astype(np.float64)
    np.testing.assert_array_equal(out["ref_prediction"], ref_pred)
    np.testing.assert_array_equal(out["alt_prediction"], alt_pred)
    np.testing.assert_array_equal(out["delta"], alt_pred - ref_pred)
    np.testing.assert_allclose(out["log2_fold_change"], np.log2(alt_pred / ref_pred), rtol=1e-12)
    assert out["variant_type"].tolist() == ["SNV", "insertion", "deletion", "delins"]
    assert out["length_change"].tolist() == [0, 1, -2, 1]
    assert out["id"].tolist() == [0, 1, 2, 3]
    assert out.shape == (4, 19)
    assert out["n_uaug_ref"].tolist() == [atg_count(s) for s in ref]
    assert out["n_uaug_alt"].tolist() == [atg_count(s) for s in alt]


def test_positions_are_left_aligned_and_counted_from_the_start_codon(ridge):
    out = score_variants(
        ridge,
        ["GCCGCCACC", "CCAAAAGCC", "CCCGG", "CCCGG"],
        ["GCCGTCACC", "CCAAAGCC", "CCCGGT", "ACCCGG"],
    )
    # SNV at 5; deletion of one A of the run, placed on its first A; insertion right before
    # the start codon; insertion at the 5' end.
    assert out["position"].tolist() == [5, 3, 6, 1]
    assert out["distance_to_start"].tolist() == [-5, -7, 0, -5]


def test_inserted_atg_creates_a_uaug(ridge, mrl):
    X, _ = mrl
    ref = next(s for s in X if "ATG" not in s)
    alt = ref[:20] + "ATG" + ref[20:]
    out = score_variants(ridge, [ref], [alt]).iloc[0]
    assert out["creates_uaug"] and not out["destroys_uaug"]
    assert (out["n_uaug_ref"], out["n_uaug_alt"]) == (0, 1)
    assert not out["frame_shift"]  # no uAUG upstream of the edit in ref


def test_snv_in_a_uaug_destroys_it_and_moving_one_sets_both():
    model = LengthModel()
    out = score_variants(model, ["CCATGCC", "CATGCC"], ["CCAAGCC", "CAAGCC"])
    assert out["destroys_uaug"].tolist() == [True, True]
    assert out["creates_uaug"].tolist() == [False, False]
    # T -> A turns ATGTG into ATATG: the uAUG moves two bases 3'.
    moved = score_variants(model, ["CATGTGC"], ["CATATGC"]).iloc[0]
    assert moved["n_uaug_ref"] == moved["n_uaug_alt"] == 1
    assert moved["creates_uaug"] and moved["destroys_uaug"]


def test_an_atg_between_two_phased_snvs_is_neither_gained_nor_lost():
    # The edit span of C>G at 1 and C>G at 7 covers the unchanged ATG at 3-5.
    out = score_variants(LengthModel(), ["CCATGCC", "CCATGCC"], ["GCATGCG", "GCATGCA"])
    assert out["variant_type"].tolist() == ["MNV", "MNV"]
    assert not out["creates_uaug"].any() and not out["destroys_uaug"].any()
    both = score_variants(LengthModel(), ["CCATGCC"], ["GCAAGCC"]).iloc[0]
    assert both["destroys_uaug"] and not both["creates_uaug"]


def test_an_atg_sliding_with_an_indel_in_a_repeat_is_neither_gained_nor_lost():
    out = score_variants(LengthModel(), ["CCAATGCC", "AATGCC"], ["CCAAATGCC", "ATGCC"])
    assert not out["creates_uaug"].any() and not out["destroys_uaug"].any()
    assert out["n_uaug_ref"].tolist() == out["n_uaug_alt"].tolist() == [1, 1]
    # The uAUG lies 3' of (or on) the indel: its distance to the start codon is unchanged.
    assert not out["frame_shift"].any() and not out["uorf_change"].any()


def test_an_atg_between_an_indel_and_a_distant_substitution_is_kept():
    # The edit span of an insertion at 1 plus G>A at the end covers the unchanged ATG.
    ref = "CCCATGCCCGGG"
    out = score_variants(
        LengthModel(),
        [ref, ref, ref, "CCCACGCCCGGG"],
        [
            "CTCCATGCCCGGA",  # insertion 5' of the ATG, substitution 3' of it
            "CCATGCCCGGA",  # deletion 5' of it, substitution 3'
            "ACCATGCCCGGGG",  # substitution 5', insertion 3' (in the G run)
            "CTCCATGCCCGGG",  # the insertion comes with C>T making ACG an ATG
        ],
    )
    assert out["creates_uaug"].tolist() == [False, False, False, True]
    assert out["destroys_uaug"].tolist() == [False, False, False, False]
    # Undoing a variant swaps what it creates and destroys.
    undo = score_variants(LengthModel(), out["alt"], out["ref"])
    assert undo["destroys_uaug"].tolist() == out["creates_uaug"].tolist()
    assert undo["creates_uaug"].tolist() == out["destroys_uaug"].tolist()


def test_one_nt_indel_downstream_of_a_uaug_shifts_its_frame(ridge):
    ref = "GCATGCCGCCGCCGCCGCC"
    alt = [
        ref[:12] + "A" + ref[12:],  # 1-nt insertion 3' of the uAUG
        ref[:12] + ref[13:],  # 1-nt deletion 3' of the uAUG
        ref[:12] + "AAA" + ref[12:],  # 3 nt: same frame
        "T" + ref,  # 1 nt, but 5' of the uAUG
        ref[:-2] + "CCCCC",  # 3-nt insertion 3' of the uAUG, in a C run
    ]
    out = score_variants(ridge, [ref] * 5, alt)
    assert out["frame_shift"].tolist() == [True, True, False, False, False]
    assert out["uorf_change"].tolist() == [True, True, False, False, False]
    # The uAUG runs into the CDS in frame 2 (len 19 - start 2 = 17): an overlapping ORF.
    assert out[["n_uorf_ref", "n_uorf_alt"]].to_numpy().sum() == 0


def test_uorf_gained_by_an_in_frame_stop():
    ref = "CCATGCCCCCCGG"
    alt = "CCATGCCCTAACCGG"  # TAA three codons after the ATG
    out = score_variants(LengthModel(), [ref, ref], [alt, "G" + ref[1:]])
    assert (out.loc[0, "n_uorf_ref"], out.loc[0, "n_uorf_alt"]) == (0, 1)
    assert out["uorf_change"].tolist() == [True, False]


def test_log2_fold_change_scales():
    model = LengthModel()
    ref, alt = ["A" * 8, "A" * 8], ["A" * 12, "A" * 6]  # predictions 4 → 8 and 4 → 2
    linear = score_variants(model, ref, alt)
    np.testing.assert_allclose(linear["log2_fold_change"], [1.0, -1.0])
    ln = score_variants(model, ref, alt, scale="ln")
    np.testing.assert_allclose(ln["log2_fold_change"], ln["delta"] / math.log(2))
    log10 = score_variants(model, ref, alt, scale="log10")
    np.testing.assert_allclose(log10["log2_fold_change"], log10["delta"] * math.log2(10))
    log2 = score_variants(model, ref, alt, scale="log2")
    np.testing.assert_allclose(log2["log2_fold_change"], log2["delta"])
    with pytest.warns(UserWarning, match=r"not positive .* at row \[1\]"):
        out = score_variants(model, ["A" * 8, "A" * 8], ["A" * 12, "A" * 3])
    assert out["log2_fold_change"].isna().tolist() == [False, True]
    assert out["delta"].notna().all()


def test_dataframe_input_with_ids_and_context():
    frame = pd.DataFrame(
        {
            "id": ["v1", "v2"],
            "ref": ["ACGTACGTACGT", "ACGTACGTACGT"],
            "alt": ["ACGTACGTACGTA", "ACGTACGTACG"],
            "library": ["a", "b"],
        }
    )
    out = score_variants(LengthModel(), frame)
    assert out["id"].tolist() == ["v1", "v2"]
    np.testing.assert_allclose(out["ref_prediction"], [8.0, 108.0])
    np.testing.assert_allclose(out["delta"], [1.0, -1.0])


@pytest.mark.parametrize(
    ("ref", "alt", "match"),
    [
        (["ACGT", "ACGT", "ACGT"], ["ACGT", "ACGT", "AC-T"], r"alt: .*'-'.* at row \[2\]"),
        (["ACGT", ""], ["ACGT", "ACGT"], r"ref: .*empty sequence at row \[1\]"),
        (["ACGT", None], ["ACGT", "ACGT"], r"ref: .*missing value .* at row \[1\]"),
        (["ACGT"], ["ACGT", "ACGT"], "same number of sequences, got 1 and 2"),
    ],
)
def test_bad_sequences_name_the_argument_and_rows(ridge, ref, alt, match):
    with pytest.raises(ValueError, match=match):
        score_variants(ridge, ref, alt)


def test_bad_arguments(ridge):
    with pytest.raises(ValueError, match="scale must be one of"):
        score_variants(ridge, ["ACGT"], ["ACGA"], scale="log")
    with pytest.raises(ValueError, match="alt must be given"):
        score_variants(ridge, ["ACGT"])
    with pytest.raises(ValueError, match="columns 'ref' and 'alt'"):
        score_variants(ridge, pd.DataFrame({"ref": ["ACGT"]}))
    with pytest.raises(TypeError, match="ref must be a 1-D array-like"):
        score_variants(ridge, "ACGT", "ACGA")
