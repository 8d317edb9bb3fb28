"""BERT-style corruption of token batches for masked-token pre-training.

Which positions are *selected* (the positions whose original token the model must predict):

* ``whole_kmer=False`` (and always for ``k=1``): ``round(mask_fraction * n)`` of the ``n`` real
  tokens of each sequence (at least one), drawn without replacement.
* ``whole_kmer=True`` with ``k > 1`` (3UTRBERT / DNABERT): ``round(mask_fraction * L / k)``
  (at least one) of the sequence's ``L`` nucleotides are drawn as *masked nucleotides*, and
  every token whose k-mer contains one of them is selected: per masked nucleotide, the run of
  ``k`` consecutive tokens that start at it or at one of the ``k - 1`` bases before it (fewer
  at the sequence ends). Masking a
  k-mer alone would be pointless, since its overlapping neighbours spell it out. This selects
  at most ``k`` times the number of masked nucleotides, about ``mask_fraction * L`` tokens of
  the ``L - k + 1``, but the rounding moves it in steps of ``k``: for a 50-nt UTR and
  ``mask_fraction=0.15`` (7.5 tokens), 6 tokens for ``k`` = 3 or 6, 8 for 4, 10 for 5. It is
  a little less when two masked nucleotides lie closer than ``k`` (their runs overlap) or near
  an end.

How a selected position is corrupted, decided independently per position: with probability
0.8 it becomes ``MASK_ID``, with 0.1 a k-mer token drawn uniformly from the other k-mer ids
(never the original, PAD, MASK or N), and with 0.1 it is left unchanged. Drawing from all
``4**k`` ids, as BERT does from its large vocabulary, would give back the original base a
quarter of the time for ``k=1`` (80/7.5/12.5 instead of 80/10/10). Padding is never selected.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..preprocessing._tokenizer import _FIRST_KMER_ID, MASK_ID, PAD_ID
from ._structure import IGNORE_INDEX

__all__ = ["MASK_PROBABILITY", "RANDOM_PROBABILITY", "mask_tokens", "select_positions"]

#: Share of the selected positions replaced by ``MASK_ID``.
MASK_PROBABILITY = 0.8
#: Share of the selected positions replaced by a random k-mer token (the rest stay unchanged).
RANDOM_PROBABILITY = 0.1


def select_positions(
    candidates: Tensor, fraction: float, generator: torch.Generator | None = None
) -> Tensor:
    """Draw ``round(fraction * n)`` (at least 1) of each row's ``n`` candidate positions.

    Parameters
    ----------
    candidates : BoolTensor of shape (batch, length)
        Positions that may be drawn.
    fraction : float
        Share of each row's candidates to draw.
    generator : torch.Generator, optional
        Source of randomness (on the device of ``candidates``).

    Returns
    -------
    BoolTensor of shape (batch, length)
        ``True`` at the drawn positions; rows without candidates draw nothing.
    """
    n = candidates.sum(dim=1, keepdim=True)
    count = torch.clamp(torch.round(n * fraction), min=1).minimum(n)
    scores = torch.rand(candidates.shape, generator=generator, device=candidates.device)
    # Non-candidates sort last; ranking random scores picks a uniform subset of each row.
    scores = scores.masked_fill(~candidates, 2.0)
    ranks = scores.argsort(dim=1).argsort(dim=1)
    return ranks < count


def mask_tokens(
    tokens: Tensor,
    *,
    k: int,
    vocab_size: int,
    mask_fraction: float = 0.15,
    whole_kmer: bool = True,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Corrupt a batch of left-padded tokens for masked-token prediction.

    See the module notes for exactly which positions are selected and how they change.

    Parameters
    ----------
    tokens : LongTensor of shape (batch, length)
        Token ids as made by :class:`~sklearn_dynapro.preprocessing.SequenceTokenizer` with the
        same ``k``; column ``j`` covers nucleotide columns ``j … j + k - 1``.
    k : int
        Token size.
    vocab_size : int
        ``4**k + 3``; random replacements are drawn from ids ``3 … vocab_size - 1``, other
        than the original.
    mask_fraction : float, default=0.15
        Share of the real positions to select (of tokens, or see ``whole_kmer``).
    whole_kmer : bool, default=True
        With ``k > 1``, select whole runs of the tokens that cover a masked nucleotide.
    generator : torch.Generator, optional
        Source of randomness, on the device of ``tokens``.

    Returns
    -------
    inputs : LongTensor of shape (batch, length)
        Corrupted tokens.
    targets : LongTensor of shape (batch, length)
        Original token at selected positions, ``-100`` (ignored by the loss) elsewhere.
    selected : BoolTensor of shape (batch, length)
        The selected positions.
    """
    real = tokens != PAD_ID
    if whole_kmer and k > 1:
        # Nucleotide column i is real iff a real token covers it: one of the token columns
        # i - k + 1 … i. Padding by k - 1 on both sides turns that into a sliding window.
        window = torch.nn.functional.pad(real.to(torch.float32), (k - 1, k - 1))
        nucleotides = window.unfold(1, k, 1).amax(dim=-1) > 0
        anchors = select_positions(nucleotides, mask_fraction / k, generator)
        # Token j covers nucleotide columns j … j + k - 1.
        selected = anchors.unfold(1, k, 1).any(dim=-1) & real
    else:
        selected = select_positions(real, mask_fraction, generator)
    draw = torch.rand(tokens.shape, generator=generator, device=tokens.device)
    to_mask = selected & (draw < MASK_PROBABILITY)
    to_random = (
        selected & (draw >= MASK_PROBABILITY) & (draw < MASK_PROBABILITY + RANDOM_PROBABILITY)
    )
    # Another k-mer than the original: shift its offset by 1 … n - 1 (mod n). An N token has
    # no offset; a uniform one makes it any k-mer with equal chance.
    n_kmers = vocab_size - _FIRST_KMER_ID
    shift = torch.randint(1, n_kmers, tokens.shape, generator=generator, device=tokens.device)
    anywhere = torch.randint(0, n_kmers, tokens.shape, generator=generator, device=tokens.device)
    offset = torch.where(tokens >= _FIRST_KMER_ID, tokens - _FIRST_KMER_ID, anywhere)
    random_ids = _FIRST_KMER_ID + (offset + shift) % n_kmers
    inputs = torch.where(to_mask, torch.full_like(tokens, MASK_ID), tokens)
    inputs = torch.where(to_random, random_ids, inputs)
    targets = tokens.masked_fill(~selected, IGNORE_INDEX)
    return inputs, targets, selected
