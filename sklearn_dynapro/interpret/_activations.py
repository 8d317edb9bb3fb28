"""Convolution activations of a fitted neural pipeline, and where each one looks in the sequence.

The networks here feed their first convolution very differently: Optimus pads the one-hot
input itself, MTtrans flips it so the start codon comes first, DynaPro embeds tokens and
normalises them. Rather than encode each layout by hand, :func:`column_map` finds out which
input column feeds each column of the layer's input by changing one input column at a time
on a probe sequence; a layer whose input mixes positions (a deeper convolution, or one after
attention) is detected and refused, because its receptive field is no longer one window.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from torch import nn

from ..preprocessing import SequenceTokenizer, vocabulary_size

__all__ = [
    "ConvGeometry",
    "check_neural_pipeline",
    "conv_layers",
    "layer_outputs",
    "network_outputs",
    "resolve_layer",
    "sequence_array",
    "token_size",
]


class _StopForward(Exception):
    """Raised by the hook once the layer has run: nothing after it is needed."""


def check_neural_pipeline(estimator):
    """Split a fitted pipeline into (encoding steps, neural regressor), or raise a TypeError."""
    net = estimator[-1] if isinstance(estimator, Pipeline) and len(estimator) > 1 else None
    if net is None or not hasattr(net, "_check_inputs") or not hasattr(net, "infer"):
        raise TypeError(
            "estimator must be a Pipeline of encoding steps ending in one of this library's "
            "neural regressors (make_optimus_pipeline(), make_framepool_pipeline(), "
            f"make_mttrans_pipeline(), make_dynapro_pipeline()), got {type(estimator).__name__}"
            + (f" ending in {type(net).__name__}" if isinstance(estimator, Pipeline) else "")
            + "."
        )
    net.check_is_fitted()
    return estimator[:-1], net


def conv_layers(module: nn.Module) -> list[tuple[str, nn.Conv1d]]:
    """Every ``Conv1d`` of ``module`` with its name, in registration order."""
    return [(name, m) for name, m in module.named_modules() if isinstance(m, nn.Conv1d)]


def resolve_layer(module: nn.Module, layer: str | None) -> tuple[str, nn.Conv1d]:
    """The convolution named ``layer`` (the first one when None), or a ValueError."""
    convs = conv_layers(module)
    if not convs:
        raise ValueError(f"layer: the network {type(module).__name__} has no Conv1d layer.")
    if layer is None:
        return convs[0]
    found = dict(convs)
    if layer not in found:
        raise ValueError(
            f"layer must name a Conv1d of {type(module).__name__}, one of "
            f"{[name for name, _ in convs]}, got {layer!r}."
        )
    return layer, found[layer]


def token_size(encoder: Pipeline) -> int:
    """Bases per input column: the tokenizer's ``k``, or 1 for one-hot input."""
    for _, step in encoder.steps:
        tokenizer = getattr(step, "tokenizer_", step)
        if isinstance(tokenizer, SequenceTokenizer):
            return int(tokenizer.k)
    return 1


def sequence_array(data) -> tuple[str | None, np.ndarray]:
    """The per-position array of the network input: its dict key and the array itself."""
    if isinstance(data, dict):
        for key in ("onehot", "tokens"):
            if key in data:
                return key, data[key]
        raise ValueError(
            f"the network input must hold 'onehot' or 'tokens', got keys {sorted(data)}."
        )
    return None, data


def _rows(data, rows):
    if isinstance(data, dict):
        return {key: value[rows] for key, value in data.items()}
    return data[rows]


@contextmanager
def _evaluation(module: nn.Module):
    """Evaluation mode (no dropout, running batch-norm statistics), restored afterwards."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, mode in modes:
            m.train(mode)


def layer_outputs(
    net, data, conv: nn.Conv1d, *, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Run the network up to ``conv`` batch by batch, yielding its (input, output) on the CPU.

    Parameters
    ----------
    net : SequenceNetRegressor
        Fitted regressor; ``net.infer`` feeds the module as prediction does.
    data : ndarray or dict of ndarray
        Checked network input (``net._check_inputs`` of the encoded sequences).
    conv : torch.nn.Conv1d
        A layer of ``net.module_``.
    batch_size : int
        Rows per forward pass.

    Yields
    ------
    inputs : Tensor of shape (batch, in_channels, width_in), float32
        What the layer received, before its own padding.
    outputs : Tensor of shape (batch, out_channels, width_out), float32
        Its activations (before any normalisation or non-linearity that follows).
    """
    n = len(sequence_array(data)[1])
    captured: dict[str, torch.Tensor] = {}

    def hook(module, args, output):
        captured["input"] = args[0].detach().float().cpu()
        captured["output"] = output.detach().float().cpu()
        raise _StopForward

    with _evaluation(net.module_):
        handle = conv.register_forward_hook(hook)
        try:
            for lo in range(0, n, batch_size):
                captured.clear()
                try:
                    net.infer(_rows(data, slice(lo, lo + batch_size)))
                except _StopForward:
                    pass
                if not captured:
                    raise ValueError("layer: the chosen Conv1d is not used by the forward pass.")
                yield captured["input"], captured["output"]
        finally:
            handle.remove()


def network_outputs(
    net,
    data,
    conv: nn.Conv1d,
    *,
    batch_size: int,
    channel: int | None = None,
    value: float = 0.0,
) -> np.ndarray:
    """The network's raw (standardised) outputs, optionally with one channel of ``conv`` fixed.

    Parameters
    ----------
    net : SequenceNetRegressor
        Fitted regressor.
    data : ndarray or dict of ndarray
        Checked network input.
    conv : torch.nn.Conv1d
        A layer of ``net.module_``.
    batch_size : int
        Rows per forward pass.
    channel : int or None, default=None
        Output channel of ``conv`` replaced by ``value`` at every position; None runs the
        network unchanged.
    value : float, default=0.0
        The constant activation of ``channel``.

    Returns
    -------
    outputs : ndarray of shape (n_samples, n_outputs), float64
        Module outputs, on the standardised target scale.
    """
    n = len(sequence_array(data)[1])

    def hook(module, args, output):
        output = output.clone()
        output[:, channel] = value
        return output

    chunks = []
    with _evaluation(net.module_):
        handle = conv.register_forward_hook(hook) if channel is not None else None
        try:
            for lo in range(0, n, batch_size):
                out = net.infer(_rows(data, slice(lo, lo + batch_size)))
                chunks.append(out.detach().float().cpu().numpy().reshape(out.shape[0], -1))
        finally:
            if handle is not None:
                handle.remove()
    return np.concatenate(chunks).astype(np.float64)


def _perturb(array: np.ndarray, column: int, k: int) -> None:
    """Change the base (one-hot) or token at ``column`` of the single row ``array[0]``."""
    if array.ndim == 3:  # one-hot (1, 4, width): move the 1 to the next channel
        array[0, :, column] = np.roll(array[0, :, column], 1)
        return
    n_kmers = 4**k
    first = vocabulary_size(k) - n_kmers
    array[0, column] = first + (array[0, column] - first + 1) % n_kmers


class ConvGeometry:
    """Which input columns each output position of a convolution reads.

    Attributes
    ----------
    lo : ndarray of shape (width_out,), int64
        First input column of each output position's window. Input column ``i`` (a one-hot
        position, or the k-mer token starting there) begins at base ``i`` of the 5'-padded
        sequence, so this is also the window's first base.
    valid : ndarray of shape (width_out,), bool
        False where the window runs into the layer's own padding or into columns that no
        input column feeds (e.g. a padding layer before it).
    width : int
        Bases per window: the kernel plus ``k - 1`` for k-mer tokens.
    """

    def __init__(self, lo: np.ndarray, valid: np.ndarray, width: int) -> None:
        self.lo = lo
        self.valid = valid
        self.width = width

    @classmethod
    def probe(
        cls, net, data_one, conv: nn.Conv1d, *, k: int, layer: str, batch_size: int = 64
    ) -> ConvGeometry:
        """Measure the geometry on one encoded sequence that fills the whole input width.

        Row 0 is ``data_one``; row ``i + 1`` is the same with input column ``i`` changed. The
        columns of the layer input that differ from row 0 are the ones column ``i`` feeds.

        Parameters
        ----------
        net : SequenceNetRegressor
            Fitted regressor.
        data_one : ndarray or dict of ndarray
            Checked network input of one sequence without padding.
        conv : torch.nn.Conv1d
            The layer.
        k : int
            Bases per input column (token size).
        layer : str
            The layer's name, for messages.
        batch_size : int, default=64
            Rows per forward pass.

        Returns
        -------
        ConvGeometry

        Raises
        ------
        ValueError
            If one input column feeds several columns of the layer input (the layer reads
            mixed positions), or windows are not contiguous (dilation > 1).
        """
        width = sequence_array(data_one)[1].shape[-1]
        batch = _rows(data_one, np.zeros(width + 1, dtype=np.int64))
        _, arr = sequence_array(batch)
        for column in range(width):
            _perturb(arr[column + 1 : column + 2], column, k)
        inputs, outputs = [], []
        for x, y in layer_outputs(net, batch, conv, batch_size=batch_size):
            inputs.append(x)
            outputs.append(y)
        x = torch.cat(inputs)
        width_in, width_out = x.shape[-1], outputs[0].shape[-1]
        changed = ~torch.isclose(x[1:], x[:1], rtol=1e-5, atol=1e-6).all(dim=1)
        source = np.full(width_in, -1, dtype=np.int64)
        for column, hits in enumerate(changed.numpy()):
            where = np.flatnonzero(hits)
            if where.size != 1 or source[where[0]] != -1:
                raise ValueError(
                    f"layer {layer!r} must be applied position by position to the input "
                    f"sequence, but changing input column {column} changes {where.size} of its "
                    "input columns where exactly one, of its own, is expected: its input is "
                    "not the sequence itself (a deeper convolution, or one after attention, a "
                    "non-linearity or another convolution). Choose the first convolution on "
                    "the input (layer=None)."
                )
            source[where[0]] = column
        (kernel,), (stride,), (dilation,) = conv.kernel_size, conv.stride, conv.dilation
        if isinstance(conv.padding, str):
            left = 0 if conv.padding == "valid" else dilation * (kernel - 1) // 2
        else:
            left = conv.padding[0]
        taps = np.arange(width_out)[:, None] * stride - left + np.arange(kernel)[None, :] * dilation
        inside = (taps >= 0) & (taps < width_in)
        cols = np.where(inside, source[np.clip(taps, 0, width_in - 1)], -1)
        valid = (cols >= 0).all(axis=1)
        ordered = np.sort(cols[valid], axis=1)
        if valid.any() and not (np.diff(ordered, axis=1) == 1).all():
            raise ValueError(
                f"layer {layer!r} must read contiguous windows of the sequence, got a "
                f"convolution with dilation {dilation}."
            )
        lo = np.where(valid, cols.min(axis=1), 0)
        return cls(lo.astype(np.int64), valid, kernel + k - 1)
