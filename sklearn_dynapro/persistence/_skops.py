"""Plain scikit-learn steps (encoders, feature transformers, forests, …) ↔ skops files.

skops stores an object as a tree of typed nodes and, on load, builds only types it is told
to trust. Here those are the types skops trusts by default (scikit-learn, NumPy, SciPy
basics) plus :data:`TRUSTED_SKOPS_TYPES` and the caller's ``trusted``; a file holding any
other type is refused before anything in it is built.
"""

from __future__ import annotations

import sys
import warnings

from ._allowlist import TRUSTED_SKOPS_TYPES, canonical_name

__all__ = ["check_skops", "load_skops", "skops_entry"]


def _contains_net(obj) -> bool:
    from ._nets import is_net

    get_params = getattr(obj, "get_params", None)
    if get_params is None:
        return False
    return any(is_net(value) for value in get_params(deep=True).values())


def _holds_torch(obj) -> bool:
    """Whether ``obj`` keeps PyTorch modules or tensors among its attributes."""
    torch = sys.modules.get("torch")
    return torch is not None and any(
        isinstance(value, torch.nn.Module | torch.Tensor)
        or (isinstance(value, dict) and any(isinstance(v, torch.Tensor) for v in value.values()))
        for value in vars(obj).values()
    )


def _readable(value):
    """A parameter as JSON for reading: plain values as they are, the rest as their repr."""
    if value is None or isinstance(value, bool | str) or type(value) in (int, float):
        return value
    if isinstance(value, list | tuple) and all(
        v is None or isinstance(v, bool | str) or type(v) in (int, float) for v in value
    ):
        return list(value)
    return {"__repr__": repr(value)}


def skops_entry(obj, *, name: str, stem: str) -> tuple[dict, dict[str, bytes]]:
    """Describe a fitted scikit-learn step for ``config.json`` and dump it with skops.

    Parameters
    ----------
    obj : estimator
        A fitted scikit-learn estimator or transformer (no neural net inside).
    name : str
        Its step name (for messages).
    stem : str
        Prefix of its file name.

    Returns
    -------
    entry : dict
        The step's record; its ``params`` are for reading only (the skops file is used).
    files : dict of str to bytes
        The skops file, by name.
    """
    import skops.io

    if _contains_net(obj):
        raise TypeError(
            f"step {name!r} must not hold a neural net inside another estimator to be saved; "
            "only top-level steps of a Pipeline can be neural nets."
        )
    try:
        data = skops.io.dumps(obj)
    except Exception as err:  # skops raises several types for what it cannot store
        if _holds_torch(obj):
            # skops's own message ("Cannot directly construct TensorBase") says little.
            raise TypeError(
                f"step {name!r} ({type(obj).__name__}) holds PyTorch modules or tensors, "
                "which only neural-net steps are saved with; use joblib.dump for this "
                "pipeline."
            ) from err
        raise TypeError(f"step {name!r} ({type(obj).__name__}) cannot be saved: {err}") from err
    untrusted = sorted(set(skops.io.get_untrusted_types(data=data)) - set(TRUSTED_SKOPS_TYPES))
    if untrusted:
        warnings.warn(
            f"step {name!r} holds types that load() refuses unless passed as trusted: {untrusted}.",
            UserWarning,
            stacklevel=3,
        )
    get_params = getattr(obj, "get_params", None)
    params = {} if get_params is None else get_params(deep=False)
    entry = {
        "name": name,
        "kind": "skops",
        "class": canonical_name(type(obj)),
        "params": {key: _readable(value) for key, value in params.items()},
        "file": f"{stem}.skops",
    }
    return entry, {entry["file"]: data}


def check_skops(data: bytes, *, file: str, trusted: frozenset[str]) -> list[str]:
    """Refuse a skops file holding types outside the allow-list; return the types to trust.

    Parameters
    ----------
    data : bytes
        The file's verified content.
    file : str
        Its name, for messages.
    trusted : frozenset of str
        Extra types the caller trusts.

    Returns
    -------
    types : list of str
        The non-default types in the file, all allow-listed, to pass to :func:`load_skops`.
    """
    import skops.io

    try:
        types = skops.io.get_untrusted_types(data=data)
    except Exception as err:  # malformed zip or schema
        raise ValueError(f"{file} must be a valid skops file: {err}") from err
    refused = sorted(set(types) - set(TRUSTED_SKOPS_TYPES) - trusted)
    if refused:
        raise ValueError(
            f"{file} holds types outside the allow-list: {refused}; pass them as "
            "trusted=[...] to load() only if you trust where the model comes from."
        )
    return types


def load_skops(data: bytes, *, file: str, types: list[str], expected_class: str):
    """Build the object of a checked skops file and check it has the configured class."""
    import skops.io

    obj = skops.io.loads(data, trusted=types)
    if canonical_name(type(obj)) != expected_class:
        raise ValueError(
            f"{file} must hold a {expected_class} as config.json says, got "
            f"{canonical_name(type(obj))}."
        )
    return obj
