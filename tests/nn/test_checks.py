"""Tests for the constructor-argument checks."""

import numpy as np
import pytest

from sklearn_dynapro.nn._checks import (
    check_bool,
    check_choice,
    check_int,
    check_int_tuple,
    check_probability,
)


def test_check_int_accepts_numpy_integers_and_returns_int():
    value = check_int("n_layers", np.int64(3))
    assert value == 3 and type(value) is int


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), (2.5, TypeError), (True, TypeError), ("3", TypeError)]
)
def test_check_int_rejects(value, error):
    with pytest.raises(error, match=r"n_layers must be an int >= 1, got "):
        check_int("n_layers", value)


def test_check_bool():
    assert check_bool("use_conv", np.bool_(False)) is False
    with pytest.raises(TypeError, match=r"use_conv must be a bool, got 1\."):
        check_bool("use_conv", 1)


def test_check_probability():
    assert check_probability("dropout", 0) == 0.0
    with pytest.raises(ValueError, match=r"dropout must be a float in \[0, 1\), got 1.0."):
        check_probability("dropout", 1.0)


def test_check_choice():
    with pytest.raises(ValueError, match=r"fusion must be one of 'gate', 'dynamic', got 'sum'\."):
        check_choice("fusion", "sum", ("gate", "dynamic"))


def test_check_int_tuple():
    assert check_int_tuple("expert_kernels", [3, np.int32(5)], odd=True) == (3, 5)
    with pytest.raises(ValueError, match="must be a sequence of odd integers >= 1"):
        check_int_tuple("expert_kernels", (3, 4), odd=True)
    with pytest.raises(ValueError, match="at least one"):
        check_int_tuple("expert_kernels", ())
    with pytest.raises(TypeError, match="expert_kernels must be"):
        check_int_tuple("expert_kernels", 3)
    assert check_int_tuple("head_dims", (), allow_empty=True) == ()
