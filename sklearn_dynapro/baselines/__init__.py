"""Reference systems as scikit-learn estimators, for comparisons on identical folds.

Classic models (the Cao et al. 2021 random forest, a k-mer ridge model) and three neural
baselines: Optimus 5-Prime (fixed length), FramePool (any length, optional per-library output
scaling) and MTtrans (shared encoder, one GRU tower per library). Each ``make_*`` factory
returns a :class:`~sklearn.pipeline.Pipeline` that takes raw sequences.
"""

from ._classic import make_kmer_baseline, make_rf_baseline
from ._encoder import SequenceLibraryEncoder
from ._framepool import FramePoolRegressor, make_framepool_pipeline
from ._mttrans import LibraryBatchSampler, MTtransRegressor, make_mttrans_pipeline
from ._optimus import OptimusRegressor, make_optimus_pipeline

__all__ = [
    "FramePoolRegressor",
    "LibraryBatchSampler",
    "MTtransRegressor",
    "OptimusRegressor",
    "SequenceLibraryEncoder",
    "make_framepool_pipeline",
    "make_kmer_baseline",
    "make_mttrans_pipeline",
    "make_optimus_pipeline",
    "make_rf_baseline",
]
