"""Mixins shared by the estimators that take raw sequences."""

from __future__ import annotations

import numpy as np

from ._validation import check_sequences

__all__ = ["SequenceInputMixin"]


class SequenceInputMixin:
    """Declare string input in the scikit-learn tags and validate it in one place.

    Subclasses define the parameters ``sequence_column`` and ``ambiguous`` (and optionally
    ``truncate``); :meth:`_check_sequences` applies :func:`check_sequences` with them.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    def _check_sequences(
        self, X, *, max_len: int | None = None, min_len: int = 1
    ) -> np.ndarray:
        return check_sequences(
            X,
            sequence_column=getattr(self, "sequence_column", "sequence"),
            max_len=max_len,
            truncate=getattr(self, "truncate", False),
            ambiguous=getattr(self, "ambiguous", "warn"),
            min_len=min_len,
        )
