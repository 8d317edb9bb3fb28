"""In-silico design of 5' UTRs with a fitted model as the oracle.

:class:`DesignConstraints` states what a design must satisfy (length, no upstream AUG,
Kozak −3 purine, GC bounds, fixed motifs, forbidden motifs such as restriction sites).
:func:`greedy_design` climbs by the best single-base substitution; :func:`genetic_design`
evolves a population with crossover and mutation. Both maximise the oracle's prediction, or
approach a target value, and return only designs that satisfy the constraints.
"""

from ._constraints import DesignConstraints
from ._genetic import genetic_design
from ._greedy import greedy_design

__all__ = ["DesignConstraints", "genetic_design", "greedy_design"]
