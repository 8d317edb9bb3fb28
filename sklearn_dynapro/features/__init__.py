"""Sequences → named feature columns: k-mers, folding energies, uAUGs and uORFs.

``BiophysicalFeatures`` is the start-codon-anchored set, ``CaoFeatures`` the Cao et al. (2021)
random-forest baseline, ``KmerFeatures`` k-mer counts or frequencies. Folding goes through
:func:`fold_mfe`, which runs ViennaRNA in parallel and caches energies per sequence.
"""

from ._biophysical import BiophysicalFeatures
from ._cao import CaoFeatures
from ._folding import clear_fold_cache, fold_mfe
from ._kmers import KmerFeatures

__all__ = [
    "BiophysicalFeatures",
    "CaoFeatures",
    "KmerFeatures",
    "clear_fold_cache",
    "fold_mfe",
]
