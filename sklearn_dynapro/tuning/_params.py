"""Pipeline parameters as JSON: the file ``dynapro tune`` writes and ``dynapro fit`` reads."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["jsonable_params", "load_params", "resolve_params", "save_params"]

#: Parameters whose value is a class, written to JSON by name.
_CLASS_PARAMS = {"optimizer": "torch.optim", "criterion": "torch.nn"}


def _resolve_class(name: str, value):
    """Turn ``"AdamW"`` or ``"torch.optim.AdamW"`` into the class; classes pass through."""
    if not isinstance(value, str):
        return value
    default_module = _CLASS_PARAMS[name]
    module_name, _, attr = value.rpartition(".")
    module_name = module_name or default_module
    try:
        resolved = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        resolved = None
    if not isinstance(resolved, type):
        raise ValueError(
            f"{name} must name a class in {default_module} (for example 'AdamW') or give its "
            f"dotted path, got {value!r}."
        )
    return resolved


def resolve_params(params: Mapping) -> dict:
    """Make JSON-read parameters ready for :func:`~sklearn_dynapro.make_dynapro_pipeline`.

    ``optimizer`` and ``criterion`` given by name (``"SGD"``, ``"AdamW"``,
    ``"torch.nn.MSELoss"``) become the classes; lists become tuples (JSON has no tuples,
    and network arguments such as ``module__expert_kernels`` expect them).

    Parameters
    ----------
    params : mapping of str to object
        Pipeline keyword arguments.

    Returns
    -------
    dict
        A new dict with the same keys.
    """
    if not isinstance(params, Mapping):
        raise TypeError(
            f"params must be a mapping of parameter names, got {type(params).__name__}."
        )
    out = {}
    for key, value in params.items():
        if not isinstance(key, str):
            raise TypeError(f"params keys must be strings, got {key!r}.")
        if key in _CLASS_PARAMS:
            value = _resolve_class(key, value)
        elif isinstance(value, list):
            value = tuple(value)
        out[key] = value
    return out


def jsonable_params(params: Mapping) -> dict:
    """The inverse of :func:`resolve_params`: classes written by name, tuples as lists.

    Parameters
    ----------
    params : mapping of str to object
        Pipeline keyword arguments.

    Returns
    -------
    dict
        Parameters that :func:`json.dumps` accepts. ``optimizer`` and ``criterion`` classes
        are written by their short name when ``torch.optim`` / ``torch.nn`` export them, by
        their dotted path otherwise.

    Raises
    ------
    TypeError
        If a value is neither JSON-compatible nor a class (for example a transformer
        instance passed as ``features``).
    """
    out = {}
    for key, value in params.items():
        if key in _CLASS_PARAMS and isinstance(value, type):
            home = importlib.import_module(_CLASS_PARAMS[key])
            if getattr(home, value.__name__, None) is value:
                value = value.__name__
            else:
                value = f"{value.__module__}.{value.__qualname__}"
        elif isinstance(value, tuple):
            value = list(value)
        try:
            json.dumps(value)
        except TypeError:
            raise TypeError(
                f"params[{key!r}] must be JSON-serialisable (a number, string, bool, None, "
                f"list, or an optimizer / criterion class), got {value!r}."
            ) from None
        out[key] = value
    return out


def save_params(path: str | os.PathLike, params: Mapping, *, metadata: Mapping | None = None):
    """Write pipeline parameters (and where they came from) to a JSON file.

    Parameters
    ----------
    path : str or path-like
        Output file; its folder must exist.
    params : mapping of str to object
        Keyword arguments of :func:`~sklearn_dynapro.make_dynapro_pipeline`.
    metadata : mapping or None, default=None
        Anything JSON-serialisable to store beside them (study name, score, trials).

    Returns
    -------
    path : pathlib.Path
        The file written, ``{"params": {...}, "metadata": {...}}``.
    """
    path = Path(os.fspath(path)).expanduser()
    document = {"params": jsonable_params(params), "metadata": dict(metadata or {})}
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def load_params(path: str | os.PathLike) -> dict:
    """Read pipeline parameters written by :func:`save_params` (or a plain JSON object).

    Parameters
    ----------
    path : str or path-like
        A JSON file holding either ``{"params": {...}, "metadata": {...}}`` or the keyword
        arguments themselves, for example ``{"module__n_layers": 2, "optimizer": "AdamW"}``.

    Returns
    -------
    params : dict
        Keyword arguments for :func:`~sklearn_dynapro.make_dynapro_pipeline`, with classes
        resolved (see :func:`resolve_params`).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not JSON or does not hold an object.
    """
    path = Path(os.fspath(path)).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No such parameter file: {str(path)!r}.")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"The parameter file {str(path)!r} must hold JSON, got a parse error: {exc}."
        ) from None
    if isinstance(document, dict) and isinstance(document.get("params"), dict):
        document = document["params"]
    if not isinstance(document, dict):
        raise ValueError(
            f"The parameter file {str(path)!r} must hold a JSON object of pipeline parameters, "
            f"got {type(document).__name__}."
        )
    return resolve_params(document)
