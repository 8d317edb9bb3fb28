"""Pre-trained backbone weights: the saved format, and what fine-tuning may be given.

``DynaProRegressor(pretrained=...)`` accepts a fitted :class:`UTRLanguageModel` (also inside
:class:`sklearn.frozen.FrozenEstimator`), the path of a file written by
:meth:`UTRLanguageModel.save_backbone`, the dict such a file holds, or a bare ``state_dict`` of
a :class:`~sklearn_dynapro.nn.UTRLMBackbone` (keys may carry the ``backbone.`` prefix of a
:class:`~sklearn_dynapro.nn.DynaProNet` or pre-training network). Every form resolves here to
the backbone's ``state_dict`` and the ``DynaProNet`` arguments that give it the same shape.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping

import torch
from sklearn.frozen import FrozenEstimator
from torch import Tensor

from ..preprocessing._tokenizer import token_size

__all__ = [
    "CHECKPOINT_FORMAT",
    "backbone_digest",
    "backbone_module_params",
    "backbone_token_size",
    "load_backbone",
    "save_backbone",
]

#: Tag of the files written by :func:`save_backbone`.
CHECKPOINT_FORMAT = "sklearn_dynapro.backbone"
_CHECKPOINT_VERSION = 1
_PREFIX = "backbone."
_LAYER = re.compile(r"encoder\.layers\.(\d+)\.")


def save_backbone(path, state_dict: Mapping[str, Tensor], config: dict, k: int) -> None:
    """Write backbone weights and their shape to ``path`` with :func:`torch.save`.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    state_dict : mapping of str to Tensor
        ``UTRLMBackbone.state_dict()``.
    config : dict
        ``DynaProNet`` arguments of that shape (see :func:`load_backbone`).
    k : int
        Token size the backbone was trained on.
    """
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": _CHECKPOINT_VERSION,
        "k": int(k),
        "config": dict(config),
        "state_dict": {name: t.detach().cpu() for name, t in state_dict.items()},
    }
    torch.save(payload, path)


def _strip_prefix(state_dict: Mapping) -> dict[str, Tensor]:
    bad = [name for name, value in state_dict.items() if not isinstance(value, Tensor)]
    if bad or not state_dict:
        raise ValueError(
            "pretrained must map parameter names to tensors, got "
            + (f"non-tensor values at keys {bad[:5]}." if bad else "an empty mapping.")
        )
    if any(name.startswith(_PREFIX) for name in state_dict):
        return {n[len(_PREFIX) :]: t for n, t in state_dict.items() if n.startswith(_PREFIX)}
    return dict(state_dict)


def _infer_config(state: dict[str, Tensor]) -> dict:
    """``DynaProNet`` backbone arguments read off the tensor shapes (heads cannot be)."""
    tokens = state.get("embedding.tokens.weight")
    ffn = state.get("encoder.layers.0.linear1.weight")
    if tokens is None or ffn is None:
        raise ValueError(
            "pretrained must hold UTRLMBackbone weights (keys such as "
            "'embedding.tokens.weight' and 'encoder.layers.0.linear1.weight'), got keys "
            f"{sorted(state)[:5]}..."
        )
    layers = {int(m.group(1)) for name in state if (m := _LAYER.match(name))}
    config = {
        "backbone": True,
        "vocab_size": int(tokens.shape[0]),
        "backbone_dim": int(tokens.shape[1]),
        "backbone_layers": len(layers),
        "backbone_ffn": int(ffn.shape[0]),
        "position": "learned" if "embedding.positions.weight" in state else "sinusoidal",
    }
    if config["position"] == "learned":
        config["max_positions"] = int(state["embedding.positions.weight"].shape[0])
    return config


def load_backbone(pretrained) -> tuple[dict[str, Tensor], dict]:
    """Resolve any accepted form of pre-trained weights.

    Parameters
    ----------
    pretrained : UTRLanguageModel, FrozenEstimator, str, os.PathLike or dict
        See the module notes.

    Returns
    -------
    state_dict : dict of str to Tensor
        Keys of :class:`~sklearn_dynapro.nn.UTRLMBackbone` (no ``backbone.`` prefix), on the
        CPU.
    config : dict
        ``DynaProNet`` arguments the weights need: ``backbone=True``, ``vocab_size``,
        ``backbone_dim``, ``backbone_layers``, ``backbone_ffn``, ``position``, and when known
        ``backbone_heads`` and (learned positions only) ``max_positions``.
    """
    if isinstance(pretrained, FrozenEstimator):
        pretrained = pretrained.estimator
    if hasattr(pretrained, "backbone_params_") or hasattr(pretrained, "save_backbone"):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(pretrained, "backbone_state_dict_")
        state = dict(pretrained.backbone_state_dict_)
        config = dict(pretrained.backbone_params_)
    elif isinstance(pretrained, str | os.PathLike):
        if not os.path.isfile(pretrained):
            raise ValueError(f"pretrained must be an existing file, got {str(pretrained)!r}.")
        payload = torch.load(pretrained, map_location="cpu", weights_only=True)
        if not isinstance(payload, Mapping):
            raise ValueError(
                f"pretrained file {str(pretrained)!r} must hold a dict of weights, got "
                f"{type(payload).__name__}."
            )
        return load_backbone(payload)
    elif isinstance(pretrained, Mapping):
        if pretrained.get("format") == CHECKPOINT_FORMAT:
            state = _strip_prefix(pretrained["state_dict"])
            config = dict(pretrained["config"])
        else:
            state = _strip_prefix(pretrained)
            config = {}
    else:
        raise TypeError(
            "pretrained must be a fitted UTRLanguageModel, a path to saved backbone weights or "
            f"a state dict, got {type(pretrained).__name__}."
        )
    shapes = _infer_config(state)
    clash = {
        key: (config[key], value)
        for key, value in shapes.items()
        if config.get(key, value) != value
    }
    if clash:
        raise ValueError(f"pretrained weights do not match their own config: {clash}.")
    return state, {**shapes, **config}


def backbone_token_size(pretrained) -> int:
    """Token size ``k`` that pre-trained weights were trained on.

    Parameters
    ----------
    pretrained : UTRLanguageModel, FrozenEstimator, str, os.PathLike or dict
        Any form :func:`load_backbone` accepts.

    Returns
    -------
    k : int
        The ``k`` a fitted model trained with; otherwise the one that gives the weights'
        vocabulary (``4**k + 3`` token ids); 1 when neither tells.
    """
    if isinstance(pretrained, FrozenEstimator):
        pretrained = pretrained.estimator
    tokenizer = getattr(pretrained, "tokenizer_", None)
    if tokenizer is not None:  # a fitted model: the k it trained with, whatever k says now
        return tokenizer.k
    _, config = load_backbone(pretrained)
    vocab = config.get("vocab_size")
    return token_size(vocab) or 1


def backbone_digest(pretrained) -> str:
    """SHA-256 of the weights and shape that ``pretrained`` resolves to.

    Two forms of the same weights (a fitted model, its saved file, the dict in that file)
    give the same digest; a file rewritten with other weights gives another one.

    Parameters
    ----------
    pretrained : UTRLanguageModel, FrozenEstimator, str, os.PathLike or dict
        Any form :func:`load_backbone` accepts.

    Returns
    -------
    digest : str
        64 hex digits.
    """
    state, config = load_backbone(pretrained)
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f";{name}:{tensor.dtype}:{tuple(tensor.shape)}:".encode())
        # Raw bytes through a uint8 view: numpy has no bfloat16.
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def backbone_module_params(config: dict, module_params: Mapping) -> dict:
    """``module__`` arguments that make ``DynaProNet`` fit the pre-trained backbone.

    Parameters
    ----------
    config : dict
        From :func:`load_backbone`.
    module_params : mapping
        The ``module__`` arguments set on the estimator (without the prefix).

    Returns
    -------
    dict
        ``config``: the values to force on the network.

    Raises
    ------
    ValueError
        If an argument set by hand contradicts the pre-trained backbone.
    """
    clash = [
        f"module__{key}={module_params[key]!r} (pretrained: {value!r})"
        for key, value in config.items()
        if key in module_params and module_params[key] != value
    ]
    if clash:
        raise ValueError(
            "module parameters must match the pretrained backbone, got "
            + ", ".join(clash)
            + ". Drop them, or encode with the pre-training k (vocab_size = 4**k + 3)."
        )
    return dict(config)
