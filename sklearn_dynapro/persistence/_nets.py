"""Neural steps (``SequenceNetRegressor`` subclasses) ↔ JSON config, safetensors and history.

A fitted net is stored as its constructor parameters (JSON, classes by name), the network
arguments it took from defaults (so a later change of a default does not change it), the fitted
attributes :meth:`predict` needs (``y_mean_``, ``module_data_params_``, …; JSON plus a
safetensors file of arrays), the network's ``state_dict`` (safetensors, on the CPU) and the
training history (JSON). ``pretrained`` (starting weights of a backbone) is stored as None:
the saved weights include them. The optimizer state is not stored: a loaded model predicts and can
be fine-tuned from its weights (``partial_fit``), not resume training where it stopped.
"""

from __future__ import annotations

import inspect
import json
import sys
import warnings

import numpy as np

from ._codec import decode, encode

__all__ = [
    "build_net",
    "is_net",
    "load_safetensors",
    "load_weights",
    "net_entry",
    "parse_net",
    "weights_bytes",
]

#: Attributes skorch manages itself; ``initialize()`` recreates them on load.
_SKORCH_RUNTIME = frozenset(
    {
        "callbacks_",
        "criterion_",
        "cuda_dependent_attributes_",
        "history_",
        "init_context_",
        "initialized_",
        "module_",
        "optimizer_",
        "prefixes_",
        "virtual_params_",
    }
)


#: Parameters that only supply starting weights for training: the saved weights already hold
#: their effect, and a path or fitted model in them may not exist where the model is loaded.
_WEIGHT_SOURCES = ("pretrained",)


def is_net(obj) -> bool:
    """Whether ``obj`` is a skorch net (without importing skorch when nothing has)."""
    net = sys.modules.get("skorch.net")
    return net is not None and isinstance(obj, net.NeuralNet)


def _plain_module(module):
    """The module itself, or the one inside a ``torch.compile`` wrapper."""
    return getattr(module, "_orig_mod", module)


def _json_bytes(obj) -> bytes:
    def default(value):
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f"history must hold JSON values, got {value!r}.")

    return (json.dumps(obj, indent=1, default=default) + "\n").encode("utf-8")


def _fitted_attributes(net) -> dict:
    registered = {f"{n}_" for n in (*net._modules, *net._criteria, *net._optimizers)}
    return {
        key: value
        for key, value in vars(net).items()
        if key.endswith("_")
        and not key.startswith("_")
        and "__" not in key
        and key not in _SKORCH_RUNTIME
        and key not in registered
    }


#: Types a recorded network default may have (JSON values that compare exactly).
_PLAIN_TYPES = (bool, int, float, str, type(None))


def _signature_defaults(cls) -> dict:
    """Keyword defaults of a network class's constructor (empty for anything else)."""
    if not isinstance(cls, type):
        return {}
    return {
        name: p.default
        for name, p in inspect.signature(cls).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _module_defaults(net) -> dict:
    """The network arguments the model took from the constructor's defaults.

    Stored so that a later version which changes a default (FramePoolNet's ``residual``)
    still builds the network the weights were trained in.
    """
    given = {key.removeprefix("module__") for key in net.get_params(deep=False)}
    given |= set(getattr(net, "module_data_params_", {}))
    return {
        key: value
        for key, value in _signature_defaults(net.module).items()
        if key not in given and type(value) in _PLAIN_TYPES
    }


def net_entry(net, *, name: str, stem: str) -> tuple[dict, dict[str, bytes]]:
    """Describe a fitted net for ``config.json`` and produce its files.

    Parameters
    ----------
    net : SequenceNetRegressor
        A fitted neural estimator.
    name : str
        Its step name (for messages).
    stem : str
        Prefix of its file names.

    Returns
    -------
    entry : dict
        The step's record in ``config.json``.
    files : dict of str to bytes
        Weights, arrays and history files, by name.
    """
    import safetensors.numpy

    from ..models._base import SequenceNetRegressor
    from ._allowlist import class_name

    if not isinstance(net, SequenceNetRegressor):
        raise TypeError(
            f"step {name!r} must be a SequenceNetRegressor (DynaProRegressor or a baseline) to "
            f"be saved, got {type(net).__name__}."
        )
    if list(net._modules) != ["module"]:
        raise TypeError(
            f"step {name!r} must hold one network (module_), got modules {list(net._modules)}."
        )
    raw = net.get_params(deep=False)
    for key in _WEIGHT_SOURCES:
        if raw.get(key) is not None:
            warnings.warn(
                f"step {name!r}: {key} is not saved, the saved weights already include it; "
                f"the loaded model has {key}=None.",
                UserWarning,
                stacklevel=3,
            )
            raw[key] = None
    arrays: dict[str, np.ndarray] = {}
    params = {
        key: encode(value, where=f"params.{key}", arrays=arrays)
        for key, value in raw.items()
        if not key.startswith("_")  # skorch lists private bookkeeping among its params
    }
    attributes = {
        key: encode(value, where=f"attributes.{key}", arrays=arrays)
        for key, value in _fitted_attributes(net).items()
    }
    files = {
        f"{stem}.weights.safetensors": weights_bytes(_plain_module(net.module_)),
        f"{stem}.arrays.safetensors": safetensors.numpy.save(arrays),
    }
    entry = {
        "name": name,
        "kind": "net",
        "class": class_name(type(net)),
        "params": params,
        "attributes": attributes,
        "weights": f"{stem}.weights.safetensors",
        "arrays": f"{stem}.arrays.safetensors",
        "module_defaults": _module_defaults(net),
    }
    history = getattr(net, "history_", None)
    if history is not None:
        entry["history"] = f"{stem}.history.json"
        files[entry["history"]] = _json_bytes(history.to_list())
    return entry, files


def weights_bytes(module) -> bytes:
    """A network's ``state_dict`` as a safetensors file (CPU copies of the tensors)."""
    import safetensors.torch

    state = {
        key: tensor.detach().to("cpu", copy=True).contiguous()
        for key, tensor in module.state_dict().items()
    }
    return safetensors.torch.save(state, metadata={"format": "pt"})


def load_weights(module, state: dict, *, file: str) -> None:
    """Load ``state`` into ``module`` strictly; a file for another network is a ValueError."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{file} must hold the weights of the configured network: {err}") from err


def _file(entry: dict, key: str, files: dict[str, bytes], where: str) -> bytes:
    name = entry.get(key)
    if not isinstance(name, str) or name not in files:
        raise ValueError(f"{where}.{key} must name a file of the model, got {name!r}.")
    return files[name]


def load_safetensors(load, entry: dict, key: str, files: dict[str, bytes], where: str):
    data = _file(entry, key, files, where)
    try:
        return load(data)
    except Exception as err:  # safetensors raises its own error types for malformed data
        raise ValueError(f"{entry[key]} must be a valid safetensors file: {err}") from err


def parse_net(entry: dict, files: dict[str, bytes], *, resolve, where: str) -> dict:
    """Check a net's record and decode it, constructing nothing.

    Parameters
    ----------
    entry : dict
        The step's record in ``config.json``.
    files : dict of str to bytes
        The model's verified files.
    resolve : callable
        ``resolve(name, where) -> class`` through the allow-list.
    where : str
        The record's place in the config, for messages.

    Returns
    -------
    plan : dict
        Class, parameters, attributes, state dict and history, ready for :func:`build_net`.
    """
    import safetensors.numpy
    import safetensors.torch

    from ..models._base import SequenceNetRegressor

    cls = resolve(entry.get("class"), f"{where}.class")
    if not issubclass(cls, SequenceNetRegressor):
        raise ValueError(f"{where}.class must name a SequenceNetRegressor, got {cls!r}.")
    for key in ("params", "attributes"):
        if not isinstance(entry.get(key), dict):
            raise ValueError(f"{where}.{key} must be a JSON object, got {entry.get(key)!r}.")
    bad = [
        key
        for key in entry["attributes"]
        if not key.isidentifier()
        or not key.endswith("_")
        or key.startswith("_")
        or key in _SKORCH_RUNTIME
    ]
    if bad:
        raise ValueError(f"{where}.attributes must hold fitted attributes only, got {bad[0]!r}.")
    arrays = load_safetensors(safetensors.numpy.load, entry, "arrays", files, where)
    state = load_safetensors(safetensors.torch.load, entry, "weights", files, where)
    params = decode(entry["params"], where=f"{where}.params", arrays=arrays, resolve=resolve)
    load_kwargs = params.get("torch_load_kwargs")
    if load_kwargs is not None and (
        not isinstance(load_kwargs, dict) or load_kwargs.get("weights_only", True) is not True
    ):
        # Would make a later net.load_params() unpickle whatever file it is given.
        raise ValueError(
            f"{where}.params.torch_load_kwargs must be null or keep weights_only=True, got "
            f"{load_kwargs!r}."
        )
    attributes = decode(
        entry["attributes"], where=f"{where}.attributes", arrays=arrays, resolve=resolve
    )
    saved_defaults = entry.get("module_defaults", {})  # absent in models saved before it
    if not isinstance(saved_defaults, dict) or not all(
        isinstance(k, str) and k.isidentifier() and type(v) in _PLAIN_TYPES
        for k, v in saved_defaults.items()
    ):
        raise ValueError(
            f"{where}.module_defaults must map argument names to plain values, got "
            f"{saved_defaults!r:.200}."
        )
    current = _signature_defaults(params.get("module"))
    for key, value in saved_defaults.items():
        # A default changed since the model was saved: pass the old one explicitly.
        if key in current and current[key] != value and f"module__{key}" not in params:
            params[f"module__{key}"] = value
    if arrays:
        raise ValueError(
            f"{entry['arrays']} holds arrays the config does not use: {sorted(arrays)}."
        )
    history = None
    if "history" in entry:
        try:
            history = json.loads(_file(entry, "history", files, where))
        except ValueError as err:
            raise ValueError(f"{entry['history']} must be valid JSON: {err}") from err
        if not isinstance(history, list):
            raise ValueError(f"{entry['history']} must hold a JSON list of epochs.")
    return {
        "cls": cls,
        "params": params,
        "attributes": attributes,
        "state": state,
        "history": history,
        "weights": entry["weights"],
    }


def build_net(plan: dict, *, device):
    """Construct, initialise and fill a net from :func:`parse_net`'s plan.

    Parameters
    ----------
    plan : dict
        As returned by :func:`parse_net`.
    device : str or torch.device
        Where the network is placed (the loaded estimator's ``device`` parameter).

    Returns
    -------
    net : SequenceNetRegressor
        Fitted: predicts exactly like the saved one on the same device.
    """
    from skorch.history import History

    from ..models._base import _private_rng

    net = plan["cls"](**{**plan["params"], "device": device})
    for key, value in plan["attributes"].items():
        setattr(net, key, value)  # module_data_params_ must be in place before initialize()
    with _private_rng():  # initialisation draws random weights that are overwritten next
        net.initialize()
    load_weights(_plain_module(net.module_), plan["state"], file=plan["weights"])
    if plan["history"] is not None:
        net.history_ = History(plan["history"])
    return net
