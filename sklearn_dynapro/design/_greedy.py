"""``greedy_design``: in-silico mutagenesis that keeps the best single-base substitution."""

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
    check_start_sequences,
    design_frame,
)

__all__ = ["greedy_design"]


def _neighbours(sequence: str, constraints: DesignConstraints) -> list[str]:
    """Every single-base substitution of ``sequence`` at a free position that stays valid."""
    out = []
    for pos in constraints._free:
        for base in constraints._alternatives(pos, sequence[pos]):
            candidate = f"{sequence[:pos]}{base}{sequence[pos + 1 :]}"
            if constraints.is_valid(candidate):
                out.append(candidate)
    return out


def greedy_design(
    oracle,
    constraints: DesignConstraints,
    *,
    start_sequences=None,
    n_designs: int = 10,
    n_steps: int = 20,
    maximize: bool = True,
    target: float | None = None,
    batch_size: int | None = None,
    random_state=None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Design 5' UTRs by greedy in-silico mutagenesis under constraints.

    Each step scores every single-base substitution of each design that keeps the
    constraints (one batched prediction for all designs) and applies the best one. A design
    stops as soon as no substitution improves its objective, so its objective rises
    strictly with every step it takes.

    Parameters
    ----------
    oracle : fitted estimator or callable
        Predicts from a 1-D array of sequences (any fitted pipeline of this library, or a
        function); one number per sequence. Each distinct sequence is predicted once.
    constraints : DesignConstraints
        What every design must satisfy, including its length.
    start_sequences : array-like of str or None, default=None
        Designs to start from; each must satisfy ``constraints``. None draws ``n_designs``
        random valid sequences with ``constraints.sample``.
    n_designs : int, default=10
        Number of random starts when ``start_sequences`` is None.
    n_steps : int, default=20
        Most substitutions per design; 0 scores the starts.
    maximize : bool, default=True
        Maximise the prediction; False minimises it. Ignored when ``target`` is set.
    target : float or None, default=None
        Minimise ``|prediction - target|`` instead, for a chosen expression level.
    batch_size : int or None, default=None
        Most sequences per oracle call; None predicts all candidates of a step at once.
    random_state : int, RandomState or None, default=None
        Seeds the random starts (the search itself is deterministic; ties go to the first
        candidate, 5' end first).
    verbose : bool, default=False
        Show a progress bar over the steps.

    Returns
    -------
    designs : DataFrame
        One row per design, best first, with columns ``sequence``, ``prediction``,
        ``distance_to_target`` (with ``target``), ``step`` (substitutions applied),
        ``start_sequence``, ``start_prediction``, ``gc`` (G + C fraction) and ``n_uaug``
        (ATG triplets in the UTR).

    Examples
    --------
    >>> from sklearn_dynapro.baselines import make_kmer_baseline
    >>> from sklearn_dynapro.datasets import load_mpra_random50
    >>> from sklearn_dynapro.design import DesignConstraints, greedy_design
    >>> X, y = load_mpra_random50()
    >>> model = make_kmer_baseline(k_range=(1, 3)).fit(X[:500], y[:500])
    >>> rules = DesignConstraints(50, forbid_uaug=True, gc_min=0.4, gc_max=0.6)
    >>> designs = greedy_design(model, rules, n_designs=2, n_steps=3, random_state=0)
    >>> list(designs.columns[:3]), len(designs)
    (['sequence', 'prediction', 'step'], 2)
    """
    constraints = check_constraints(constraints)
    scorer = CachedOracle(oracle, maximize=maximize, target=target, batch_size=batch_size)
    n_steps = check_int("n_steps", n_steps, minimum=0)
    if start_sequences is None:
        n_designs = check_int("n_designs", n_designs, minimum=1)
        starts = constraints.sample(n_designs, check_random_state(random_state))
    else:
        starts = check_start_sequences(start_sequences, constraints)

    current = list(starts)
    start_pred = scorer.predict(current)
    score = scorer.score(start_pred)
    steps = np.zeros(len(current), dtype=np.int64)
    active = list(range(len(current)))
    progress = tqdm(range(n_steps), desc="Greedy design", unit="step", disable=not verbose)
    for _ in progress:
        neighbours = {i: _neighbours(current[i], constraints) for i in active}
        flat = [s for i in active for s in neighbours[i]]
        if not flat:
            break
        flat_score = scorer.score(scorer.predict(flat))
        still, begin = [], 0
        for i in active:
            end = begin + len(neighbours[i])
            if end > begin:
                best = begin + int(np.argmax(flat_score[begin:end]))
                if flat_score[best] > score[i]:
                    current[i], score[i] = flat[best], flat_score[best]
                    steps[i] += 1
                    still.append(i)
            begin = end
        active = still
        progress.set_postfix(active=len(active), objective=float(score.max()))
        if not active:
            break
    progress.close()
    frame = design_frame(
        current,
        scorer.predict(current),
        scorer,
        {"step": steps, "start_sequence": list(starts), "start_prediction": start_pred},
    )
    valid = constraints.check(frame["sequence"])
    if not valid.all():  # the search only moves between valid sequences
        raise RuntimeError("greedy_design produced a design that breaks the constraints.")
    return frame
