"""Constructor-argument checks shared by the ``nn`` modules.

Hyper-parameters reach these modules through skorch's ``module__`` routing, often from a
grid or an Optuna trial, so they may arrive as NumPy scalars or lists. Each helper accepts
those, returns a plain Python value, and raises with the library's one message template:
"``<name>`` must be ``<expectation>``, got ``<value!r>``".
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

from .._validation import check_bool, check_int

__all__ = [
    "check_bool",
    "check_choice",
    "check_int",
    "check_int_tuple",
    "check_probability",
]


def check_probability(name: str, value: object) -> float:
    """Return ``value`` as a ``float`` in ``[0, 1)`` (a dropout rate).

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : object
        Candidate value.

    Returns
    -------
    float
        The value as a built-in ``float``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float in [0, 1), got {value!r}.")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1), got {value!r}.")
    return float(value)


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` after checking it is one of ``choices``.

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : object
        Candidate value.
    choices : iterable of str
        Accepted values.

    Returns
    -------
    str
        The value unchanged.
    """
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")
    return value


def check_int_tuple(
    name: str, value: object, *, minimum: int = 1, allow_empty: bool = False, odd: bool = False
) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ``int`` after checking each element.

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : object
        A sequence of integers (tuple, list or 1-D array).
    minimum : int, default=1
        Smallest accepted element.
    allow_empty : bool, default=False
        Whether an empty sequence is accepted.
    odd : bool, default=False
        Require every element to be odd (kernels that keep the length with symmetric padding).

    Returns
    -------
    tuple of int
        The elements as built-in ints.
    """
    expectation = f"a sequence of {'odd ' if odd else ''}integers >= {minimum}"
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be {expectation}, got {value!r}.")
    items = list(value)
    if not items and not allow_empty:
        raise ValueError(f"{name} must be {expectation} (at least one), got {value!r}.")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(f"{name} must be {expectation}, got {value!r}.")
        if item < minimum or (odd and item % 2 == 0):
            raise ValueError(f"{name} must be {expectation}, got {value!r}.")
    return tuple(int(item) for item in items)
