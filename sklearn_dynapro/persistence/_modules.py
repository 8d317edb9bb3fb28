"""Transformer steps that hold a PyTorch network (``UTRLanguageModel``) ↔ skops + safetensors.

Such a step is not a skorch net, and skops cannot store its network. It is split in two: the
estimator without its network (parameters, tokenizer, history, …) goes to a skops file like
any scikit-learn step, and the network's ``state_dict`` to safetensors. On load the skops
part is built through the allow-list, a network of the fitted shape is made and the weights
are read into it (strictly: a weight file for another shape is refused).
"""

from __future__ import annotations

import copy

from ._allowlist import canonical_name
from ._nets import load_safetensors, load_weights, weights_bytes

__all__ = ["build_module_step", "is_module_step", "module_step_entry", "parse_module_step"]

#: Fitted attributes rebuilt from the weights file instead of stored with skops.
_NETWORK_ATTRIBUTES = ("module_", "backbone_state_dict_")


def is_module_step(obj) -> bool:
    """Whether ``obj`` is a fitted transformer whose network this module stores."""
    from ..pretraining import UTRLanguageModel

    return isinstance(obj, UTRLanguageModel)


def module_step_entry(obj, *, name: str, stem: str) -> tuple[dict, dict[str, bytes]]:
    """Describe a fitted :class:`~sklearn_dynapro.pretraining.UTRLanguageModel` and its files.

    Parameters
    ----------
    obj : UTRLanguageModel
        Fitted.
    name : str
        Its step name (for messages).
    stem : str
        Prefix of its file names.

    Returns
    -------
    entry : dict
        The step's record in ``config.json``.
    files : dict of str to bytes
        Its skops file (the estimator without the network) and weights file, by name.
    """
    from ._skops import skops_entry

    bare = copy.copy(obj)  # shallow: the caller's model keeps its network
    for key in _NETWORK_ATTRIBUTES:
        delattr(bare, key)
    entry, files = skops_entry(bare, name=name, stem=stem)
    entry["kind"] = "module"
    entry["weights"] = f"{stem}.weights.safetensors"
    files[entry["weights"]] = weights_bytes(obj.module_)
    return entry, files


def parse_module_step(entry: dict, files: dict[str, bytes], *, trusted, where: str) -> dict:
    """Check a module step's record and files, building nothing; return what to build."""
    import safetensors.torch

    from ..pretraining import UTRLanguageModel
    from ._skops import check_skops

    file, weights, cls = entry.get("file"), entry.get("weights"), entry.get("class")
    if not all(isinstance(v, str) and v in files for v in (file, weights)):
        raise ValueError(f"{where} must name its skops and weights files, got {entry!r}.")
    if cls != canonical_name(UTRLanguageModel):
        raise ValueError(f"{where}.class must be {canonical_name(UTRLanguageModel)}, got {cls!r}.")
    types = check_skops(files[file], file=file, trusted=trusted)
    state = load_safetensors(safetensors.torch.load, entry, "weights", files, where)
    return {"file": file, "types": types, "class": cls, "state": state, "weights": weights}


def build_module_step(plan: dict, files: dict[str, bytes]):
    """Build the estimator of :func:`parse_module_step`'s plan and load its network."""
    from ._skops import load_skops

    obj = load_skops(
        files[plan["file"]], file=plan["file"], types=plan["types"], expected_class=plan["class"]
    )
    module = obj._pretraining_net()
    load_weights(module, plan["state"], file=plan["weights"])
    obj._set_module(module)
    return obj
