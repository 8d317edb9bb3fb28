"""Parameters and fitted attributes ↔ JSON, with classes by name and arrays set aside.

Plain JSON values (None, bool, int, float, str, lists, dicts with string keys) are stored as
they are. Everything else is a tagged object ``{"__type__": tag, ...}``:

- ``"class"``: a class, by dotted name (resolved on load through the allow-list only);
- ``"tuple"``: a tuple, by its items;
- ``"scalar"``: a NumPy bool, integer or float scalar, with its dtype;
- ``"ndarray"``: a NumPy array, by its key in a separate safetensors file;
- ``"device"``: a :class:`torch.device`, by its string;
- ``"path"``: a :class:`pathlib.Path` (e.g. ``checkpoint_dir``), by its string.

Anything else (instances of arbitrary classes, functions) cannot be saved in this format.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Callable
from pathlib import Path, PurePath

import numpy as np

from ._allowlist import class_name

__all__ = ["class_names", "decode", "encode"]

TAG = "__type__"
#: dtype kinds a scalar or array may have (bool, signed, unsigned, float).
_NUMERIC_KINDS = "biuf"
#: The fields each tag carries besides the tag itself.
_FIELDS = {
    "class": {"name"},
    "tuple": {"items"},
    "scalar": {"dtype", "value"},
    "ndarray": {"key"},
    "device": {"value"},
    "path": {"value"},
}


def _torch_device_type():
    torch = sys.modules.get("torch")
    return None if torch is None else torch.device


def encode(value, *, where: str, arrays: dict[str, np.ndarray]):
    """Turn a parameter or fitted attribute into JSON, moving arrays into ``arrays``.

    Parameters
    ----------
    value : object
        The value to store.
    where : str
        Its name (``"params.lr"``), used for array keys and error messages.
    arrays : dict of str to ndarray
        Filled with the arrays found, keyed by their position in ``value``.

    Returns
    -------
    encoded : JSON-serialisable object
    """
    if value is None or isinstance(value, bool | str):
        return value
    if type(value) in (int, float):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC_KINDS:
        return {TAG: "scalar", "dtype": value.dtype.str, "value": value.item()}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _NUMERIC_KINDS or value.dtype.byteorder not in "=|<":
            raise TypeError(
                f"{where} must be a numeric little-endian array to be saved, got dtype "
                f"{value.dtype}."
            )
        if where in arrays:
            raise TypeError(f"{where} names two arrays; rename the dict keys holding them.")
        arrays[where] = np.ascontiguousarray(value)
        return {TAG: "ndarray", "key": where}
    if isinstance(value, type):
        return {TAG: "class", "name": class_name(value)}
    device = _torch_device_type()
    if device is not None and isinstance(value, device):
        return {TAG: "device", "value": str(value)}
    if isinstance(value, PurePath):
        return {TAG: "path", "value": str(value)}
    if isinstance(value, tuple):
        items = [encode(v, where=f"{where}.{i}", arrays=arrays) for i, v in enumerate(value)]
        return {TAG: "tuple", "items": items}
    if isinstance(value, list):
        return [encode(v, where=f"{where}.{i}", arrays=arrays) for i, v in enumerate(value)]
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str) or k == TAG]
        if bad:
            raise TypeError(
                f"{where} must be a dict with string keys other than {TAG!r} to be saved, "
                f"got key {bad[0]!r}."
            )
        return {k: encode(v, where=f"{where}.{k}", arrays=arrays) for k, v in value.items()}
    raise TypeError(
        f"{where} must be None, a number, a string, a class, an array or a list/tuple/dict of "
        f"those to be saved in the safe format, got {value!r}; set it to such a value (for "
        "example callbacks=None, random_state=0) or use joblib for trusted files."
    )


def class_names(obj):
    """Yield the class names tagged anywhere in an encoded value."""
    if isinstance(obj, list):
        for item in obj:
            yield from class_names(item)
    elif isinstance(obj, dict):
        if obj.get(TAG) == "class":
            yield obj.get("name")
        for item in obj.values():
            yield from class_names(item)


def decode(
    obj,
    *,
    where: str,
    arrays: dict[str, np.ndarray],
    resolve: Callable[[str, str], type],
):
    """Invert :func:`encode`.

    Parameters
    ----------
    obj : JSON value
        As read from ``config.json``.
    where : str
        Its place in the config, for error messages.
    arrays : dict of str to ndarray
        The arrays file's contents; keys used are removed, so leftovers can be reported.
    resolve : callable
        ``resolve(name, where) -> class``; raises for names not allow-listed.

    Returns
    -------
    value : object
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, numbers.Real) and type(obj) in (int, float):
        return obj
    if isinstance(obj, list):
        return [
            decode(v, where=f"{where}.{i}", arrays=arrays, resolve=resolve)
            for i, v in enumerate(obj)
        ]
    if not isinstance(obj, dict):
        raise ValueError(f"{where} must be a JSON value this format writes, got {obj!r}.")
    if TAG not in obj:
        return {
            k: decode(v, where=f"{where}.{k}", arrays=arrays, resolve=resolve)
            for k, v in obj.items()
        }
    tag = obj[TAG]
    fields = set(obj) - {TAG}
    expected = _FIELDS.get(tag) if isinstance(tag, str) else None
    if expected is None or fields != expected:
        raise ValueError(
            f"{where} must be a tagged value ({', '.join(_FIELDS)}) with its fields, got {obj!r}."
        )
    if tag == "class":
        return resolve(obj["name"], where)
    if tag == "tuple":
        if not isinstance(obj["items"], list):
            raise ValueError(f"{where}.items must be a list, got {obj['items']!r}.")
        return tuple(decode(obj["items"], where=where, arrays=arrays, resolve=resolve))
    if tag == "scalar":
        return _decode_scalar(obj, where)
    if tag == "ndarray":
        key = obj["key"]
        if not isinstance(key, str) or key not in arrays:
            raise ValueError(f"{where} names array {key!r}, which the arrays file does not hold.")
        return arrays.pop(key)
    if not isinstance(obj["value"], str):
        raise ValueError(f"{where}.value must be a string, got {obj['value']!r}.")
    if tag == "path":
        return Path(obj["value"])
    import torch

    return torch.device(obj["value"])


def _decode_scalar(obj: dict, where: str):
    try:
        if not isinstance(obj["dtype"], str):
            raise TypeError
        dtype = np.dtype(obj["dtype"])
    except TypeError as err:
        raise ValueError(f"{where}.dtype must be a NumPy dtype, got {obj['dtype']!r}.") from err
    value = obj["value"]
    if dtype.kind not in _NUMERIC_KINDS or not isinstance(value, bool | int | float):
        raise ValueError(
            f"{where} must be a numeric scalar with a bool, integer or float dtype, got {obj!r}."
        )
    return dtype.type(value)
