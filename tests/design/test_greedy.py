"""greedy_design with a k-mer ridge model fitted on real MPRA data as the oracle."""

import numpy as np
import pandas as pd
import pytest

from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.design import DesignConstraints, greedy_design


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_designs_never_break_the_constraints(kmer_oracle, strict, seed):
    designs = greedy_design(kmer_oracle, strict, n_designs=4, n_steps=8, random_state=seed)
    assert isinstance(designs, pd.DataFrame)
    assert len(designs) == 4
    for seq in designs["sequence"]:
        assert strict.violations(seq) == []
        assert seq.startswith("GGG") and seq.endswith("C") and seq[-3] in "AG"
        assert "ATG" not in seq and "GGTCTC" not in seq and "GAGACC" not in seq
        assert 0.4 <= (seq.count("G") + seq.count("C")) / 50 <= 0.6
    assert (designs["n_uaug"] == 0).all()
    assert designs["gc"].between(0.4, 0.6).all()
    np.testing.assert_allclose(designs["prediction"], kmer_oracle.predict(designs["sequence"]))
    assert designs["prediction"].is_monotonic_decreasing


def test_each_step_raises_the_prediction(kmer_oracle, strict):
    starts = strict.sample(5, random_state=3)
    previous = None
    for n_steps in range(5):
        designs = greedy_design(kmer_oracle, strict, start_sequences=starts, n_steps=n_steps)
        by_start = designs.set_index("start_sequence").loc[list(starts)]
        assert (by_start["step"] <= n_steps).all()
        if previous is not None:
            assert (by_start["prediction"].to_numpy() >= previous).all()
        previous = by_start["prediction"].to_numpy()
    gain = by_start["prediction"] - by_start["start_prediction"]
    assert (gain > 0).all()


def test_minimise_and_stop_at_a_local_optimum(kmer_oracle):
    rules = DesignConstraints(20, forbid_uaug=True, gc_min=0.3, gc_max=0.7)
    designs = greedy_design(
        kmer_oracle, rules, n_designs=2, n_steps=200, maximize=False, random_state=0
    )
    assert (designs["prediction"] < designs["start_prediction"]).all()
    assert (designs["step"] < 200).all()  # converged before the step limit
    best = designs["sequence"].iloc[0]
    neighbours = [
        best[:i] + b + best[i + 1 :]
        for i in range(20)
        for b in "ACGT"
        if b != best[i] and rules.is_valid(best[:i] + b + best[i + 1 :])
    ]
    assert kmer_oracle.predict(neighbours).min() >= designs["prediction"].iloc[0]


def test_target_mode_approaches_the_target(kmer_oracle, strict):
    X, _ = load_mpra_random50()
    target = float(np.median(kmer_oracle.predict(X[:400])))
    designs = greedy_design(
        kmer_oracle, strict, n_designs=4, n_steps=15, target=target, random_state=0
    )
    start_gap = np.abs(designs["start_prediction"] - target)
    assert (designs["distance_to_target"] <= start_gap).all()
    assert designs["distance_to_target"].max() < 0.05
    assert designs["distance_to_target"].is_monotonic_increasing


def test_repeatable_with_random_state(kmer_oracle, strict):
    a = greedy_design(kmer_oracle, strict, n_designs=3, n_steps=3, random_state=7)
    b = greedy_design(kmer_oracle, strict, n_designs=3, n_steps=3, random_state=7)
    pd.testing.assert_frame_equal(a, b)
    c = greedy_design(kmer_oracle, strict, n_designs=3, n_steps=3, random_state=8)
    assert set(a["start_sequence"]) != set(c["start_sequence"])


def test_hand_made_oracle_finds_the_constrained_optimum():
    # Count of C, capped by gc_max: the optimum has exactly 10 C in 20 nt.
    rules = DesignConstraints(20, forbid_uaug=True, gc_max=0.5, fixed={0: "A"})
    calls = []

    def n_c(seqs):
        calls.append(list(seqs))
        return np.array([s.count("C") for s in seqs], dtype=float)

    designs = greedy_design(n_c, rules, n_designs=3, n_steps=30, batch_size=25, random_state=0)
    assert (designs["prediction"] == 10).all()
    assert max(map(len, calls)) <= 25
    seen = [s for call in calls for s in call]
    assert len(seen) == len(set(seen))  # each distinct sequence goes to the oracle once


def test_bad_arguments(kmer_oracle, strict):
    X, _ = load_mpra_random50()
    with pytest.raises(ValueError, match=r"violations at rows \[0, 1"):
        greedy_design(kmer_oracle, strict, start_sequences=X[:3])
    with pytest.raises(TypeError, match="constraints must be a DesignConstraints"):
        greedy_design(kmer_oracle, {"length": 50})
    with pytest.raises(TypeError, match="oracle must be a fitted estimator"):
        greedy_design("model", strict)
    with pytest.raises(ValueError, match="n_steps must be an int >= 0"):
        greedy_design(kmer_oracle, strict, n_steps=-1)
    with pytest.raises(ValueError, match="n_designs must be an int >= 1"):
        greedy_design(kmer_oracle, strict, n_designs=0)
    with pytest.raises(ValueError, match="target must be finite"):
        greedy_design(kmer_oracle, strict, target=float("nan"))
    with pytest.raises(ValueError, match=r"one value per sequence, shape \(2,\)"):
        greedy_design(lambda s: np.zeros((len(s), 2)), strict, n_designs=2)
    with pytest.raises(ValueError, match="finite values"):
        greedy_design(lambda s: np.full(len(s), np.nan), strict, n_designs=2)


def test_verbose_shows_a_progress_bar(kmer_oracle, strict, capsys):
    greedy_design(kmer_oracle, strict, n_designs=1, n_steps=2, random_state=0, verbose=True)
    assert "Greedy design" in capsys.readouterr().err
