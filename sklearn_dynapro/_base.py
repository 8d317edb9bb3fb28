"""Mixins shared by the estimators that take raw sequences."""

from __future__ import annotations

import numpy as np

from ._validation import check_sequences

__all__ = ["NonTabularOutputMixin", "SequenceInputMixin"]


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

    def _check_sequences(self, X, *, max_len: int | None = None, min_len: int = 1) -> np.ndarray:
        return check_sequences(
            X,
            sequence_column=getattr(self, "sequence_column", "sequence"),
            max_len=max_len,
            truncate=getattr(self, "truncate", False),
            ambiguous=getattr(self, "ambiguous", "warn"),
            min_len=min_len,
        )


class NonTabularOutputMixin:
    """``set_output`` for transformers whose output is not a 2-D table (3-D arrays, dicts).

    Declare the class with ``auto_wrap_output_keys=None`` and describe the output in
    ``_output_kind``; this mixin then accepts the default container, so ``Pipeline.set_output``
    still works, and refuses pandas/polars with a clear message instead of failing inside the
    wrapper.
    """

    _output_kind = "an output that is not a 2-D table"

    def set_output(self, *, transform: str | None = None):
        """Accept the default output container only.

        Parameters
        ----------
        transform : {"default"} or None, default=None
            ``"default"`` and ``None`` leave the output as it is. ``"pandas"`` and ``"polars"``
            raise, because a DataFrame cannot hold this output.

        Returns
        -------
        self : estimator
            The unchanged transformer.
        """
        if transform not in (None, "default"):
            raise ValueError(
                f"transform must be 'default' or None, got {transform!r}: "
                f"{type(self).__name__} returns {self._output_kind}, which a DataFrame "
                "cannot hold."
            )
        return self
