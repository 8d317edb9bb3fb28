"""Reference systems as scikit-learn estimators, for comparisons on identical folds."""

from ._classic import make_kmer_baseline, make_rf_baseline

__all__ = ["make_kmer_baseline", "make_rf_baseline"]
