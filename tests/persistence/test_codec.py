"""Parameters and fitted attributes to JSON and back, classes only through the allow-list."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_dynapro.nn import DynaProNet
from sklearn_dynapro.persistence._allowlist import resolve_class
from sklearn_dynapro.persistence._codec import decode, encode


def resolve(name, where):
    return resolve_class(name, trusted=frozenset(), where=where)


def round_trip(value):
    arrays = {}
    encoded = json.loads(json.dumps(encode(value, where="v", arrays=arrays)))
    return decode(encoded, where="v", arrays=dict(arrays), resolve=resolve), encoded, arrays


def test_values_survive_json_exactly():
    value = {
        "module": DynaProNet,
        "optimizer": torch.optim.AdamW,
        "channels": (4, 8),
        "seed": np.int64(7),
        "flag": np.bool_(True),
        "lr": 0.1 + 0.2,
        "y_mean": np.array([1.5, -2.25e-300]),
        "counts": np.arange(6, dtype=np.int32).reshape(2, 3),
        "nested": [None, "text", {"k": 1}],
        "device": torch.device("cpu"),
        "checkpoint_dir": Path("runs") / "a",
    }
    decoded, encoded, arrays = round_trip(value)
    assert encoded["optimizer"] == {"__type__": "class", "name": "torch.optim.AdamW"}
    assert sorted(arrays) == ["v.counts", "v.y_mean"]
    assert decoded.keys() == value.keys()
    for key in ("module", "optimizer", "channels", "lr", "nested", "device", "checkpoint_dir"):
        assert decoded[key] == value[key]
    assert type(decoded["seed"]) is np.int64 and decoded["seed"] == 7
    assert type(decoded["flag"]) is np.bool_
    for key in ("y_mean", "counts"):
        np.testing.assert_array_equal(decoded[key], value[key])
        assert decoded[key].dtype == value[key].dtype


@pytest.mark.parametrize(
    "value",
    [lambda x: x, np.random.RandomState(0), np.array(["a", "b"]), {1: "int key"}, object()],
)
def test_values_without_a_safe_form_are_refused(value):
    with pytest.raises(TypeError, match=r"v.* must be"):
        encode(value, where="v", arrays={})


def test_local_classes_are_refused():
    class Local:
        pass

    with pytest.raises(TypeError, match="must be importable by name"):
        encode(Local, where="v", arrays={})


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"__type__": "pickle", "data": "..."}, "must be a tagged value"),
        ({"__type__": "class", "name": "os.system"}, "must name an allow-listed class"),
        ({"__type__": "class"}, "must be a tagged value"),
        ({"__type__": "scalar", "dtype": "O", "value": 1}, "numeric scalar"),
        ({"__type__": "scalar", "dtype": {"names": []}, "value": 1}, "must be a NumPy dtype"),
        ({"__type__": "ndarray", "key": "absent"}, "arrays file does not hold"),
        ({"__type__": "tuple", "items": "ab"}, "items must be a list"),
    ],
)
def test_malformed_values_are_refused(obj, message):
    with pytest.raises(ValueError, match=message):
        decode(obj, where="v", arrays={}, resolve=resolve)
