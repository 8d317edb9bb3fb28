"""sklearn_dynapro: 5' UTR translation prediction with scikit-learn ergonomics."""

from ._validation import check_sequences, check_target

__version__ = "0.1.0"

__all__ = ["__version__", "check_sequences", "check_target"]
