"""One-hot channels (A, C, G, T) for convolutional models."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._base import NonTabularOutputMixin, SequenceInputMixin
from .._validation import AMBIGUOUS_POLICIES
from ._padding import BASES, CHUNK_BASES, CODE_N, padded_codes, position_labels

__all__ = ["SequenceOneHot"]

_N_VALUES = (0.0, 0.25)


class SequenceOneHot(
    NonTabularOutputMixin,
    SequenceInputMixin,
    TransformerMixin,
    BaseEstimator,
    auto_wrap_output_keys=None,
):
    """Encode sequences as one-hot channels, padded on the 5' side.

    Channels are ``A, C, G, T`` in that order, positions run along the last axis, and each
    sequence is right-aligned so that the last position is the base right before the start
    codon. Padding is all-zero.

    The output is 3-D, so it cannot become a DataFrame: :meth:`set_output` accepts only
    ``"default"`` (and ``None``), which lets a :class:`~sklearn.pipeline.Pipeline` holding
    this step still call ``set_output``.

    Parameters
    ----------
    max_len : int or None, default=None
        Padded length in nucleotides. ``None`` learns it in :meth:`fit` as the longest
        training sequence.
    n_value : {0.0, 0.25}, default=0.0
        Value of every channel at an ``N``: all-zero like padding (0.0), or a uniform
        distribution over the four bases (0.25).
    truncate : bool, default=False
        Cut sequences longer than ``max_len_`` from the 5' end (keeping the bases next to the
        start codon) with a warning, instead of raising.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        What to do with ``N`` and other IUPAC ambiguity codes, which are all read as ``N``:
        raise, warn, or accept silently.
    sequence_column : str, int or None, default="sequence"
        Column holding the sequences when ``X`` is a DataFrame.

    Attributes
    ----------
    max_len_ : int
        Padded length in nucleotides used by :meth:`transform`.

    See Also
    --------
    SequenceTokenizer : Integer tokens with the same padding rule.

    Examples
    --------
    >>> from sklearn_dynapro.preprocessing import SequenceOneHot
    >>> SequenceOneHot().fit_transform(["ACG", "T"])[1]
    array([[0., 0., 0.],
           [0., 0., 0.],
           [0., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """

    _output_kind = "a 3-D array of shape (n_samples, 4, max_len_)"

    _parameter_constraints: ClassVar[dict] = {
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
        "n_value": [Options(Real, set(_N_VALUES))],
        "truncate": ["boolean"],
        "ambiguous": [StrOptions(set(AMBIGUOUS_POLICIES))],
        "sequence_column": [str, Integral, None],
    }

    def __init__(
        self,
        max_len: int | None = None,
        n_value: float = 0.0,
        truncate: bool = False,
        ambiguous: str = "warn",
        sequence_column: str | int | None = "sequence",
    ) -> None:
        self.max_len = max_len
        self.n_value = n_value
        self.truncate = truncate
        self.ambiguous = ambiguous
        self.sequence_column = sequence_column

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> SequenceOneHot:
        """Learn the padded length.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            Sequences as strings (DNA or RNA, any case), or a DataFrame with a
            ``sequence_column``.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceOneHot
            The fitted encoder.
        """
        sequences = self._check_sequences(X, max_len=self.max_len)
        if self.max_len is None:
            self.max_len_ = int(max(map(len, sequences)))
        else:
            self.max_len_ = int(self.max_len)
        return self

    def transform(self, X) -> np.ndarray:
        """Encode sequences as right-aligned one-hot channels.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            Sequences as strings, at most ``max_len_`` long (unless ``truncate=True``).

        Returns
        -------
        onehot : ndarray of shape (n_samples, 4, max_len_), float32
            Channels ``A, C, G, T``; the last position is the base right before the start
            codon. Padding is 0 in every channel, ``N`` is ``n_value`` in every channel.
        """
        check_is_fitted(self, "max_len_")
        sequences = self._check_sequences(X, max_len=self.max_len_)
        codes = padded_codes(sequences, self.max_len_)
        # Rows: base codes A, C, G, T, N, pad; columns: channels.
        table = np.zeros((CODE_N + 2, len(BASES)), dtype=np.float32)
        table[: len(BASES)] = np.eye(len(BASES), dtype=np.float32)
        table[CODE_N] = self.n_value
        n = codes.shape[0]
        out = np.empty((n, len(BASES), self.max_len_), dtype=np.float32)
        step = max(1, CHUNK_BASES // self.max_len_)
        for lo in range(0, n, step):
            # Gather (rows, positions, channels), then move channels before positions.
            out[lo : lo + step] = table[codes[lo : lo + step]].transpose(0, 2, 1)
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Name the flattened output, channel by channel.

        Parameters
        ----------
        input_features : None
            Ignored; present for API consistency.

        Returns
        -------
        feature_names_out : ndarray of shape (4 * max_len_,), dtype object
            ``"A_-d"`` … ``"T_-d"``, in the order of ``transform(X).reshape(n, -1)``; ``d`` is
            the distance to the start codon, so ``A_-1`` is the A channel of the last base.
        """
        check_is_fitted(self, "max_len_")
        labels = position_labels(self.max_len_)
        return np.asarray([f"{base}_{d}" for base in BASES for d in labels], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
