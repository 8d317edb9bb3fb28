"""Integer tokens for nucleotide and overlapping k-mer vocabularies."""

from __future__ import annotations

from itertools import product
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._base import SequenceInputMixin
from .._validation import AMBIGUOUS_POLICIES, format_rows
from ._padding import BASES, CHUNK_BASES, CODE_N, CODE_PAD, padded_codes, position_labels

__all__ = ["MASK_ID", "N_ID", "PAD_ID", "SequenceTokenizer"]

#: Token id of the 5' padding.
PAD_ID = 0
#: Token id reserved for masked-language-model pre-training; never produced by ``transform``.
MASK_ID = 1
#: Token id of ``N`` and of every k-mer that contains an ``N``.
N_ID = 2
_SPECIAL_TOKENS = {"[PAD]": PAD_ID, "[MASK]": MASK_ID, "N": N_ID}
_FIRST_KMER_ID = len(_SPECIAL_TOKENS)


def vocabulary_size(k: int) -> int:
    """Number of token ids for k-mer tokens: the special tokens plus the 4**k k-mers.

    Parameters
    ----------
    k : int
        Token size.

    Returns
    -------
    int
        ``4**k + 3`` (PAD, MASK and N come first).
    """
    return _FIRST_KMER_ID + 4**k


def token_size(vocab_size: int) -> int | None:
    """The ``k`` whose vocabulary has ``vocab_size`` ids (inverse of :func:`vocabulary_size`).

    Returns
    -------
    int or None
        ``k`` in 1…6, or None when no k gives that many ids.
    """
    return next((k for k in range(1, 7) if vocabulary_size(k) == vocab_size), None)


# Base code (A, C, G, T, N, pad) -> single-nucleotide token id.
_BASE_TO_ID = np.array(
    [*range(_FIRST_KMER_ID, _FIRST_KMER_ID + len(BASES)), N_ID, PAD_ID], dtype=np.int64
)


class SequenceTokenizer(SequenceInputMixin, TransformerMixin, BaseEstimator):
    """Encode sequences as integer tokens, padded on the 5' side.

    Each sequence becomes its overlapping k-mers (one token per position, as in 3UTRBERT for
    ``k`` from 3 to 6, or single nucleotides for ``k=1``), right-aligned so that the last
    column always holds the k-mer that ends right before the start codon. Shorter sequences
    are filled with the padding token on the left.

    The vocabulary is fixed, so the ids mean the same thing for every fitted tokenizer with
    the same ``k``:

    ====  ==========================================================================
    id    token
    ====  ==========================================================================
    0     ``[PAD]``, the 5' padding
    1     ``[MASK]``, reserved for masked-token pre-training (never produced here)
    2     ``N``, and every k-mer that contains an ``N``
    3…    the ``4**k`` k-mers over ``ACGT`` in lexicographic order
          (``k=1``: A=3, C=4, G=5, T=6; ``k=3``: AAA=3, AAC=4, …, TTT=66)
    ====  ==========================================================================

    Parameters
    ----------
    max_len : int or None, default=None
        Padded length in nucleotides. ``None`` learns it in :meth:`fit` as the longest
        training sequence.
    k : int, default=1
        Length of the overlapping k-mers, from 1 to 6. A sequence of length ``L`` gives
        ``L - k + 1`` tokens.
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
    vocabulary_ : dict of str to int
        Token to id, special tokens included.
    vocab_size_ : int
        Number of ids, ``4**k + 3``; the size an embedding table needs.

    See Also
    --------
    SequenceOneHot : One-hot channels with the same padding rule.

    Examples
    --------
    >>> from sklearn_dynapro.preprocessing import SequenceTokenizer
    >>> SequenceTokenizer().fit_transform(["ACGT", "GT"])
    array([[3, 4, 5, 6],
           [0, 0, 5, 6]])
    """

    _parameter_constraints: ClassVar[dict] = {
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
        "k": [Interval(Integral, 1, 6, closed="both")],
        "truncate": ["boolean"],
        "ambiguous": [StrOptions(set(AMBIGUOUS_POLICIES))],
        "sequence_column": [str, Integral, None],
    }

    def __init__(
        self,
        max_len: int | None = None,
        k: int = 1,
        truncate: bool = False,
        ambiguous: str = "warn",
        sequence_column: str | int | None = "sequence",
    ) -> None:
        self.max_len = max_len
        self.k = k
        self.truncate = truncate
        self.ambiguous = ambiguous
        self.sequence_column = sequence_column

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> SequenceTokenizer:
        """Learn the padded length and build the vocabulary.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            Sequences as strings (DNA or RNA, any case), or a DataFrame with a
            ``sequence_column``.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceTokenizer
            The fitted tokenizer.
        """
        if self.max_len is not None and self.max_len < self.k:
            raise ValueError(
                f"max_len must be at least k={self.k} to hold one token, got {self.max_len}."
            )
        sequences = self._check_sequences(X, max_len=self.max_len, min_len=self.k)
        if self.max_len is None:
            self.max_len_ = int(max(map(len, sequences)))
        else:
            self.max_len_ = int(self.max_len)
        kmers = ("".join(p) for p in product(BASES, repeat=self.k))
        self.vocabulary_ = dict(_SPECIAL_TOKENS)
        self.vocabulary_.update((kmer, _FIRST_KMER_ID + i) for i, kmer in enumerate(kmers))
        self.vocab_size_ = len(self.vocabulary_)
        return self

    def transform(self, X) -> np.ndarray:
        """Encode sequences as right-aligned token ids.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            Sequences as strings, each at least ``k`` long and at most ``max_len_`` long
            (unless ``truncate=True``).

        Returns
        -------
        tokens : ndarray of shape (n_samples, max_len_ - k + 1), int64
            Token ids; the last column is the k-mer ending right before the start codon,
            ``PAD_ID`` (0) fills the 5' side.
        """
        check_is_fitted(self, "vocabulary_")
        sequences = self._check_sequences(X, max_len=self.max_len_, min_len=self.k)
        codes = padded_codes(sequences, self.max_len_)
        return _kmer_ids(codes, self.k)

    def inverse_transform(self, X) -> np.ndarray:
        """Turn single-nucleotide tokens back into sequences (``k=1`` only).

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len_), int
            Token ids as produced by :meth:`transform`.

        Returns
        -------
        sequences : ndarray of shape (n_samples,), dtype object
            Upper-case DNA strings without the padding.
        """
        check_is_fitted(self, "vocabulary_")
        if self.k != 1:
            raise ValueError(
                "inverse_transform needs k=1: k-mer tokens that contain N do not record "
                f"where the N was, got k={self.k}."
            )
        tokens = np.asarray(X)
        width = self.max_len_
        if tokens.ndim != 2 or tokens.shape[1] != width:
            raise ValueError(
                f"X must have shape (n_samples, {width}), got an array of shape {tokens.shape}."
            )
        known = np.isin(tokens, [PAD_ID, N_ID, *range(_FIRST_KMER_ID, _FIRST_KMER_ID + 4)])
        if not known.all():
            rows = np.flatnonzero(~known.all(axis=1)).tolist()
            raise ValueError(
                "X must hold PAD, N or base token ids (0, 2, 3-6), got other ids (such as "
                f"MASK=1) at {format_rows(rows)}."
            )
        # Id -> ASCII byte; PAD becomes a NUL byte that is stripped below.
        to_byte = np.zeros(_FIRST_KMER_ID + 4, dtype=np.uint8)
        to_byte[N_ID] = ord("N")
        to_byte[_FIRST_KMER_ID:] = np.frombuffer(BASES.encode("ascii"), dtype=np.uint8)
        chars = to_byte[tokens]
        return np.array(
            [row.tobytes().lstrip(b"\0").decode("ascii") for row in chars], dtype=object
        )

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Name each token column by where its k-mer ends.

        Parameters
        ----------
        input_features : None
            Ignored; present for API consistency.

        Returns
        -------
        feature_names_out : ndarray of shape (max_len_ - k + 1,), dtype object
            ``"token_-d"``, where ``d`` is the distance of the column's last base to the
            start codon: ``token_-1`` is the last column.
        """
        check_is_fitted(self, "vocabulary_")
        labels = position_labels(self.max_len_, self.k)
        return np.asarray([f"token_{d}" for d in labels], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


def _kmer_ids(codes: np.ndarray, k: int) -> np.ndarray:
    """Token ids of the overlapping k-mers of a right-aligned code matrix.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, width), uint8
        Output of :func:`padded_codes`.
    k : int
        k-mer length.

    Returns
    -------
    tokens : ndarray of shape (n_samples, width - k + 1), int64
    """
    n, width = codes.shape
    n_windows = width - k + 1
    if k == 1:
        return _BASE_TO_ID[codes]
    out = np.empty((n, n_windows), dtype=np.int64)
    # Row blocks keep the temporaries small next to the int64 output.
    step = max(1, CHUNK_BASES // width)
    for lo in range(0, n, step):
        block = codes[lo : lo + step]
        value = out[lo : lo + step]
        value[:] = 0
        has_n = np.zeros(value.shape, dtype=bool)
        for j in range(k):
            window = block[:, j : j + n_windows]
            # Rolling base-4 number; N and pad contribute 0 and are overridden below.
            value *= 4
            value += np.where(window < CODE_N, window, 0)
            has_n |= window == CODE_N
        value += _FIRST_KMER_ID
        value[has_n] = N_ID
        # Padding is contiguous on the left, so a window holds padding exactly when its
        # first base is padding; such windows are not tokens of the sequence.
        value[block[:, :n_windows] == CODE_PAD] = PAD_ID
    return out
