"""Variant effects: predicted change and upstream-AUG / uORF consequences of ref → alt pairs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from .._validation import format_rows
from ._orfs import edit_span, orf_signature, uaug_starts
from ._predict import check_batch_size, check_estimator, predict_batched, read_sequences

__all__ = ["score_variants"]

#: Prediction scale → factor turning ``alt - ref`` into log2(alt / ref) on the linear scale.
_LOG_FACTORS = {"log2": 1.0, "ln": 1.0 / math.log(2.0), "log10": math.log2(10.0)}
SCALES = ("linear", *_LOG_FACTORS)


def _variant_type(ref_len: int, alt_len: int) -> str:
    if ref_len == alt_len:
        return {0: "none", 1: "SNV"}.get(ref_len, "MNV")
    if ref_len == 0:
        return "insertion"
    if alt_len == 0:
        return "deletion"
    return "delins"


def _paired_atgs(long: str, short: str, long_atg: list[int], short_atg: list[int]) -> int:
    """ATGs of ``short`` paired with an ATG of ``long`` across one gap of the length difference.

    ``short[:k]`` pairs with ``long[:k]`` and ``short[k:]`` with ``long[k + gap:]``. The gap
    goes where it leaves the fewest mismatched bases, so an indel that comes with
    substitutions elsewhere is placed on the indel; where several placements tie (an indel
    inside a repeat) the one pairing the most ATGs counts, so an ATG that merely slides
    along with the indel stays paired. An ATG is paired when its three bases pair with an
    ATG's: it is neither split by the gap nor moved.
    """
    gap = len(long) - len(short)
    a = np.frombuffer(long.encode(), dtype=np.uint8)
    b = np.frombuffer(short.encode(), dtype=np.uint8)
    # mismatches(k) = mismatches left of the gap + mismatches right of it, for k = 0 … len(short)
    left = np.concatenate([[0], np.cumsum(a[: len(b)] != b)])
    right = np.concatenate([np.cumsum((a[gap:] != b)[::-1])[::-1], [0]])
    cost = left + right
    long_set = set(long_atg)
    best = 0
    for k in np.flatnonzero(cost == cost.min()):
        paired = sum(
            1 for j in short_atg if not j < k < j + 3 and (j if j + 3 <= k else j + gap) in long_set
        )
        best = max(best, paired)
    return best


def _annotate(ref: str, alt: str) -> dict:
    """Edit position and the uAUG / uORF flags of one pair (see :func:`score_variants`)."""
    left = edit_span(ref, alt, shift="left")
    right = edit_span(ref, alt, shift="right")
    ref_atg, alt_atg = uaug_starts(ref), uaug_starts(alt)
    if len(ref) == len(alt):
        # Substitutions: an ATG is kept exactly when it is at the same place in both. The
        # edit span of separate changes (a phased pair of SNVs) would also cover the
        # unchanged ATGs between them.
        kept = len(set(alt_atg) & set(ref_atg))
    elif len(alt) > len(ref):
        kept = _paired_atgs(alt, ref, alt_atg, ref_atg)
    else:
        kept = _paired_atgs(ref, alt, ref_atg, alt_atg)
    gained, lost = len(alt_atg) - kept, len(ref_atg) - kept
    shift = len(alt) - len(ref)
    kind = _variant_type(left.ref_end - left.start, left.alt_end - left.start)
    ref_orfs, alt_orfs = orf_signature(ref), orf_signature(alt)
    return {
        "variant_type": kind,
        "position": pd.NA if kind == "none" else left.start + 1,
        "distance_to_start": pd.NA if kind == "none" else left.start - len(ref),
        "length_change": shift,
        "n_uaug_ref": len(ref_atg),
        "n_uaug_alt": len(alt_atg),
        "creates_uaug": gained > 0,
        "destroys_uaug": lost > 0,
        "frame_shift": shift % 3 != 0 and any(i + 3 <= right.start for i in ref_atg),
        "n_uorf_ref": _count_uorfs(ref_orfs),
        "n_uorf_alt": _count_uorfs(alt_orfs),
        "uorf_change": ref_orfs != alt_orfs,
    }


def _count_uorfs(signature) -> int:
    return sum(n for (kind, _), n in signature.items() if kind == "uorf")


def _log2_fold_change(ref_pred: np.ndarray, alt_pred: np.ndarray, scale: str) -> np.ndarray:
    if scale != "linear":
        return (alt_pred - ref_pred) * _LOG_FACTORS[scale]
    positive = (ref_pred > 0) & (alt_pred > 0)
    if not positive.all():
        warnings.warn(
            "log2_fold_change is NaN where a prediction is not positive (log2(alt / ref) is "
            f"undefined), at {format_rows(np.flatnonzero(~positive))}; pass scale='ln', "
            "'log2' or 'log10' if the model predicts a logarithm.",
            UserWarning,
            stacklevel=3,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(positive, np.log2(alt_pred / ref_pred), np.nan)


def score_variants(
    estimator,
    ref,
    alt=None,
    *,
    ids=None,
    sequence_column: str = "sequence",
    scale: str = "linear",
    output: int | None = None,
    batch_size: int = 4096,
) -> pd.DataFrame:
    """Predict reference and alternative UTRs and annotate what each variant changes.

    Each pair is a whole reference UTR and the same UTR carrying the variant (an SNV, a
    multi-base substitution, an insertion, a deletion or a combination), both ending right
    before the start codon.

    Parameters
    ----------
    estimator : estimator
        Fitted; ``predict`` takes raw sequences. Indels change the length: a fixed-length
        model (Optimus) then needs ``truncate=True`` or room in its ``max_len``.
    ref : array-like of shape (n_variants,) or DataFrame
        Reference sequences; or a DataFrame with columns ``ref`` and ``alt``, an optional
        ``id``, and any other columns the estimator needs (a library label, for instance),
        which go with both sequences of the row.
    alt : array-like of shape (n_variants,) or None, default=None
        Alternative sequences; None when ``ref`` is a DataFrame.
    ids : array-like of shape (n_variants,) or None, default=None
        Variant identifiers; the ``id`` column, the index of a pandas input, or ``0 … n - 1``
        when None.
    sequence_column : str, default="sequence"
        Name of the sequence column the estimator reads, used when the other columns of a
        DataFrame are passed along.
    scale : {"linear", "ln", "log2", "log10"}, default="linear"
        Scale of the predictions, which decides ``log2_fold_change``: ``"linear"`` for
        values such as the mean ribosome load, ``"ln"`` for natural logs (the Cao et al. TE /
        expression targets of :func:`~sklearn_dynapro.datasets.load_cao2021_te`), and so on.
    output : int or None, default=None
        Which column to use when the estimator predicts several targets; required then.
    batch_size : int, default=4096
        Sequences per ``predict`` call.

    Returns
    -------
    variants : DataFrame of shape (n_variants, 19)
        In input order. Writing ``L`` for the reference length:

        - ``id``, ``ref``, ``alt``.
        - ``variant_type``: ``"SNV"``, ``"MNV"``, ``"insertion"``, ``"deletion"``,
          ``"delins"`` or ``"none"`` (identical sequences), from the smallest edit.
        - ``position``: 1-based position in ``ref`` of the first edited base, the edit
          shifted 5'-most (as in VCF); for an insertion, the base the inserted bases precede
          (``L + 1`` right before the start codon). ``distance_to_start``: ``position - L - 1``
          (-1 is the base before the ATG). Both ``<NA>`` for ``"none"``.
        - ``length_change``: ``len(alt) - len(ref)``.
        - ``ref_prediction``, ``alt_prediction``, ``delta`` = alt − ref.
        - ``log2_fold_change``: log2 of alt over ref on the linear scale. With
          ``scale="linear"`` it is ``log2(alt / ref)`` where both predictions are positive
          and NaN (with a warning naming the rows) where either is not, since a ratio of
          non-positive values has no logarithm. With a log scale it is the difference,
          converted to base 2: ``delta`` for ``"log2"``, ``delta / ln 2`` for ``"ln"``,
          ``delta · log2 10`` for ``"log10"``.
        - ``n_uaug_ref``, ``n_uaug_alt``: ``ATG`` triplets wholly inside each UTR (upstream
          AUGs; none can straddle the UTR/CDS junction because the CDS starts with ATG).
        - ``creates_uaug`` / ``destroys_uaug``: an ``ATG`` of ``alt`` / ``ref`` has no
          counterpart in the other sequence. Bases pair by position when the lengths are
          equal; otherwise ``alt`` is aligned to ``ref`` with one gap of the length change,
          placed where it leaves the fewest mismatched bases (so an indel that comes with a
          distant substitution is placed on the indel), and among equally good placements
          (an indel inside a repeat) the one that pairs the most ATGs. An ATG has a
          counterpart when its three bases pair with an ATG's: one that has a base in the
          gap, is split by it or sits on a substitution has none. An ATG that only slides
          along with an indel inside a repeat is neither; a substitution that moves a uAUG
          sets both. A net gain of uAUGs always sets ``creates_uaug``, a net loss
          ``destroys_uaug``.
        - ``frame_shift``: the length change is not a multiple of 3 and a uAUG of ``ref``
          lies wholly 5' of the edit (3'-most placement), so its reading frame relative to
          the start codon changes (for instance a uORF turns into an overlapping ORF or an
          N-terminal extension, or the reverse).
        - ``n_uorf_ref``, ``n_uorf_alt``: uAUGs with an in-frame stop codon (TAA, TAG, TGA)
          wholly inside the UTR (upstream ORFs), as in
          :class:`~sklearn_dynapro.features.BiophysicalFeatures`.
        - ``uorf_change``: the upstream ORFs differ, comparing for each uAUG its kind and
          shape: a uORF by its length (uAUG to stop, in nt), an ORF without a stop in the UTR
          by its frame relative to the start codon (0: N-terminal extension, 1 or 2:
          overlapping ORF). A variant outside every uAUG's ORF, or one that keeps all ORF
          lengths and frames, leaves it False.

    Raises
    ------
    ValueError
        If a sequence is invalid (the message names ``ref`` or ``alt`` and the rows), the
        two inputs differ in length, or ``scale`` is unknown.

    Examples
    --------
    >>> from sklearn_dynapro.baselines import make_kmer_baseline
    >>> from sklearn_dynapro.datasets import load_mpra_random50
    >>> from sklearn_dynapro.interpret import score_variants
    >>> X, y = load_mpra_random50()
    >>> model = make_kmer_baseline(k_range=(1, 3)).fit(X[:500], y[:500])
    >>> out = score_variants(model, ["GCCGCCACC"], ["GCCATGACC"])
    >>> out[["variant_type", "creates_uaug", "n_uaug_alt"]].to_dict("records")
    [{'variant_type': 'MNV', 'creates_uaug': True, 'n_uaug_alt': 1}]
    """
    check_estimator(estimator)
    batch_size = check_batch_size(batch_size)
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}.")
    context = None
    if isinstance(ref, pd.DataFrame):
        frame = ref
        missing = [c for c in ("ref", "alt") if c not in frame.columns]
        if missing or alt is not None:
            raise ValueError(
                "ref must be a DataFrame with columns 'ref' and 'alt' (and alt=None), or alt "
                f"must be given; got columns {list(frame.columns)} and alt={type(alt).__name__}."
            )
        if ids is None and "id" in frame.columns:
            ids = frame["id"].to_numpy(dtype=object)
        others = [c for c in frame.columns if c not in ("ref", "alt", "id")]
        if others:
            context = frame[others].reset_index(drop=True)
        ref, alt = frame["ref"], frame["alt"]
    elif alt is None:
        raise ValueError(
            "alt must be given (the alternative sequences) unless ref is a DataFrame with "
            "'ref' and 'alt' columns, got None."
        )
    ref_seqs, _, index = read_sequences(ref, name="ref", sequence_column=sequence_column)
    alt_seqs, _, _ = read_sequences(alt, name="alt", sequence_column=sequence_column)
    n = ref_seqs.shape[0]
    if alt_seqs.shape[0] != n:
        raise ValueError(
            f"ref and alt must hold the same number of sequences, got {n} and {alt_seqs.shape[0]}."
        )
    ids = index if ids is None else np.asarray(ids, dtype=object)
    if ids.shape != (n,):
        raise ValueError(f"ids must have shape ({n},) to match the variants, got {ids.shape}.")

    kwargs = {
        "context": context,
        "sequence_column": sequence_column,
        "output": output,
        "batch_size": batch_size,
    }
    ref_pred = predict_batched(estimator, ref_seqs, what="reference sequences", **kwargs)
    alt_pred = predict_batched(estimator, alt_seqs, what="alternative sequences", **kwargs)
    notes = pd.DataFrame([_annotate(r, a) for r, a in zip(ref_seqs, alt_seqs, strict=True)])
    for column in ("position", "distance_to_start"):
        notes[column] = notes[column].astype("Int64")
    head = pd.DataFrame(
        {"id": ids, "ref": ref_seqs, "alt": alt_seqs, "variant_type": notes.pop("variant_type")}
    )
    scores = pd.DataFrame(
        {
            "ref_prediction": ref_pred,
            "alt_prediction": alt_pred,
            "delta": alt_pred - ref_pred,
            "log2_fold_change": _log2_fold_change(ref_pred, alt_pred, scale),
        }
    )
    edit = notes[["position", "distance_to_start", "length_change"]]
    flags = notes.drop(columns=edit.columns)
    return pd.concat([head, edit, scores, flags], axis=1)
