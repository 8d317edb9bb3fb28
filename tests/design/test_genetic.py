"""genetic_design with a k-mer ridge model fitted on real MPRA data as the oracle."""

import numpy as np
import pandas as pd
import pytest

from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.design import DesignConstraints, genetic_design

SMALL = {"population_size": 20, "n_generations": 8}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_designs_never_break_the_constraints(kmer_oracle, strict, seed):
    # A high mutation and crossover rate makes many children that need repair.
    designs = genetic_design(
        kmer_oracle, strict, mutation_rate=0.2, crossover=0.9, random_state=seed, **SMALL
    )
    assert isinstance(designs, pd.DataFrame)
    assert designs["sequence"].is_unique
    assert strict.check(designs["sequence"]).all()
    for seq in designs["sequence"]:
        assert seq.startswith("GGG") and seq.endswith("C") and seq[-3] in "AG"
        assert "ATG" not in seq and "GGTCTC" not in seq and "GAGACC" not in seq
    assert (designs["n_uaug"] == 0).all()
    assert designs["gc"].between(0.4, 0.6).all()
    assert designs["generation"].between(0, SMALL["n_generations"]).all()
    np.testing.assert_allclose(designs["prediction"], kmer_oracle.predict(designs["sequence"]))
    assert designs["prediction"].is_monotonic_decreasing


def test_evolution_improves_on_the_initial_population(kmer_oracle, strict):
    initial = genetic_design(
        kmer_oracle, strict, population_size=20, n_generations=0, random_state=0
    )
    evolved = genetic_design(
        kmer_oracle, strict, population_size=20, n_generations=15, random_state=0
    )
    assert (initial["generation"] == 0).all()
    assert evolved["prediction"].iloc[0] > initial["prediction"].iloc[0]
    assert evolved["prediction"].median() > initial["prediction"].median()
    assert evolved["generation"].iloc[0] > 0


def test_minimise(kmer_oracle, strict):
    initial = genetic_design(
        kmer_oracle, strict, maximize=False, random_state=0, population_size=20, n_generations=0
    )
    evolved = genetic_design(kmer_oracle, strict, maximize=False, random_state=0, **SMALL)
    assert evolved["prediction"].iloc[0] < initial["prediction"].iloc[0]
    assert evolved["prediction"].is_monotonic_increasing


def test_target_mode_approaches_the_target(kmer_oracle, strict):
    X, _ = load_mpra_random50()
    target = float(np.percentile(kmer_oracle.predict(X[:400]), 90))
    kwargs = {"target": target, "random_state": 0, "population_size": 20}
    initial = genetic_design(kmer_oracle, strict, n_generations=0, **kwargs)
    evolved = genetic_design(kmer_oracle, strict, n_generations=10, **kwargs)
    assert evolved["distance_to_target"].iloc[0] <= initial["distance_to_target"].iloc[0]
    assert evolved["distance_to_target"].median() < initial["distance_to_target"].median()
    assert evolved["distance_to_target"].is_monotonic_increasing


def test_repeatable_with_random_state(kmer_oracle, strict):
    a = genetic_design(kmer_oracle, strict, random_state=4, **SMALL)
    b = genetic_design(kmer_oracle, strict, random_state=4, **SMALL)
    pd.testing.assert_frame_equal(a, b)
    c = genetic_design(kmer_oracle, strict, random_state=5, **SMALL)
    assert not a["sequence"].equals(c["sequence"])


def test_start_sequences_seed_the_population(kmer_oracle, strict):
    starts = strict.sample(20, random_state=9)
    designs = genetic_design(
        kmer_oracle,
        strict,
        start_sequences=starts,
        random_state=0,
        population_size=20,
        n_generations=0,
    )
    assert set(designs["sequence"]) == set(starts)


def test_hand_made_oracle_reaches_the_gc_cap():
    rules = DesignConstraints(30, forbid_uaug=True, gc_max=0.5)
    designs = genetic_design(
        lambda seqs: np.array([s.count("G") for s in seqs], dtype=float),
        rules,
        population_size=30,
        n_generations=40,
        random_state=0,
    )
    assert designs["prediction"].iloc[0] == 15


def test_bad_arguments(kmer_oracle, strict):
    with pytest.raises(ValueError, match="elite must be < population_size=10, got 10"):
        genetic_design(kmer_oracle, strict, population_size=10, elite=10)
    with pytest.raises(ValueError, match=r"mutation_rate must be a number in \[0, 1\]"):
        genetic_design(kmer_oracle, strict, mutation_rate=1.5)
    with pytest.raises(ValueError, match=r"crossover must be a number in \[0, 1\]"):
        genetic_design(kmer_oracle, strict, crossover=-0.1)
    with pytest.raises(ValueError, match="population_size must be an int >= 2"):
        genetic_design(kmer_oracle, strict, population_size=1)
    with pytest.raises(TypeError, match="tournament_size must be an int"):
        genetic_design(kmer_oracle, strict, tournament_size=2.5)
    with pytest.raises(ValueError, match="at most population_size=2"):
        genetic_design(
            kmer_oracle,
            strict,
            population_size=2,
            elite=1,
            start_sequences=strict.sample(3, random_state=0),
        )
    with pytest.raises(ValueError, match=r"length 10, expected 50"):
        genetic_design(kmer_oracle, strict, start_sequences=["GGGAAAAAAC"])
    with pytest.raises(
        ValueError, match=r"in start_sequences: invalid characters 'X' at row \[1\]"
    ):
        genetic_design(kmer_oracle, strict, start_sequences=["A" * 50, "X" * 50])


def test_verbose_shows_a_progress_bar(kmer_oracle, strict, capsys):
    genetic_design(kmer_oracle, strict, population_size=4, n_generations=2, verbose=True)
    assert "Genetic design" in capsys.readouterr().err
