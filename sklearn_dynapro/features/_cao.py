"""The hand-crafted feature set of the Cao et al. (2021) 5' UTR random forest."""

from __future__ import annotations

from itertools import product

import numpy as np

from ._base import SequenceFeatureTransformer
from ._common import BASE_INDEX, check_bool, check_n_jobs, flatten_sequences
from ._folding import fold_requests, model_settings
from ._kmers import KmerFeatures

__all__ = ["CaoFeatures", "cao_sequence_features"]

#: The 64 codons in ACGT lexicographic order (index = 16·first + 4·second + third).
CODONS = tuple("".join(p) for p in product("ACGT", repeat=3))
#: One-letter amino acids, then the stop ("*", column ``aa_stop``).
AMINO_ACIDS = tuple("ACDEFGHIKLMNPQRSTVWY*")


def _standard_code() -> dict[str, str]:
    # NCBI translation table 1, listed with the bases in TCAG order.
    amino_acids = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
    codons = ("".join(p) for p in product("TCAG", repeat=3))
    return dict(zip(codons, amino_acids, strict=True))


_CODE = _standard_code()
# (64, 21) 0/1 matrix mapping codon counts to amino-acid counts.
_CODON_TO_AA = np.zeros((64, len(AMINO_ACIDS)), dtype=np.int64)
for _c, _codon in enumerate(CODONS):
    _CODON_TO_AA[_c, AMINO_ACIDS.index(_CODE[_codon])] = 1
_ATG = CODONS.index("ATG")
_STOP = AMINO_ACIDS.index("*")

SEQUENCE_FEATURES = (
    *(f"codon_{codon}" for codon in CODONS),
    *(f"aa_{'stop' if aa == '*' else aa}" for aa in AMINO_ACIDS),
    "n_stop_frame0",
    "n_aug_frame0",
    "cg_percent",
    "cg_ratio",
    "at_ratio",
    "length_dev95",
    "length",
)
_FOLD_FEATURES = (
    "mfe_first100",
    "mfe_whole",
    "mfe_last30",
    "mfe_gquad_whole",
    "mfe_gquad_first50",
    "mfe_gquad_last50",
)


def cao_sequence_features(sequences) -> np.ndarray:
    """The non-folding, non-k-mer part of the Cao et al. (2021) features.

    Parameters
    ----------
    sequences : sequence of str of length n_samples
        Validated upper-case ACGTN sequences.

    Returns
    -------
    features : ndarray of shape (n_samples, 92), float64
        Columns named by ``SEQUENCE_FEATURES``: frequencies of the 64 codons and of the 20
        amino acids + stop, reading frame 0 from the 5' end (count / number of complete
        codons ``L // 3``; codons with ``N`` are not counted; all 0 when ``L < 3``); the
        number of stop codons and of ``ATG`` codons in that frame; ``cg_percent`` =
        100·(C + G)/L; ``cg_ratio`` = \\|(C + 1)/(G + 1) − 1\\|; ``at_ratio`` =
        \\|(A + 1)/(T + 1) − 1\\|; ``length_dev95`` = \\|L − 95\\|; ``length`` = L.
    """
    n = len(sequences)
    codes, starts, lengths = flatten_sequences(sequences)
    index = BASE_INDEX[codes]
    seq_id = np.repeat(np.arange(n), lengths)
    base_counts = np.bincount(seq_id * 5 + index, minlength=5 * n).reshape(n, 5)
    a, c, g, t = (base_counts[:, j] for j in range(4))

    # Frame-0 codons: positions start + 3m for m < L // 3, built without a Python loop.
    n_codons = lengths // 3
    total = int(n_codons.sum())
    codon_seq = np.repeat(np.arange(n), n_codons)
    offsets = np.zeros(n, dtype=np.int64)
    np.cumsum(n_codons[:-1], out=offsets[1:])
    first = starts[codon_seq] + 3 * (np.arange(total) - offsets[codon_seq])
    b1, b2, b3 = index[first], index[first + 1], index[first + 2]
    valid = (b1 < 4) & (b2 < 4) & (b3 < 4)
    codon = 16 * b1[valid].astype(np.int64) + 4 * b2[valid] + b3[valid]
    codon_counts = np.bincount(codon_seq[valid] * 64 + codon, minlength=64 * n).reshape(n, 64)
    aa_counts = codon_counts @ _CODON_TO_AA
    per_codon = np.maximum(n_codons, 1)[:, None]

    return np.column_stack(
        [
            codon_counts / per_codon,
            aa_counts / per_codon,
            aa_counts[:, _STOP],
            codon_counts[:, _ATG],
            100.0 * (c + g) / lengths,
            np.abs((c + 1) / (g + 1) - 1),
            np.abs((a + 1) / (t + 1) - 1),
            np.abs(lengths - 95),
            lengths,
        ]
    ).astype(np.float64)


class CaoFeatures(SequenceFeatureTransformer):
    """The Cao et al. (2021) random-forest features of 5' UTRs, as named columns.

    Cao, J. et al. High-throughput 5' UTR engineering for enhanced protein production in
    non-viral gene therapies. *Nat Commun* 12, 4138 (2021). Their feature code
    (github.com/zzz2010/5UTR_Optimizer, ``FeatureCommons.py``) is followed, with these
    deliberate differences, each a fix or a consequence of the input being the UTR alone:

    - their three "G-quadruplex" energies (whole UTR, first 50 nt, last 50 nt) called RNAfold
      without ``--gquad`` and so repeated plain energies; ``mfe_gquad_whole``,
      ``mfe_gquad_first50`` and ``mfe_gquad_last50`` fold those stretches with
      G-quadruplexes (``gquad=1``);
    - k-mers are counted at every position; their loop stopped ``7 - k`` positions early
      (its bound was fixed by the largest k, 6) while dividing by ``L - k + 1``;
    - ``cg_percent`` is 100·(C + G)/L; their ``CGperc`` was the fraction (C + G + 2)/L with
      one pseudocount per base, an increasing function of it for a fixed length;
    - their sequence carried the first 15 nt of the CDS, so their ``|L − 95|`` term was
      \\|UTR length − 80\\|, their last-30-nt energy covered 15 nt of UTR and 15 of CDS, and
      their last-50-nt G-quadruplex energy 35 and 15. Here the input is the UTR alone and the
      columns are computed on it, as specified for this library: ``length_dev95`` =
      \\|L − 95\\|, and ``mfe_last30`` and ``mfe_gquad_last50`` fold the UTR's last 30 and
      50 nt.

    ``cg_ratio`` = \\|(C + 1)/(G + 1) − 1\\| and ``at_ratio`` = \\|(A + 1)/(T + 1) − 1\\| are
    theirs exactly (one pseudocount per base, distance of the ratio from 1), as are the
    frame-0 amino-acid frequencies and the stop and AUG counts in frame 0 read from the 5'
    end. Codon frequencies in the same frame are added (the paper lists codon usage; their
    code turned codons into amino acids).

    Parameters
    ----------
    n_jobs : int or None, default=None
        Worker processes for folding, joblib convention (``-1`` = all CPUs).
    verbose : bool, default=False
        Show a folding progress bar.
    cache : bool, default=True
        Use the process-level folding cache (see :func:`fold_mfe`).
    sequence_column : str, int or None, default="sequence"
        Column holding the sequences when ``X`` is a DataFrame.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        Policy for ``N`` and other IUPAC ambiguity codes, see
        :func:`sklearn_dynapro.check_sequences`.

    Attributes
    ----------
    kmers_ : KmerFeatures
        The k = 1…6 frequency transformer.
    feature_names_out_ : ndarray of shape (n_features_out_,), dtype object
        ``mfe_first100, mfe_whole, mfe_last30, mfe_gquad_whole, mfe_gquad_first50,
        mfe_gquad_last50`` (kcal/mol at 37 °C; an energy of the first or last n nt equals the
        whole UTR's, plain or with G-quadruplexes, for UTRs of at most n nt), ``codon_AAA``
        … ``codon_TTT``, ``aa_A`` … ``aa_Y``, ``aa_stop``, ``n_stop_frame0``,
        ``n_aug_frame0``, ``cg_percent``, ``cg_ratio``, ``at_ratio``, ``length_dev95``,
        ``length``, then ``kmer_A`` … ``kmer_TTTTTT``.
    n_features_out_ : int
        5,558 (6 energies + 92 sequence columns + 5,460 k-mers).
    """

    def __init__(
        self,
        *,
        n_jobs: int | None = None,
        verbose: bool = False,
        cache: bool = True,
        sequence_column: str | int | None = "sequence",
        ambiguous: str = "warn",
    ) -> None:
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.cache = cache
        self.sequence_column = sequence_column
        self.ambiguous = ambiguous

    def _check_params(self) -> None:
        check_n_jobs(self.n_jobs)
        check_bool("verbose", self.verbose)
        check_bool("cache", self.cache)

    def _fit(self) -> CaoFeatures:
        self._check_params()
        self.kmers_ = KmerFeatures(
            k_range=(1, 6), sequence_column=self.sequence_column, ambiguous=self.ambiguous
        )._fit()
        names = [*_FOLD_FEATURES, *SEQUENCE_FEATURES, *self.kmers_.feature_names_out_]
        self.feature_names_out_ = np.array(names, dtype=object)
        self.n_features_out_ = len(names)
        return self

    def _transform(self, sequences: np.ndarray) -> np.ndarray:
        n = sequences.shape[0]
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=n)
        # Sub-sequences as long as the UTR are the UTR: fold those once.
        head100, tail30, head50, tail50 = (
            np.flatnonzero(lengths > size) for size in (100, 30, 50, 50)
        )
        plain, quad = fold_requests(
            [
                (
                    model_settings(),
                    [
                        *sequences,
                        *(sequences[i][:100] for i in head100),
                        *(sequences[i][-30:] for i in tail30),
                    ],
                ),
                (
                    model_settings(gquad=True),
                    [
                        *sequences,
                        *(sequences[i][:50] for i in head50),
                        *(sequences[i][-50:] for i in tail50),
                    ],
                ),
            ],
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            cache=self.cache,
        )
        whole, gquad_whole = plain[:n], quad[:n]
        first100, last30 = whole.copy(), whole.copy()
        first100[head100] = plain[n : n + head100.size]
        last30[tail30] = plain[n + head100.size :]
        gquad_first50, gquad_last50 = gquad_whole.copy(), gquad_whole.copy()
        gquad_first50[head50] = quad[n : n + head50.size]
        gquad_last50[tail50] = quad[n + head50.size :]
        return np.hstack(
            [
                np.column_stack(
                    [first100, whole, last30, gquad_whole, gquad_first50, gquad_last50]
                ),
                cao_sequence_features(sequences),
                self.kmers_._transform(sequences),
            ],
            dtype=np.float64,
        )
