"""Saturation mutagenesis and its heatmap, on small fitted pipelines and real UTRs."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from sklearn_dynapro.features import KmerFeatures
from sklearn_dynapro.interpret import plot_mutagenesis, saturation_mutagenesis

BASES = "ACGT"


def direct_mutants(sequences):
    """Every substitution, in the documented order, built the slow obvious way."""
    rows = []
    for i, seq in enumerate(sequences):
        for p, ref in enumerate(seq):
            for alt in BASES:
                if alt != ref:
                    rows.append((i, p + 1, ref, alt, seq[:p] + alt + seq[p + 1 :]))
    return pd.DataFrame(rows, columns=["row", "position", "ref", "alt", "mutant"])


@pytest.mark.parametrize("model", ["ridge", "dynapro"])
def test_matches_direct_predictions_of_the_mutants(model, request, mrl):
    pipe = request.getfixturevalue(model)
    X, _ = mrl
    seqs = [X[0], X[1], X[2][:37]]  # a shorter one too
    effects = saturation_mutagenesis(pipe, seqs, batch_size=100)
    expected = direct_mutants(seqs)
    assert len(effects) == 3 * sum(map(len, seqs))
    np.testing.assert_array_equal(effects["sequence_id"], expected["row"])
    np.testing.assert_array_equal(effects["position"], expected["position"])
    np.testing.assert_array_equal(effects["ref"], expected["ref"])
    np.testing.assert_array_equal(effects["alt"], expected["alt"])
    direct = pipe.predict(expected["mutant"].to_numpy())
    reference = pipe.predict(seqs)[expected["row"]]
    # The ridge model is exact arithmetic on counts; a network's batched float32 maths
    # may differ in the last bits with the batch composition.
    tol = {"rtol": 1e-12, "atol": 1e-12} if model == "ridge" else {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(effects["prediction"], direct, **tol)
    np.testing.assert_allclose(effects["reference_prediction"], reference, **tol)
    np.testing.assert_allclose(effects["delta"], direct - reference, **tol)


def test_positions_distances_and_batching(ridge, mrl):
    X, _ = mrl
    seqs = [X[0], X[1][:20]]
    effects = saturation_mutagenesis(ridge, seqs, batch_size=7)
    assert list(effects.columns) == [
        "sequence_id",
        "position",
        "distance_to_start",
        "ref",
        "alt",
        "reference_prediction",
        "prediction",
        "delta",
    ]
    short = effects[effects["sequence_id"] == 1]
    assert len(short) == 60
    assert short["position"].tolist() == [p for p in range(1, 21) for _ in range(3)]
    # The last base sits right before the start codon.
    assert short["distance_to_start"].iloc[-1] == -1 and short["distance_to_start"].iloc[0] == -20
    assert (effects["ref"] != effects["alt"]).all()
    assert (effects.groupby(["sequence_id", "position"])["alt"].nunique() == 3).all()
    big_batches = saturation_mutagenesis(ridge, seqs, batch_size=4096)
    pd.testing.assert_frame_equal(effects, big_batches)


def test_ids_rna_input_and_series_index(ridge, mrl):
    X, _ = mrl
    series = pd.Series([X[0].lower().replace("t", "u"), X[1]], index=["utr_a", "utr_b"])
    effects = saturation_mutagenesis(ridge, series)
    assert effects["sequence_id"].unique().tolist() == ["utr_a", "utr_b"]
    same = saturation_mutagenesis(ridge, [X[0], X[1]], ids=["utr_a", "utr_b"])
    pd.testing.assert_frame_equal(effects, same)


def test_multi_output_needs_output(mrl):
    X, y = mrl
    two = np.column_stack([y, -y])
    pipe = make_pipeline(KmerFeatures(k_range=(1, 2)), Ridge()).fit(X, two)
    with pytest.raises(ValueError, match=r"output must be given .* 2 outputs"):
        saturation_mutagenesis(pipe, X[:1])
    effects = saturation_mutagenesis(pipe, X[:1], output=1)
    mutants = direct_mutants(X[:1])["mutant"].to_numpy()
    np.testing.assert_allclose(effects["prediction"], pipe.predict(mutants)[:, 1])


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (["ACGT", "ACNT", "ACGT", "NNNN"], r"ambiguity code at rows \[1, 3\]"),
        (["ACGT", "AC GT"], r"whitespace at row \[1\]"),
        (["ACGT", ""], r"empty sequence at row \[1\]"),
    ],
)
def test_bad_sequences_name_the_rows(ridge, bad, match):
    with pytest.raises(ValueError, match=match):
        saturation_mutagenesis(ridge, bad)


class _RefusesOne:
    """A fitted 'model' that predicts the GC count and refuses one sequence."""

    def __init__(self, refused: str) -> None:
        self.refused = refused

    def predict(self, X):
        X = list(X)
        if self.refused in X:
            raise ValueError(f"bad sequence at row {X.index(self.refused)}")
        return np.array([s.count("G") + s.count("C") for s in X], dtype=float)


def test_a_failing_mutant_is_named_by_its_row_in_the_output():
    # The error counted from the start of the mutagenesis batch, not of all mutants.
    seq = "ACGTACGTAC"
    out = saturation_mutagenesis(_RefusesOne("NOTHING"), [seq])
    row = 23
    refused = seq[: out.position[row] - 1] + out.alt[row] + seq[out.position[row] :]
    with pytest.raises(ValueError, match=r"mutants 20\.\.24 \(rows named below count from 20\)"):
        saturation_mutagenesis(_RefusesOne(refused), [seq], batch_size=5)


def test_bad_arguments(ridge):
    with pytest.raises(TypeError, match="pass a list"):
        saturation_mutagenesis(ridge, "ACGT")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        saturation_mutagenesis(ridge, ["ACGT"], batch_size=0)
    with pytest.raises(ValueError, match=r"ids must have shape \(1,\)"):
        saturation_mutagenesis(ridge, ["ACGT"], ids=[1, 2])
    # A repeated id would merge two sequences' substitutions wherever effects are grouped.
    with pytest.raises(ValueError, match=r"ids must be unique .* at row \[2\]\.$"):
        saturation_mutagenesis(ridge, ["ACGT", "AAAA", "CCCC"], ids=["a", "b", "a"])
    with pytest.raises(ValueError, match=r"repeats at row \[1\]; pass ids=\.$"):
        saturation_mutagenesis(ridge, pd.Series(["ACGT", "AAAA"], index=["x", "x"]))
    with pytest.raises(TypeError, match="predict method"):
        saturation_mutagenesis(object(), ["ACGT"])


def test_heatmap(ridge, mrl, tmp_path):
    X, _ = mrl
    effects = saturation_mutagenesis(ridge, X[:2])
    ax = plot_mutagenesis(effects, sequence_id=1)
    assert isinstance(ax, Axes)
    (image,) = ax.get_images()
    heat = image.get_array()
    assert heat.shape == (4, 50)
    rows = effects[effects["sequence_id"] == 1]
    alt_row = rows["alt"].map(BASES.index).to_numpy()
    np.testing.assert_allclose(heat[alt_row, rows["position"] - 1], rows["delta"])
    # Reference cells are zero and marked; the colour scale is centred on 0.
    ref_row = np.array([BASES.index(b) for b in X[1]])
    np.testing.assert_array_equal(heat[ref_row, np.arange(50)], 0.0)
    marks = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(marks, np.column_stack([np.arange(50), ref_row]))
    low, high = image.get_clim()
    assert low == -high == -np.abs(rows["delta"]).max()
    ax.figure.savefig(tmp_path / "ism.png")
    assert (tmp_path / "ism.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_heatmap_needs_a_sequence_id(ridge, mrl):
    X, _ = mrl
    effects = saturation_mutagenesis(ridge, X[:2])
    with pytest.raises(ValueError, match="sequence_id must name one of the 2 sequences"):
        plot_mutagenesis(effects)
    with pytest.raises(ValueError, match="got 'nope'"):
        plot_mutagenesis(effects, sequence_id="nope")
    with pytest.raises(ValueError, match="missing"):
        plot_mutagenesis(effects.drop(columns="delta"), sequence_id=0)
    assert isinstance(plot_mutagenesis(effects[effects["sequence_id"] == 0]), Axes)
    # Two sequences under one id (tables of two runs stacked) are not drawn as one.
    twice = pd.concat([saturation_mutagenesis(ridge, [seq], ids=["x"]) for seq in X[:2]])
    with pytest.raises(ValueError, match="'x', which names several"):
        plot_mutagenesis(twice)
