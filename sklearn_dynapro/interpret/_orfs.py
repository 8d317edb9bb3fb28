"""Upstream AUGs and ORFs of one UTR, and where a variant edits it (string-level helpers).

Conventions match :class:`~sklearn_dynapro.features.BiophysicalFeatures`: a UTR of length
``L`` is followed by the CDS start codon; an upstream ``ATG`` (uAUG) starting at ``i`` lies
wholly inside the UTR (``i <= L - 3``) and its frame relative to the start codon is
``(L - i) mod 3`` (0 = in frame). Its ORF is a uORF when an in-frame stop codon (TAA, TAG,
TGA) lies wholly inside the UTR, otherwise it runs into the CDS: an N-terminal extension
(``"nte"``) when in frame, an overlapping ORF (``"oorf"``) when not.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

__all__ = ["Edit", "edit_span", "orf_signature", "uaug_starts"]

_ATG = re.compile(r"(?=ATG)")
_STOPS = frozenset({"TAA", "TAG", "TGA"})


def uaug_starts(utr: str) -> list[int]:
    """0-based starts of every ``ATG`` in ``utr`` (upper-case DNA), 5' to 3'."""
    return [m.start() for m in _ATG.finditer(utr)]


def _orf(utr: str, start: int) -> tuple[str, int]:
    """Kind of the ORF opened by the uAUG at ``start`` and a number that identifies its shape.

    Returns ``("uorf", length in nt including the stop)``, or ``("nte" | "oorf", frame)``
    for an ORF that runs into the CDS, ``frame`` being ``(L - start) mod 3``.
    """
    for codon in range(start + 3, len(utr) - 2, 3):
        if utr[codon : codon + 3] in _STOPS:
            return "uorf", codon + 3 - start
    frame = (len(utr) - start) % 3
    return ("nte" if frame == 0 else "oorf"), frame


def orf_signature(utr: str) -> Counter:
    """Multiset of the upstream ORFs of ``utr``, each as ``(kind, length or frame)``.

    Two UTRs have the same signature when they open the same number of uORFs of each length
    and the same overlapping ORFs / N-terminal extensions in each frame; where the uAUGs sit
    and what the ORFs encode do not enter.
    """
    return Counter(_orf(utr, i) for i in uaug_starts(utr))


class Edit(NamedTuple):
    """Where ``alt`` differs from ``ref``: ``ref[start:ref_end]`` became ``alt[start:alt_end]``."""

    start: int
    ref_end: int
    alt_end: int


def _common_prefix(a: str, b: str, limit: int) -> int:
    n = 0
    while n < limit and a[n] == b[n]:
        n += 1
    return n


def _common_suffix(a: str, b: str, limit: int) -> int:
    n = 0
    while n < limit and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def edit_span(ref: str, alt: str, *, shift: str) -> Edit:
    """The smallest edit turning ``ref`` into ``alt``, placed as far 5' or 3' as it goes.

    An indel inside a repeat (``AAATG`` → ``AATG``) can be written at several places; trimming
    the shared suffix first places it 5'-most (``shift="left"``, as VCF does), trimming the
    shared prefix first places it 3'-most (``shift="right"``, as HGVS does).

    Parameters
    ----------
    ref, alt : str
        Reference and alternative sequences.
    shift : {"left", "right"}
        Placement of the edit.

    Returns
    -------
    Edit
        ``start`` is the first edited position (for a pure insertion, the position the
        inserted bases precede); ``ref[start:ref_end]`` and ``alt[start:alt_end]`` are the
        replaced and the replacing bases (either may be empty).
    """
    shortest = min(len(ref), len(alt))
    if shift == "right":
        prefix = _common_prefix(ref, alt, shortest)
        suffix = _common_suffix(ref, alt, shortest - prefix)
    else:
        suffix = _common_suffix(ref, alt, shortest)
        prefix = _common_prefix(ref, alt, shortest - suffix)
    return Edit(prefix, len(ref) - suffix, len(alt) - suffix)
