"""Shared fixtures for the ``sklearn_dynapro.nn`` tests: seeding and token batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_and_single_thread() -> Iterator[None]:
    """Make every test deterministic and run it on one intra-op thread.

    The test models are tiny: a second OpenMP thread only adds synchronisation, and on a
    shared, busy machine spinning threads made single tests take seconds instead of
    milliseconds. The previous thread count is restored afterwards.
    """
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def make_tokens() -> Callable[..., torch.Tensor]:
    """Return a factory of left-padded nucleotide token batches.

    ``make_tokens(lengths, width)`` gives a LongTensor of shape ``(len(lengths), width)`` whose
    row ``i`` holds ``lengths[i]`` random nucleotide ids (3..6) right-aligned after PAD (0).
    """

    def factory(lengths: Sequence[int], width: int | None = None) -> torch.Tensor:
        width = max(lengths) if width is None else width
        tokens = torch.zeros(len(lengths), width, dtype=torch.long)
        for row, n in enumerate(lengths):
            if n:
                tokens[row, width - n :] = torch.randint(3, 7, (n,))
        return tokens

    return factory


def left_pad(tokens: torch.Tensor, extra: int) -> torch.Tensor:
    """Add ``extra`` PAD columns on the 5' (left) side."""
    return torch.cat((tokens.new_zeros(tokens.shape[0], extra), tokens), dim=1)


@pytest.fixture
def add_padding() -> Callable[[torch.Tensor, int], torch.Tensor]:
    """Return :func:`left_pad` (helpers cannot be imported across test files here)."""
    return left_pad
