"""k-mer counts and frequencies over a fixed ACGT vocabulary."""

from __future__ import annotations

from itertools import product

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from ._base import SequenceFeatureTransformer
from ._common import check_bool, check_k_range, flatten_sequences

__all__ = ["KmerFeatures", "kmer_vocabulary"]


def kmer_vocabulary(k_range: tuple[int, int]) -> list[str]:
    """All ACGT k-mers for ``k_min <= k <= k_max``, ordered by k, then lexicographically.

    Parameters
    ----------
    k_range : tuple of (int, int)
        Inclusive range of k.

    Returns
    -------
    vocabulary : list of str
        ``sum(4**k)`` k-mers, for example ``["A", "C", "G", "T", "AA", ...]`` for ``(1, 2)``.
    """
    k_min, k_max = k_range
    return ["".join(p) for k in range(k_min, k_max + 1) for p in product("ACGT", repeat=k)]


class KmerFeatures(SequenceFeatureTransformer):
    """Count every ACGT k-mer of each sequence, optionally as per-k frequencies.

    Built on :class:`~sklearn.feature_extraction.text.CountVectorizer` (``analyzer="char"``)
    with a fixed vocabulary of all ACGT k-mers, so the columns never depend on the data:
    k-mers absent from the training set still get a column, and k-mers containing ``N`` are
    not counted.

    Parameters
    ----------
    k_range : tuple of (int, int), default=(1, 6)
        Inclusive range of k-mer lengths, ``1 <= k_min <= k_max <= 8``. ``(1, 6)`` gives
        5,460 columns.
    normalize : bool, default=True
        Divide the counts of each k by the number of k-mers of that length in the sequence,
        ``max(L - k + 1, 1)``, giving frequencies. For ACGT-only sequences at least k long,
        each k's block then sums to 1; ``N``-containing k-mers make it sum to less.
    sparse_output : bool, default=False
        Return a SciPy CSR matrix instead of a dense array (dense output is needed for
        ``set_output(transform="pandas")``).
    sequence_column : str, int or None, default="sequence"
        Column holding the sequences when ``X`` is a DataFrame.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        Policy for ``N`` and other IUPAC ambiguity codes, see
        :func:`sklearn_dynapro.check_sequences`.

    Attributes
    ----------
    vectorizer_ : CountVectorizer
        The character n-gram counter with the fixed vocabulary.
    feature_names_out_ : ndarray of shape (n_features_out,), dtype object
        ``"kmer_<KMER>"`` for each column.
    n_features_out_ : int
        Number of output columns, ``sum(4**k for k in range(k_min, k_max + 1))``.

    Examples
    --------
    >>> from sklearn_dynapro.features import KmerFeatures
    >>> KmerFeatures(k_range=(1, 1), normalize=False).fit_transform(["ACCG", "TTA"])
    array([[1., 2., 1., 0.],
           [1., 0., 0., 2.]], dtype=float32)
    """

    def __init__(
        self,
        k_range: tuple[int, int] = (1, 6),
        *,
        normalize: bool = True,
        sparse_output: bool = False,
        sequence_column: str | int | None = "sequence",
        ambiguous: str = "warn",
    ) -> None:
        self.k_range = k_range
        self.normalize = normalize
        self.sparse_output = sparse_output
        self.sequence_column = sequence_column
        self.ambiguous = ambiguous

    def _check_params(self) -> None:
        check_k_range("k_range", self.k_range)
        check_bool("normalize", self.normalize)
        check_bool("sparse_output", self.sparse_output)

    def _fit(self) -> KmerFeatures:
        self._check_params()
        k_range = tuple(int(k) for k in self.k_range)
        vocabulary = kmer_vocabulary(k_range)
        self.vectorizer_ = CountVectorizer(
            analyzer="char",
            ngram_range=k_range,
            lowercase=False,
            vocabulary=vocabulary,
            dtype=np.float32,
        ).fit([])  # sets vocabulary_ now, so transform never modifies the fitted vectorizer
        self.feature_names_out_ = np.array([f"kmer_{kmer}" for kmer in vocabulary], dtype=object)
        self.n_features_out_ = len(vocabulary)
        # k of each column, for the per-k normalisation.
        self._column_k = np.array([len(kmer) for kmer in vocabulary], dtype=np.int64)
        return self

    def _transform(self, sequences: np.ndarray) -> np.ndarray | sp.csr_matrix:
        counts = self.vectorizer_.transform(sequences).tocsr()
        if self.normalize:
            _, _, lengths = flatten_sequences(sequences)
            rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
            n_kmers = np.maximum(lengths[rows] - self._column_k[counts.indices] + 1, 1)
            counts.data = (counts.data / n_kmers).astype(np.float32)
        return counts if self.sparse_output else counts.toarray()
