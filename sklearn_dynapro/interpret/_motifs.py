"""Motifs learned by a network's first convolution, found the Basset / MTtrans way."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ..preprocessing._padding import BASES, padded_codes
from ._activations import (
    ConvGeometry,
    check_neural_pipeline,
    layer_outputs,
    network_outputs,
    resolve_layer,
    sequence_array,
    token_size,
)
from ._plotting import information_content
from ._predict import check_batch_size, read_sequences

__all__ = ["find_motifs"]

RANKINGS = ("sites_ic", "influence", "n_sites", "information_content")
MOTIF_COLUMNS = (
    "rank",
    "filter",
    "n_sites",
    "consensus",
    "information_content",
    "score",
    "max_activation",
    "influence",
    "effect",
    "pwm",
    "counts",
)


def _consensus(pwm: np.ndarray) -> str:
    """Most probable base of each position, ``N`` where none reaches one half."""
    best, top = pwm.argmax(axis=1), pwm.max(axis=1)
    return "".join(BASES[b] if p >= 0.5 else "N" for b, p in zip(best, top, strict=True))


def _check_params(threshold, top, min_sites, rank_by, influence_samples) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a number in (0, 1], got {threshold!r}.")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a number in (0, 1], got {threshold!r}.")
    for name, value, allow_none in (
        ("top", top, True),
        ("min_sites", min_sites, False),
        ("influence_samples", influence_samples, False),
    ):
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if rank_by not in RANKINGS:
        raise ValueError(f"rank_by must be one of {RANKINGS}, got {rank_by!r}.")


def find_motifs(
    estimator,
    sequences,
    *,
    layer: str | None = None,
    threshold: float = 0.5,
    top: int | None = 20,
    min_sites: int = 10,
    rank_by: str = "sites_ic",
    influence_samples: int = 1000,
    sequence_column: str = "sequence",
    batch_size: int = 256,
) -> pd.DataFrame:
    """Turn the filters of a convolution into sequence motifs (position probability matrices).

    The method of Basset (Kelley et al. 2016) as MTtrans (Zheng et al. 2023) applies it to
    5' UTRs: run the sequences through the fitted network, record each filter's activation at
    every position, and keep the positions where it reaches ``threshold`` times that filter's
    maximum over the whole data set. The sequence windows under those positions (the layer's
    receptive field) are stacked into a count matrix per filter, normalised to a position
    probability matrix, and the filters are ranked.

    Works with :func:`~sklearn_dynapro.baselines.make_optimus_pipeline`,
    :func:`~sklearn_dynapro.baselines.make_framepool_pipeline`,
    :func:`~sklearn_dynapro.baselines.make_mttrans_pipeline` (one-hot input) and
    :func:`~sklearn_dynapro.make_dynapro_pipeline` (token input; the default layer is the
    convolution branch of the first refinement layer, which reads the normalised embedding).
    The sequences go through the pipeline's encoding steps (``estimator[:-1].transform``);
    the layer is read with a forward hook on ``estimator[-1].module_``.

    Parameters
    ----------
    estimator : Pipeline
        Fitted pipeline ending in a neural regressor of this library.
    sequences : array-like of shape (n_sequences,) or DataFrame
        Sequences to scan (typically the training or test set); a DataFrame carries the
        columns the pipeline needs (``sequence_column``, a library label…).
    layer : str or None, default=None
        Name of a ``torch.nn.Conv1d`` in ``estimator[-1].module_.named_modules()``; the first
        one when None. Only a convolution applied position by position to the input is
        supported (its receptive field is its kernel): this is checked by changing one input
        position at a time on a probe sequence, and a deeper layer raises a ValueError. (A
        DynaPro network with ``module__backbone=True`` has no such layer: its convolutions
        read the output of the backbone's attention.)
    threshold : float in (0, 1], default=0.5
        A position is a site of a filter when the activation reaches ``threshold`` times the
        filter's maximum over all valid positions of ``sequences``. Filters whose maximum is
        not positive have no sites.
    top : int or None, default=20
        Number of motifs returned (the best ranked); all when None.
    min_sites : int, default=10
        Filters with fewer sites are left out.
    rank_by : {"sites_ic", "influence", "n_sites", "information_content"}, \
            default="sites_ic"
        Ranking score. ``"sites_ic"``: ``n_sites × information_content``, frequent *and*
        specific filters first (no extra cost). ``"influence"``: how much the predictions
        move when the filter is silenced, as in Basset: its activation is replaced at every
        position by its mean over the valid windows of ``sequences``, and the root mean
        square change of the network output is measured on ``influence_samples`` of the
        sequences (one forward pass over them per filter, so it costs
        ``n_filters × influence_samples`` predictions). ``"n_sites"``, ``"information_content"``:
        either factor alone.
    influence_samples : int, default=1000
        Sequences (evenly spaced through ``sequences``) on which influence is measured; used
        only with ``rank_by="influence"``.
    sequence_column : str, default="sequence"
        Column of a DataFrame ``sequences`` holding the sequences.
    batch_size : int, default=256
        Sequences per forward pass. The network runs only up to the layer (the pass stops
        there), twice: once for the maxima, once for the sites.

    Returns
    -------
    motifs : DataFrame of shape (n_motifs, 11)
        Best first, with columns

        - ``rank`` (1-based), ``filter`` (output channel of the layer);
        - ``n_sites``: windows above the threshold;
        - ``consensus``: most probable base per position, ``N`` where none has p ≥ 0.5;
        - ``information_content``: sum over positions of ``2 + Σ p log2 p`` (bits, uniform
          background);
        - ``score``: the ranking score;
        - ``max_activation``: the filter's maximum over the data set;
        - ``influence``: root mean square change of the output when the filter is silenced,
          and ``effect``: mean of (output − output with the filter silenced), both in
          standard deviations of the training target (averaged over targets); a negative
          ``effect`` marks a filter whose sites lower the prediction (as an upstream AUG lowers
          the ribosome load). NaN unless ``rank_by="influence"``;
        - ``pwm``: ndarray of shape (width, 4), float64, the position probability matrix,
          columns ``A, C, G, T``, each row summing to 1 (what MEME calls a letter-probability
          matrix);
        - ``counts``: ndarray of shape (width, 4), int64, the position frequency matrix.

        ``width`` is the kernel size (plus ``k - 1`` with k-mer tokens). Windows are read
        5' → 3' whatever the orientation inside the network. ``motifs.attrs`` holds
        ``layer``, ``threshold`` and ``background`` (base frequencies of ``sequences`` with
        one pseudocount per base, so none is 0; for :func:`to_meme`).

    Raises
    ------
    TypeError
        If ``estimator`` is not a pipeline ending in a neural regressor.
    ValueError
        For invalid sequences (rows named), an unknown or unsupported ``layer``, or bad
        parameters.

    Notes
    -----
    Windows that overlap the 5' padding, the layer's own zero padding, or an ``N`` are not
    sites. Because the threshold is relative to each filter's own maximum, broadly tuned
    filters collect many sites, and ``"sites_ic"`` tends to rank them high; ``"influence"``
    ranks by what the model does with a filter (on an Optimus model trained briefly on
    random 50-nt UTRs it put an ``ATG`` filter, which lowers the predicted ribosome load,
    first, see ``benchmarks/motifs.py``). The activations are those of the convolution
    itself, before the batch norm or non-linearity that follows it.
    """
    _check_params(threshold, top, min_sites, rank_by, influence_samples)
    batch_size = check_batch_size(batch_size)
    encoder, net = check_neural_pipeline(estimator)
    seqs, context, _ = read_sequences(sequences, name="sequences", sequence_column=sequence_column)
    name, conv = resolve_layer(net.module_, layer)
    k = token_size(encoder)
    data = net._check_inputs(encoder.transform(sequences))
    n_bases = sequence_array(data)[1].shape[-1] + k - 1

    # A random sequence that fills the input width, to probe the layer's geometry.
    probe = "".join(np.random.default_rng(0).choice(list(BASES), n_bases))
    if context is None:
        probe_input = [probe]
    else:
        probe_input = context.iloc[[0]].reset_index(drop=True)
        probe_input[sequence_column] = [probe]
    geometry = ConvGeometry.probe(
        net, net._check_inputs(encoder.transform(probe_input)), conv, k=k, layer=name
    )

    # Base codes in the network's 5'-padded layout (the encoder kept the 3' end of any
    # sequence it truncated): 0-3 for ACGT, 4 for N, 5 for padding.
    codes = padded_codes(np.array([s[-n_bases:] for s in seqs], dtype=object), n_bases)
    width = geometry.width
    unusable = np.zeros((codes.shape[0], n_bases + 1), dtype=np.int32)
    np.cumsum(codes >= 4, axis=1, out=unusable[:, 1:])
    lo = geometry.lo
    hi = np.minimum(lo + width, n_bases)
    valid = geometry.valid[None, :] & (unusable[:, hi] == unusable[:, lo])

    n_filters = conv.out_channels
    maxima = np.full(n_filters, -np.inf)
    totals = np.zeros(n_filters)
    row = 0
    for _, out in layer_outputs(net, data, conv, batch_size=batch_size):
        act = out.numpy()
        mask = valid[row : row + act.shape[0], None, :]
        if mask.any():
            maxima = np.maximum(maxima, np.where(mask, act, -np.inf).max(axis=(0, 2)))
            totals += np.where(mask, act, 0.0).sum(axis=(0, 2))
        row += act.shape[0]
    cutoff = np.where(maxima > 0, threshold * maxima, np.inf)

    counts = np.zeros(n_filters * width * 4, dtype=np.int64)
    n_sites = np.zeros(n_filters, dtype=np.int64)
    offsets = np.arange(width)
    row = 0
    for _, out in layer_outputs(net, data, conv, batch_size=batch_size):
        act = out.numpy()
        hits = (act >= cutoff[None, :, None]) & valid[row : row + act.shape[0], None, :]
        seq_i, filt, pos = np.nonzero(hits)
        windows = codes[row + seq_i[:, None], lo[pos][:, None] + offsets]
        flat = ((filt[:, None] * width + offsets) * 4 + windows).ravel()
        counts += np.bincount(flat, minlength=counts.size)
        n_sites += np.bincount(filt, minlength=n_filters)
        row += act.shape[0]
    counts = counts.reshape(n_filters, width, 4)

    kept = np.flatnonzero(n_sites >= min_sites)
    influence = np.full(n_filters, np.nan)
    effect = np.full(n_filters, np.nan)
    if rank_by == "influence" and kept.size:
        n = codes.shape[0]
        sample = np.unique(np.linspace(0, n - 1, min(n, influence_samples)).round().astype(int))
        subset = {k: v[sample] for k, v in data.items()} if isinstance(data, dict) else data[sample]
        means = totals / max(1, int(valid.sum()))
        full = network_outputs(net, subset, conv, batch_size=batch_size)
        for f in kept:
            silenced = network_outputs(
                net, subset, conv, batch_size=batch_size, channel=int(f), value=float(means[f])
            )
            change = full - silenced
            influence[f] = float(np.sqrt(np.mean(change**2)))
            effect[f] = float(change.mean())

    records = []
    for f in kept:
        pwm = counts[f] / n_sites[f]
        ic = float(information_content(pwm).sum())
        score = {
            "sites_ic": n_sites[f] * ic,
            "influence": influence[f],
            "n_sites": n_sites[f],
            "information_content": ic,
        }
        records.append(
            {
                "filter": int(f),
                "n_sites": int(n_sites[f]),
                "consensus": _consensus(pwm),
                "information_content": ic,
                "score": float(score[rank_by]),
                "max_activation": float(maxima[f]),
                "influence": influence[f],
                "effect": effect[f],
                "pwm": pwm,
                "counts": counts[f].copy(),
            }
        )
    records.sort(key=lambda r: (-r["score"], r["filter"]))
    records = records[:top] if top is not None else records
    motifs = pd.DataFrame(records, columns=list(MOTIF_COLUMNS[1:]))
    motifs.insert(0, "rank", np.arange(1, len(motifs) + 1))
    real = codes[codes < 4]
    # One pseudocount per base: a base absent from the data would otherwise get frequency 0,
    # which a MEME background (and so to_meme) cannot hold.
    frequencies = (np.bincount(real, minlength=4) + 1) / (real.size + 4)
    motifs.attrs.update(
        layer=name,
        threshold=float(threshold),
        background=dict(zip(BASES, frequencies.tolist(), strict=True)),
    )
    return motifs
