"""In-silico saturation mutagenesis: every single-base substitution of every sequence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import format_rows
from ._predict import check_batch_size, check_estimator, predict_batched, read_sequences

__all__ = ["saturation_mutagenesis"]

BASES = "ACGT"
#: Alternatives of each reference base, in ``ACGT`` order: row ``b`` lists the codes != b.
_ALTERNATIVES = np.array([[a for a in range(4) if a != b] for b in range(4)], dtype=np.int64)
_CODE = {base: i for i, base in enumerate(BASES)}


def _mutants(sequences: np.ndarray, seq_row: np.ndarray, pos: np.ndarray, alt: np.ndarray):
    """Mutant strings for the given (sequence row, 0-based position, alternative base) rows."""
    return np.array(
        [
            s[:p] + BASES[a] + s[p + 1 :]
            for s, p, a in zip(sequences[seq_row], pos.tolist(), alt.tolist(), strict=True)
        ],
        dtype=object,
    )


def saturation_mutagenesis(
    estimator,
    sequences,
    *,
    ids=None,
    sequence_column: str = "sequence",
    output: int | None = None,
    batch_size: int = 4096,
) -> pd.DataFrame:
    """Predict every single-base substitution of every sequence (in-silico mutagenesis).

    Works with any fitted estimator or pipeline of this library whose ``predict`` takes raw
    sequences (:func:`~sklearn_dynapro.make_dynapro_pipeline`, the baselines, a pipeline you
    built). Mutants are built and predicted ``batch_size`` at a time, so memory stays bounded
    by the batch and by the returned table.

    Parameters
    ----------
    estimator : estimator
        Fitted; ``estimator.predict(sequences)`` returns one value (or one row) per sequence.
    sequences : array-like of shape (n_sequences,) or DataFrame
        Reference sequences over ``ACGT`` (``U`` is read as ``T``, any case). A DataFrame
        holds them in ``sequence_column``; its other columns (a library label, say) go with
        every mutant of the row.
    ids : array-like of shape (n_sequences,) or None, default=None
        Unique identifier of each sequence; the index of a pandas input, or ``0 … n - 1``,
        when None.
    sequence_column : str, default="sequence"
        Column of a DataFrame ``sequences`` holding the sequences.
    output : int or None, default=None
        Which column to use when the estimator predicts several targets; required then.
    batch_size : int, default=4096
        Mutants per ``predict`` call.

    Returns
    -------
    effects : DataFrame of shape (3 * total length, 8)
        One row per substitution, ordered by sequence (input order), then position (5' to
        3'), then alternative base (``A, C, G, T`` without the reference base), with columns

        - ``sequence_id``: from ``ids``;
        - ``position``: 1-based position from the 5' end;
        - ``distance_to_start``: the same position counted from the start codon, negative
          (``-1`` is the base right before the ATG), i.e. ``position - length - 1``;
        - ``ref``, ``alt``: reference and substituted base;
        - ``reference_prediction``: prediction of the unmutated sequence;
        - ``prediction``: prediction of the mutant;
        - ``delta``: ``prediction - reference_prediction``.

    Raises
    ------
    ValueError
        If a sequence is invalid or holds ``N`` or another ambiguity code (a substitution
        needs a known reference base), or if ``ids`` repeat; the message names the rows.

    See Also
    --------
    plot_mutagenesis : Heatmap of the ``delta`` of one sequence.

    Examples
    --------
    >>> from sklearn_dynapro.baselines import make_kmer_baseline
    >>> from sklearn_dynapro.datasets import load_mpra_random50
    >>> from sklearn_dynapro.interpret import saturation_mutagenesis
    >>> X, y = load_mpra_random50()
    >>> model = make_kmer_baseline(k_range=(1, 3)).fit(X[:500], y[:500])
    >>> effects = saturation_mutagenesis(model, X[500:502])
    >>> effects.shape
    (300, 8)
    """
    check_estimator(estimator)
    batch_size = check_batch_size(batch_size)
    seqs, context, index = read_sequences(
        sequences, name="sequences", sequence_column=sequence_column
    )
    ambiguous = [i for i, s in enumerate(seqs) if "N" in s]
    if ambiguous:
        raise ValueError(
            "sequences must hold only A, C, G and T for saturation mutagenesis (each "
            f"substitution needs a known reference base), got N or another ambiguity code at "
            f"{format_rows(ambiguous)}."
        )
    n = seqs.shape[0]
    ids = index if ids is None else np.asarray(ids, dtype=object)
    if ids.shape != (n,):
        raise ValueError(f"ids must have shape ({n},) to match the sequences, got {ids.shape}.")
    repeated = pd.Index(ids).duplicated(keep="first")
    if repeated.any():
        # Effects are grouped and plotted by sequence_id: a shared id would merge two
        # sequences' substitutions into one.
        hint = "; pass ids=" if ids is index else ""
        raise ValueError(
            "ids must be unique (each names one sequence's substitutions), got repeats at "
            f"{format_rows(np.flatnonzero(repeated))}{hint}."
        )

    reference = predict_batched(
        estimator,
        seqs,
        context=context,
        sequence_column=sequence_column,
        output=output,
        batch_size=batch_size,
        what="reference sequences",
    )
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=n)
    codes = np.fromiter(
        (_CODE[b] for s in seqs for b in s), dtype=np.int64, count=int(lengths.sum())
    )
    seq_row = np.repeat(np.arange(n), 3 * lengths)
    # 0-based position of each mutant within its sequence.
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.repeat(np.arange(codes.shape[0]) - starts, 3)
    ref = np.repeat(codes, 3)
    alt = _ALTERNATIVES[codes].ravel()

    prediction = np.empty(seq_row.shape[0], dtype=np.float64)
    for lo in range(0, seq_row.shape[0], batch_size):
        hi = min(seq_row.shape[0], lo + batch_size)
        mutants = _mutants(seqs, seq_row[lo:hi], pos[lo:hi], alt[lo:hi])
        prediction[lo:hi] = predict_batched(
            estimator,
            mutants,
            context=context,
            rows=seq_row[lo:hi],
            sequence_column=sequence_column,
            output=output,
            batch_size=batch_size,
            what="mutants",
            first=lo,
        )
    letters = np.array(list(BASES), dtype=object)
    ref_pred = reference[seq_row]
    return pd.DataFrame(
        {
            "sequence_id": ids[seq_row],
            "position": pos + 1,
            "distance_to_start": pos - lengths[seq_row],
            "ref": letters[ref],
            "alt": letters[alt],
            "reference_prediction": ref_pred,
            "prediction": prediction,
            "delta": prediction - ref_pred,
        }
    )
