"""Start-codon-anchored biophysical features: composition, folding energy, uAUGs and uORFs."""

from __future__ import annotations

import numpy as np

from ._base import SequenceFeatureTransformer
from ._common import (
    BASE_INDEX,
    check_bool,
    check_int,
    check_k_range,
    check_n_jobs,
    check_temperature,
    flatten_sequences,
)
from ._folding import fold_requests, model_settings
from ._kmers import KmerFeatures

__all__ = ["BiophysicalFeatures", "start_codon_features"]

_A, _C, _G, _T = (ord(base) for base in "ACGT")

#: Columns computed by :func:`start_codon_features`, in output order.
SCAN_FEATURES = (
    "length",
    "frac_A",
    "frac_C",
    "frac_G",
    "frac_T",
    "gc_content",
    "n_uaug",
    "n_uaug_in_frame",
    "n_uaug_out_of_frame",
    "n_uaug_kozak_strong",
    "n_uaug_kozak_adequate",
    "n_uaug_kozak_weak",
    "n_uorf",
    "n_oorf",
    "n_nte",
    "max_uorf_length",
    "n_ustop",
    "n_ustop_in_frame",
    "dist_nearest_uaug",
    "start_minus3_purine",
)
_FOLD_FEATURES = ("mfe", "mfe_per_nt", "mfe_start_window")
# The folding columns sit after the composition block.
_N_COMPOSITION = 6


def _codon_starts(
    codes: np.ndarray, seq_id: np.ndarray, ends: np.ndarray, first: int, second: int, third
) -> np.ndarray:
    """Positions in ``codes`` where a codon lies wholly inside one sequence.

    ``third`` is one byte value or a tuple of alternatives.
    """
    if codes.size < 3:
        return np.empty(0, dtype=np.int64)
    last = codes[2:]
    third_ok = last == third if isinstance(third, int) else np.isin(last, third)
    hits = np.flatnonzero((codes[:-2] == first) & (codes[1:-1] == second) & third_ok)
    return hits[hits + 3 <= ends[seq_id[hits]]]


def start_codon_features(sequences) -> np.ndarray:
    """The non-folding columns of :class:`BiophysicalFeatures`, vectorised over all sequences.

    Parameters
    ----------
    sequences : sequence of str of length n_samples
        Validated upper-case ACGTN sequences (see :func:`sklearn_dynapro.check_sequences`),
        each a 5' UTR ending right before the CDS start codon.

    Returns
    -------
    features : ndarray of shape (n_samples, 20), float64
        Columns named by ``SCAN_FEATURES``, defined in the Notes of
        :class:`BiophysicalFeatures`.
    """
    n = len(sequences)
    codes, starts, lengths = flatten_sequences(sequences)
    ends = starts + lengths
    total = codes.size
    seq_id = np.repeat(np.arange(n), lengths)
    out = np.zeros((n, len(SCAN_FEATURES)), dtype=np.float64)
    col = {name: j for j, name in enumerate(SCAN_FEATURES)}

    # Composition: one bincount over (sequence, base) pairs.
    counts = np.bincount(seq_id * 5 + BASE_INDEX[codes], minlength=5 * n).reshape(n, 5)
    out[:, col["length"]] = lengths
    out[:, col["frac_A"] : col["frac_T"] + 1] = counts[:, :4] / lengths[:, None]
    out[:, col["gc_content"]] = (counts[:, 1] + counts[:, 2]) / lengths

    # Upstream AUGs: global position g, local position i, distance d to the CDS start.
    uaug = _codon_starts(codes, seq_id, ends, _A, _T, _G)
    u_seq = seq_id[uaug]
    u_i = uaug - starts[u_seq]
    u_len = lengths[u_seq]
    u_dist = u_len - u_i
    in_frame = u_dist % 3 == 0
    minus3 = codes[np.where(u_i >= 3, uaug - 3, uaug)]
    purine_m3 = (u_i >= 3) & ((minus3 == _A) | (minus3 == _G))
    g_p4 = (u_i + 3 < u_len) & (codes[np.minimum(uaug + 3, total - 1)] == _G)

    def per_seq(mask: np.ndarray) -> np.ndarray:
        return np.bincount(u_seq[mask], minlength=n)

    out[:, col["n_uaug"]] = np.bincount(u_seq, minlength=n)
    out[:, col["n_uaug_in_frame"]] = per_seq(in_frame)
    out[:, col["n_uaug_out_of_frame"]] = per_seq(~in_frame)
    out[:, col["n_uaug_kozak_strong"]] = per_seq(purine_m3 & g_p4)
    out[:, col["n_uaug_kozak_adequate"]] = per_seq(purine_m3 ^ g_p4)
    out[:, col["n_uaug_kozak_weak"]] = per_seq(~purine_m3 & ~g_p4)

    # Stops, then the first in-frame stop after each uAUG: codons in frame with a uAUG share
    # its global position mod 3, so a sorted search per residue class finds them.
    stops = _codon_starts(codes, seq_id, ends, _T, _A, (_A, _G))
    stops = np.union1d(stops, _codon_starts(codes, seq_id, ends, _T, _G, _A))
    s_seq = seq_id[stops]
    out[:, col["n_ustop"]] = np.bincount(s_seq, minlength=n)
    out[:, col["n_ustop_in_frame"]] = np.bincount(
        s_seq[(ends[s_seq] - stops) % 3 == 0], minlength=n
    )
    stop_at = np.full(uaug.size, -1, dtype=np.int64)
    for residue in range(3):
        frame_stops = stops[stops % 3 == residue]
        sel = np.flatnonzero(uaug % 3 == residue)
        if frame_stops.size == 0 or sel.size == 0:
            continue
        k = np.searchsorted(frame_stops, uaug[sel] + 3)
        candidate = frame_stops[np.minimum(k, frame_stops.size - 1)]
        found = (k < frame_stops.size) & (candidate + 3 <= ends[u_seq[sel]])
        stop_at[sel[found]] = candidate[found]
    is_uorf = stop_at >= 0
    out[:, col["n_uorf"]] = per_seq(is_uorf)
    out[:, col["n_oorf"]] = per_seq(~is_uorf & ~in_frame)
    out[:, col["n_nte"]] = per_seq(~is_uorf & in_frame)
    longest = np.zeros(n, dtype=np.int64)
    np.maximum.at(longest, u_seq[is_uorf], (stop_at + 3 - uaug)[is_uorf])
    out[:, col["max_uorf_length"]] = longest
    nearest = lengths + 3
    np.minimum.at(nearest, u_seq, u_dist)
    out[:, col["dist_nearest_uaug"]] = nearest

    minus3_start = codes[np.where(lengths >= 3, ends - 3, starts)]
    out[:, col["start_minus3_purine"]] = (lengths >= 3) & (
        (minus3_start == _A) | (minus3_start == _G)
    )
    return out


class BiophysicalFeatures(SequenceFeatureTransformer):
    """Biophysical features of 5' UTRs anchored at the CDS start codon, as named columns.

    Each sequence is a 5' UTR whose last base sits right before the ``ATG`` of the coding
    sequence. The output holds composition, ViennaRNA minimum free energies (whole UTR, per
    nucleotide, and of the ``window`` bases next to the start codon), upstream AUGs by frame
    and Kozak context, upstream / overlapping ORFs and N-terminal extensions, upstream stops,
    the distance of the nearest uAUG and the −3 base of the start codon, optionally followed
    by k-mer frequencies (definitions in the Notes).

    Folding runs in ``n_jobs`` processes and is cached per sequence in the process that
    transforms (see :func:`~sklearn_dynapro.features.fold_mfe`), so cross-validation folds do
    not refold. With parallel cross-validation (``cross_val_score(..., n_jobs=2)``) each
    worker process has its own cache, which lasts as long as joblib keeps the worker: a
    sequence is folded once per worker that needs it, and the caller's cache stays as it was.

    Parameters
    ----------
    window : int, default=30
        Length of the start-codon window whose MFE is ``mfe_start_window``. For UTRs no
        longer than ``window`` it equals ``mfe``.
    temperature : float, default=37.0
        Folding temperature in °C.
    kmer_range : tuple of (int, int) or None, default=None
        When set, append :class:`KmerFeatures` frequencies for ``k_min <= k <= k_max``.
    n_jobs : int or None, default=None
        Worker processes for folding, joblib convention (``-1`` = all CPUs).
    verbose : bool, default=False
        Show a folding progress bar.
    cache : bool, default=True
        Use the process-level folding cache.
    sequence_column : str, int or None, default="sequence"
        Column holding the sequences when ``X`` is a DataFrame.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        Policy for ``N`` and other IUPAC ambiguity codes, see
        :func:`sklearn_dynapro.check_sequences`. ``N`` is never paired by the folding.

    Attributes
    ----------
    kmers_ : KmerFeatures or None
        The fitted k-mer transformer when ``kmer_range`` is set.
    feature_names_out_ : ndarray of shape (n_features_out_,), dtype object
        ``length, frac_A, frac_C, frac_G, frac_T, gc_content, mfe, mfe_per_nt,
        mfe_start_window, n_uaug, n_uaug_in_frame, n_uaug_out_of_frame, n_uaug_kozak_strong,
        n_uaug_kozak_adequate, n_uaug_kozak_weak, n_uorf, n_oorf, n_nte, max_uorf_length,
        n_ustop, n_ustop_in_frame, dist_nearest_uaug, start_minus3_purine``, then
        ``kmer_*`` columns if any.
    n_features_out_ : int
        23, plus the number of k-mer columns.

    Notes
    -----
    Let ``L`` be the UTR length, so that position ``L`` (0-based) is the A of the CDS ``ATG``.
    An upstream ``ATG`` (uAUG) starting at ``i`` counts if it lies wholly inside the UTR
    (``i <= L - 3``); its frame relative to the CDS is ``(L - i) mod 3`` (0 = in frame).

    - ``length``; ``frac_A`` … ``frac_T`` (``N`` counts in the length only); ``gc_content``,
      the fraction of C + G.
    - ``mfe`` (kcal/mol, whole UTR), ``mfe_per_nt`` = ``mfe / length``, ``mfe_start_window``
      (the last ``window`` nt folded on their own).
    - ``n_uaug``, split by frame (``n_uaug_in_frame``, ``n_uaug_out_of_frame``) and by Kozak
      context: strong (purine at −3 *and* G at +4), adequate (exactly one), weak (neither).
      −3 is ``i - 3`` (a position before the UTR is not a purine); +4 is ``i + 3``, which for
      ``i = L - 3`` is the A of the CDS start codon, so not a G.
    - ``n_uorf``: uAUGs with an in-frame stop (TAA, TAG, TGA) wholly inside the UTR.
      ``n_oorf``: out-of-frame uAUGs without one, which run into the CDS (a stop straddling
      the UTR/CDS junction, e.g. a UTR ending in ``TA`` + the A of ATG, ends inside the CDS
      and so also counts as overlapping). ``n_nte``: in-frame uAUGs without one (N-terminal
      extensions). ``max_uorf_length``: longest uORF in nt including its stop, 0 if none.
    - ``n_ustop``: stop codons wholly inside the UTR, in any frame; ``n_ustop_in_frame``:
      those in frame with the start codon (``(L - j) mod 3 = 0``).
    - ``dist_nearest_uaug``: ``L - i`` for the uAUG closest to the start codon, or ``L + 3``
      when there is none (farther than any possible uAUG, so there are no NaNs).
    - ``start_minus3_purine``: 1 if the base at −3 of the start codon (``L - 3``) is A or G.

    Examples
    --------
    >>> from sklearn_dynapro.features import BiophysicalFeatures
    >>> bio = BiophysicalFeatures().set_output(transform="pandas")
    >>> bio.fit_transform(["GGGAAATGACCCTTTGCC"])[["mfe", "n_uaug", "n_uorf", "n_oorf"]]
       mfe  n_uaug  n_uorf  n_oorf
    0 -3.5     1.0     0.0     1.0
    """

    def __init__(
        self,
        *,
        window: int = 30,
        temperature: float = 37.0,
        kmer_range: tuple[int, int] | None = None,
        n_jobs: int | None = None,
        verbose: bool = False,
        cache: bool = True,
        sequence_column: str | int | None = "sequence",
        ambiguous: str = "warn",
    ) -> None:
        self.window = window
        self.temperature = temperature
        self.kmer_range = kmer_range
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.cache = cache
        self.sequence_column = sequence_column
        self.ambiguous = ambiguous

    def _check_params(self) -> None:
        check_int("window", self.window, minimum=1)
        check_temperature(self.temperature)
        check_n_jobs(self.n_jobs)
        check_bool("verbose", self.verbose)
        check_bool("cache", self.cache)
        if self.kmer_range is not None:
            check_k_range("kmer_range", self.kmer_range)

    def _fit(self) -> BiophysicalFeatures:
        self._check_params()
        names = list(SCAN_FEATURES[:_N_COMPOSITION]) + list(_FOLD_FEATURES)
        names += SCAN_FEATURES[_N_COMPOSITION:]
        self.kmers_ = None
        if self.kmer_range is not None:
            self.kmers_ = KmerFeatures(
                k_range=self.kmer_range,
                sequence_column=self.sequence_column,
                ambiguous=self.ambiguous,
            )._fit()
            names += list(self.kmers_.feature_names_out_)
        self.feature_names_out_ = np.array(names, dtype=object)
        self.n_features_out_ = len(names)
        return self

    def _transform(self, sequences: np.ndarray) -> np.ndarray:
        n = sequences.shape[0]
        window = self.window
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=n)
        # The window of a UTR no longer than the window is the UTR: fold it only once.
        long_rows = np.flatnonzero(lengths > window)
        windows = [sequences[i][-window:] for i in long_rows]
        (energies,) = fold_requests(
            [(model_settings(self.temperature), [*sequences, *windows])],
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            cache=self.cache,
        )
        mfe = energies[:n]
        window_mfe = mfe.copy()
        window_mfe[long_rows] = energies[n:]

        scan = start_codon_features(sequences)
        blocks = [
            scan[:, :_N_COMPOSITION],
            np.column_stack([mfe, mfe / lengths, window_mfe]),
            scan[:, _N_COMPOSITION:],
        ]
        if self.kmers_ is not None:
            blocks.append(self.kmers_._transform(sequences))
        return np.hstack(blocks, dtype=np.float64)
