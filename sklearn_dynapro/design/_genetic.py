"""``genetic_design``: a genetic algorithm over constrained 5' UTR sequences."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from ._constraints import DesignConstraints
from ._oracle import (
    CachedOracle,
    check_constraints,
    check_int,
    check_rate,
    check_start_sequences,
    design_frame,
)

__all__ = ["genetic_design"]


def _tournament(score: np.ndarray, size: int, rng: np.random.RandomState) -> int:
    """Index of the best of ``size`` individuals drawn with replacement."""
    drawn = rng.randint(len(score), size=size)
    return int(drawn[np.argmax(score[drawn])])


def _mutate(
    sequence: str, constraints: DesignConstraints, rate: float, rng: np.random.RandomState
) -> str:
    """Substitute each free base with probability ``rate`` by another allowed base."""
    free = constraints._free
    hit = free[rng.random_sample(free.size) < rate]
    if not hit.size:
        return sequence
    chars = list(sequence)
    for pos in hit:
        options = constraints._alternatives(pos, chars[pos])
        chars[pos] = options[rng.randint(len(options))]
    return "".join(chars)


def genetic_design(
    oracle,
    constraints: DesignConstraints,
    *,
    population_size: int = 100,
    n_generations: int = 50,
    mutation_rate: float | None = None,
    crossover: float = 0.5,
    elite: int = 2,
    tournament_size: int = 3,
    start_sequences=None,
    maximize: bool = True,
    target: float | None = None,
    batch_size: int | None = None,
    random_state=None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Design 5' UTRs with a genetic algorithm under constraints.

    Every generation keeps the ``elite`` best distinct designs and fills the rest of the
    population with children: a parent picked by tournament, with probability ``crossover``
    joined at a random cut point to a second tournament winner (one-point crossover keeps
    motifs contiguous), then mutated base by base. A child that breaks a constraint is
    repaired (:meth:`DesignConstraints.repair`), or replaced by its first parent if the
    repair fails, so the population only ever holds valid designs.

    Parameters
    ----------
    oracle : fitted estimator or callable
        Predicts from a 1-D array of sequences (any fitted pipeline of this library, or a
        function); one number per sequence. Each distinct sequence is predicted once.
    constraints : DesignConstraints
        What every design must satisfy, including its length.
    population_size : int, default=100
        Designs per generation, >= 2.
    n_generations : int, default=50
        Generations to evolve; 0 scores the initial population.
    mutation_rate : float or None, default=None
        Probability that each free base of a child is substituted; None is
        ``1 / constraints.length`` (one substitution per child on average).
    crossover : float, default=0.5
        Probability that a child comes from crossing two parents rather than copying one.
    elite : int, default=2
        Best distinct designs carried unchanged into the next generation, in
        ``[0, population_size)``; with ``elite >= 1`` the best design is never lost.
    tournament_size : int, default=3
        Individuals compared to pick each parent; larger selects harder.
    start_sequences : array-like of str or None, default=None
        Designs seeded into the initial population (at most ``population_size``, each
        satisfying ``constraints``); the rest are random valid sequences.
    maximize : bool, default=True
        Maximise the prediction; False minimises it. Ignored when ``target`` is set.
    target : float or None, default=None
        Minimise ``|prediction - target|`` instead, for a chosen expression level.
    batch_size : int or None, default=None
        Most sequences per oracle call; None predicts a generation's new sequences at once.
    random_state : int, RandomState or None, default=None
        Seeds the initial population, selection, crossover, mutation and repair.
    verbose : bool, default=False
        Show a progress bar over the generations.

    Returns
    -------
    designs : DataFrame
        The distinct designs of the final population, best first, with columns
        ``sequence``, ``prediction``, ``distance_to_target`` (with ``target``),
        ``generation`` (when the design first appeared; 0 for the initial population),
        ``gc`` (G + C fraction) and ``n_uaug`` (ATG triplets in the UTR).

    Examples
    --------
    >>> from sklearn_dynapro.baselines import make_kmer_baseline
    >>> from sklearn_dynapro.datasets import load_mpra_random50
    >>> from sklearn_dynapro.design import DesignConstraints, genetic_design
    >>> X, y = load_mpra_random50()
    >>> model = make_kmer_baseline(k_range=(1, 3)).fit(X[:500], y[:500])
    >>> rules = DesignConstraints(50, forbid_uaug=True, gc_min=0.4, gc_max=0.6)
    >>> designs = genetic_design(model, rules, population_size=10, n_generations=3,
    ...                          random_state=0)
    >>> bool(designs["n_uaug"].eq(0).all())
    True
    """
    constraints = check_constraints(constraints)
    scorer = CachedOracle(oracle, maximize=maximize, target=target, batch_size=batch_size)
    population_size = check_int("population_size", population_size, minimum=2)
    n_generations = check_int("n_generations", n_generations, minimum=0)
    rate = 1.0 / constraints.length if mutation_rate is None else mutation_rate
    rate = check_rate("mutation_rate", rate)
    crossover = check_rate("crossover", crossover)
    elite = check_int("elite", elite, minimum=0)
    if elite >= population_size:
        raise ValueError(f"elite must be < population_size={population_size}, got {elite!r}.")
    tournament_size = check_int("tournament_size", tournament_size, minimum=1)
    rng = check_random_state(random_state)
    seeds = (
        [] if start_sequences is None else list(check_start_sequences(start_sequences, constraints))
    )
    if len(seeds) > population_size:
        raise ValueError(
            f"start_sequences must hold at most population_size={population_size} sequences, "
            f"got {len(seeds)}."
        )

    population = seeds + list(constraints.sample(population_size - len(seeds), rng))
    born = dict.fromkeys(population, 0)
    score = scorer.score(scorer.predict(population))
    length = constraints.length
    progress = tqdm(
        range(1, n_generations + 1), desc="Genetic design", unit="gen", disable=not verbose
    )
    for generation in progress:
        children: list[str] = []
        for i in np.argsort(-score, kind="stable"):
            if len(children) == elite:
                break
            if population[i] not in children:
                children.append(population[i])
        while len(children) < population_size:
            first = _tournament(score, tournament_size, rng)
            child = population[first]
            if length > 1 and rng.random_sample() < crossover:
                second = population[_tournament(score, tournament_size, rng)]
                cut = rng.randint(1, length)
                child = child[:cut] + second[cut:]
            child = _mutate(child, constraints, rate, rng)
            if not constraints.is_valid(child):
                repaired = constraints.repair(child, rng)
                child = population[first] if repaired is None else repaired
            children.append(child)
            born.setdefault(child, generation)
        population = children
        score = scorer.score(scorer.predict(population))
        progress.set_postfix(objective=float(score.max()))
    progress.close()
    final = list(dict.fromkeys(population))
    frame = design_frame(
        final, scorer.predict(final), scorer, {"generation": [born[s] for s in final]}
    )
    if not constraints.check(frame["sequence"]).all():  # offspring are repaired or rejected
        raise RuntimeError("genetic_design produced a design that breaks the constraints.")
    return frame
