"""``DesignConstraints``: what a designed 5' UTR must satisfy, checked, sampled and repaired."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_bool, check_int

__all__ = ["DesignConstraints", "count_uaug", "gc_content"]

_BASES = "ACGT"
_GC = "GC"
_AT = "AT"
_PURINES = "AG"
# Tolerance for GC bounds given as fractions (0.4 * 50 is 20.000000000000004).
_EPS = 1e-9


def gc_content(sequence: str) -> float:
    """Fraction of G and C in ``sequence`` (upper-case DNA)."""
    return (sequence.count("G") + sequence.count("C")) / len(sequence)


def count_uaug(sequence: str) -> int:
    """Number of ATG triplets in ``sequence``, in any frame (they cannot overlap)."""
    return sequence.count("ATG")


def _normalise_motif(name: str, motif) -> str:
    if not isinstance(motif, str):
        raise TypeError(f"{name} must be a string of A, C, G, T, got {motif!r}.")
    normalised = motif.upper().replace("U", "T")
    if not normalised or set(normalised) - set(_BASES):
        raise ValueError(f"{name} must be a non-empty string of A, C, G, T (or U), got {motif!r}.")
    return normalised


class _FixedBases(dict):
    """The normalised ``fixed`` of a :class:`DesignConstraints`: a dict that refuses edits.

    The constraints are frozen, and the free positions and the hash are derived from
    ``fixed`` once; an edit in place would leave them describing other constraints.
    """

    def _refuse(self, *args, **kwargs):
        raise TypeError(
            "DesignConstraints.fixed cannot be changed; build new constraints with "
            "dataclasses.replace(constraints, fixed=...)."
        )

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        # Pickle rebuilds a dict subclass through __setitem__, which refuses; rebuild whole.
        return (type(self), (dict(self),))


def _check_fraction(name: str, value) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}.")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class DesignConstraints:
    """Constraints on designed 5' UTRs of one fixed length.

    The UTR is read 5' → 3' and is followed directly by the start codon ``ATG`` of the coding
    sequence. Positions are 0-based from the 5' end; negative positions count back from the
    start codon (``-1`` is the base right before the ``ATG``, ``-3`` the Kozak −3 position).

    Parameters
    ----------
    length : int
        Length of every design in nucleotides, >= 1.
    forbid_uaug : bool, default=False
        Forbid upstream ``ATG`` (uAUG) triplets anywhere in the UTR, in any frame. Only ATGs
        that lie entirely inside the UTR count: none can straddle the UTR/CDS junction, since
        the CDS begins with ``ATG`` (``..AT|ATG`` and ``..A|ATG`` read ``ATA`` and ``AAT``).
    kozak : bool, default=False
        Require a purine (A or G) at position −3, the most important base of the Kozak
        context. The other key position, +4, lies in the coding sequence and is not designed.
    gc_min, gc_max : float, default=0.0 and 1.0
        Bounds on the G + C fraction of the UTR, inclusive.
    fixed : mapping of int to str, iterable of (int, str) pairs, or None, default=None
        Motifs that must appear at given positions, as ``{start: motif}`` or
        ``[(start, motif), ...]``; single bases are motifs of length 1 (``{-3: "A"}``,
        ``[(0, "GGG")]``). Stored normalised, as a dict mapping each fixed position
        (non-negative) to its base; it refuses edits (use :func:`dataclasses.replace`).
    forbidden_motifs : iterable of str, default=()
        Motifs that must not occur anywhere in the UTR, such as restriction sites. Only the
        given strand is searched: add the reverse complement of non-palindromic sites.

    Raises
    ------
    ValueError
        If a value is out of range or the constraints cannot all hold: ``gc_min > gc_max``,
        no whole number of G/C bases between the bounds, fixed bases that force the GC fraction
        out of bounds, a fixed motif that does not fit in ``length`` or disagrees with another,
        or fixed bases that spell an ATG or a forbidden motif.

    Examples
    --------
    >>> from sklearn_dynapro.design import DesignConstraints
    >>> c = DesignConstraints(50, forbid_uaug=True, gc_min=0.4, gc_max=0.6, fixed={-3: "A"})
    >>> c.is_valid("ACGT" * 12 + "AC")
    False
    >>> c.violations("ACGT" * 12 + "AC")
    ['position 47 must be A, got T']
    """

    length: int
    forbid_uaug: bool = False
    kozak: bool = False
    gc_min: float = 0.0
    gc_max: float = 1.0
    fixed: Mapping[int, str] | Iterable[tuple[int, str]] | None = None
    forbidden_motifs: Iterable[str] = ()
    _free: np.ndarray = field(init=False, repr=False, compare=False)
    _gc_bounds: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        length = check_int("length", self.length, minimum=1)
        for name in ("forbid_uaug", "kozak"):
            check_bool(name, getattr(self, name))
        gc_min = _check_fraction("gc_min", self.gc_min)
        gc_max = _check_fraction("gc_max", self.gc_max)
        if gc_min > gc_max:
            raise ValueError(f"gc_min must be <= gc_max, got gc_min={gc_min} > gc_max={gc_max}.")
        if isinstance(self.forbidden_motifs, str):
            raise TypeError(
                "forbidden_motifs must be a list of motifs, got the string "
                f"{self.forbidden_motifs!r}; pass [{self.forbidden_motifs!r}]."
            )
        motifs = tuple(
            dict.fromkeys(_normalise_motif("forbidden_motifs", m) for m in self.forbidden_motifs)
        )
        fixed = self._normalise_fixed(length)
        set_ = object.__setattr__  # the dataclass is frozen; normalise once, here
        set_(self, "length", int(length))
        set_(self, "forbid_uaug", bool(self.forbid_uaug))
        set_(self, "kozak", bool(self.kozak))
        set_(self, "gc_min", gc_min)
        set_(self, "gc_max", gc_max)
        set_(self, "fixed", fixed)
        set_(self, "forbidden_motifs", motifs)
        free = np.ones(length, dtype=bool)
        free[list(fixed)] = False
        free = np.flatnonzero(free)
        free.flags.writeable = False
        set_(self, "_free", free)
        self._check_feasible()

    def __hash__(self) -> int:
        # The generated hash would hash the ``fixed`` dict, which cannot be hashed.
        return hash(
            (
                self.length,
                self.forbid_uaug,
                self.kozak,
                self.gc_min,
                self.gc_max,
                tuple(self.fixed.items()),
                self.forbidden_motifs,
            )
        )

    def _normalise_fixed(self, length: int) -> _FixedBases:
        if self.fixed is None:
            return _FixedBases()
        if isinstance(self.fixed, str):
            raise TypeError(
                f"fixed must map start positions to motifs, got the string {self.fixed!r}."
            )
        items = self.fixed.items() if isinstance(self.fixed, Mapping) else self.fixed
        out: dict[int, str] = {}
        for item in items:
            if not (isinstance(item, tuple | list) and len(item) == 2):
                raise TypeError(f"fixed must hold (start, motif) pairs, got {item!r}.")
            start, motif = item
            if isinstance(start, bool | np.bool_) or not isinstance(start, numbers.Integral):
                raise TypeError(f"fixed start positions must be ints, got {start!r}.")
            motif = _normalise_motif("fixed motifs", motif)
            begin = int(start) + length if start < 0 else int(start)
            if begin < 0 or begin + len(motif) > length:
                raise ValueError(
                    f"fixed motif {motif!r} at position {start} must fit in the {length}-nt UTR "
                    f"(positions 0..{length - 1} or -{length}..-1), got positions "
                    f"{begin}..{begin + len(motif) - 1}."
                )
            for offset, base in enumerate(motif):
                pos = begin + offset
                if out.get(pos, base) != base:
                    raise ValueError(
                        f"fixed motifs must agree where they overlap, got {out[pos]!r} and "
                        f"{base!r} at position {pos}."
                    )
                out[pos] = base
        return _FixedBases(sorted(out.items()))

    def _check_feasible(self) -> None:
        length, fixed = self.length, self.fixed
        kozak_pos = length - 3
        if self.kozak:
            if length < 3:
                raise ValueError(f"kozak=True needs length >= 3, got length={length}.")
            if fixed.get(kozak_pos, "A") not in _PURINES:
                raise ValueError(
                    f"kozak=True needs A or G at position -3, got fixed base "
                    f"{fixed[kozak_pos]!r} there."
                )
        template = "".join(fixed.get(i, "N") for i in range(length))
        for segment in template.split("N"):
            for motif in self._motifs():
                if motif in segment:
                    raise ValueError(
                        f"the fixed bases spell the forbidden motif {motif!r} "
                        f"(in fixed segment {segment!r})."
                    )
        lo = max(math.ceil(self.gc_min * length - _EPS), 0)
        hi = min(math.floor(self.gc_max * length + _EPS), length)
        fixed_gc = sum(base in _GC for base in fixed.values())
        lo_reach, hi_reach = fixed_gc, fixed_gc + len(self._free)
        if max(lo, lo_reach) > min(hi, hi_reach):
            raise ValueError(
                f"gc_min={self.gc_min} and gc_max={self.gc_max} cannot hold for a {length}-nt "
                f"UTR: they allow {lo}..{hi} G/C bases, and the fixed bases allow "
                f"{lo_reach}..{hi_reach}."
            )
        object.__setattr__(self, "_gc_bounds", (lo, hi))

    def _motifs(self) -> tuple[str, ...]:
        return (("ATG",) if self.forbid_uaug else ()) + self.forbidden_motifs

    # ------------------------------------------------------------------- checking
    def violations(self, sequence: str) -> list[str]:
        """Every constraint ``sequence`` breaks, in words (empty when it is valid).

        Parameters
        ----------
        sequence : str
            A DNA (or RNA) sequence; case is ignored and ``U`` is read as ``T``.

        Returns
        -------
        problems : list of str
            For example ``["uAUG (ATG) at position 12", "GC fraction 0.62 > gc_max=0.6"]``.
        """
        if not isinstance(sequence, str):
            return [f"not a string: {type(sequence).__name__}"]
        seq = sequence.upper().replace("U", "T")
        if len(seq) != self.length:
            return [f"length {len(seq)}, expected {self.length}"]
        if set(seq) - set(_BASES):
            return [f"bases other than A, C, G, T: {''.join(sorted(set(seq) - set(_BASES)))!r}"]
        problems = [
            f"position {pos} must be {base}, got {seq[pos]}"
            for pos, base in self.fixed.items()
            if seq[pos] != base
        ]
        if self.kozak and seq[-3] not in _PURINES:
            problems.append(f"Kozak position -3 must be A or G, got {seq[-3]}")
        for motif in self._motifs():
            pos = seq.find(motif)
            if pos >= 0:
                what = "uAUG (ATG)" if motif == "ATG" and self.forbid_uaug else f"motif {motif}"
                problems.append(f"{what} at position {pos}")
        n_gc = seq.count("G") + seq.count("C")
        if n_gc < self._gc_bounds[0]:
            problems.append(f"GC fraction {n_gc / self.length:.3g} < gc_min={self.gc_min}")
        if n_gc > self._gc_bounds[1]:
            problems.append(f"GC fraction {n_gc / self.length:.3g} > gc_max={self.gc_max}")
        return problems

    def is_valid(self, sequence: str) -> bool:
        """Whether ``sequence`` satisfies every constraint.

        Parameters
        ----------
        sequence : str
            A DNA (or RNA) sequence; case is ignored and ``U`` is read as ``T``.

        Returns
        -------
        valid : bool
        """
        return not self.violations(sequence)

    def check(self, sequences: Iterable[str]) -> np.ndarray:
        """Which of ``sequences`` satisfy every constraint.

        Parameters
        ----------
        sequences : iterable of str of length n_sequences
            DNA (or RNA) sequences. A bare string is rejected.

        Returns
        -------
        valid : ndarray of shape (n_sequences,), bool
        """
        if isinstance(sequences, str):
            raise TypeError(
                f"sequences must be a list of sequences, got the string {sequences[:20]!r}; "
                "use is_valid for one sequence."
            )
        return np.fromiter((self.is_valid(s) for s in sequences), dtype=bool)

    # ------------------------------------------------------------ sampling, repair
    def _alternatives(self, pos: int, current: str, kind: str = _BASES) -> list[str]:
        """Bases of ``kind`` that may replace ``current`` at free position ``pos``."""
        allowed = _PURINES if self.kozak and pos == self.length - 3 else _BASES
        return [b for b in allowed if b != current and b in kind]

    def repair(self, sequence: str, random_state=None, *, max_changes: int | None = None):
        """Edit ``sequence`` at free positions until it satisfies the constraints.

        Sets the fixed bases, then repeatedly replaces a random free base inside a forbidden
        ATG or motif, fixes the Kozak −3 base, and swaps bases between G/C and A/T to bring
        the GC fraction within bounds.

        Parameters
        ----------
        sequence : str
            DNA (or RNA) sequence of ``length`` nucleotides; case is ignored and ``U`` is
            read as ``T``. The result is upper-case DNA.
        random_state : int, RandomState or None, default=None
            Chooses the edited positions and bases.
        max_changes : int or None, default=None
            Most edits to make (>= 0; setting the fixed bases is not counted); None is
            ``20 * length``.

        Returns
        -------
        repaired : str or None
            A valid sequence, or None when the edits did not converge.
        """
        rng = check_random_state(random_state)
        if max_changes is not None:
            max_changes = check_int("max_changes", max_changes, minimum=0)
        if not isinstance(sequence, str):
            raise TypeError(f"sequence must be a string, got {type(sequence).__name__}.")
        if len(sequence) != self.length:
            raise ValueError(
                f"sequence must have length {self.length}, got {len(sequence)} nucleotides."
            )
        # As violations() reads it: the motif search and GC count look for upper-case DNA.
        sequence = sequence.upper().replace("U", "T")
        other = set(sequence) - set(_BASES)
        if other:
            raise ValueError(
                f"sequence must hold only A, C, G, T (or U), got {''.join(sorted(other))!r}."
            )
        chars = list(sequence)
        for pos, base in self.fixed.items():
            chars[pos] = base
        motifs = self._motifs()
        # A lookahead finds overlapping occurrences; the longest motif wins at a position.
        alternatives = "|".join(re.escape(m) for m in sorted(motifs, key=len, reverse=True))
        pattern = re.compile(f"(?=({alternatives}))")
        lo, hi = self._gc_bounds
        budget = 20 * self.length if max_changes is None else max_changes
        for changes in range(budget + 1):
            seq = "".join(chars)
            hits = [(m.start(), len(m.group(1))) for m in pattern.finditer(seq)] if motifs else []
            bad_kozak = self.kozak and chars[-3] not in _PURINES
            n_gc = sum(c in _GC for c in chars)
            if not hits and not bad_kozak and lo <= n_gc <= hi:
                return seq
            if changes == budget:
                return None
            if hits:
                start, size = hits[rng.randint(len(hits))]
                options = [
                    (p, alt)
                    for p in range(start, start + size)
                    if p not in self.fixed
                    for alt in self._alternatives(p, chars[p])
                ]
            elif bad_kozak:
                options = [(len(chars) - 3, base) for base in _PURINES]
            else:
                source, target = (_AT, _GC) if n_gc < lo else (_GC, _AT)
                options = [
                    (p, alt)
                    for p in self._free
                    if chars[p] in source
                    for alt in self._alternatives(p, chars[p], target)
                ]
            if not options:
                return None
            pos, base = options[rng.randint(len(options))]
            chars[pos] = base
        return None

    def sample(self, n: int, random_state=None) -> np.ndarray:
        """Random sequences that satisfy the constraints.

        Each draws a GC fraction uniformly between the bounds, fills the free positions
        with bases at that GC rate and is then :meth:`repair`-ed. The draws are not exactly
        uniform over all valid sequences.

        Parameters
        ----------
        n : int
            Number of sequences, >= 0.
        random_state : int, RandomState or None, default=None
            Seeds the draws.

        Returns
        -------
        sequences : ndarray of shape (n,), dtype object
            Valid upper-case DNA sequences (not necessarily distinct).

        Raises
        ------
        ValueError
            If the constraints defeat the repair 100 times in a row (for example forbidden
            motifs that leave no valid sequence).
        """
        if isinstance(n, bool | np.bool_) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}.")
        rng = check_random_state(random_state)
        out = np.empty(n, dtype=object)
        for i in range(n):
            for _ in range(100):
                p_gc = rng.uniform(self.gc_min, self.gc_max)
                is_gc = rng.random_sample(self.length) < p_gc
                pick = rng.randint(2, size=self.length)
                draft = "".join((_GC if g else _AT)[k] for g, k in zip(is_gc, pick, strict=True))
                seq = self.repair(draft, rng)
                if seq is not None:
                    out[i] = seq
                    break
            else:
                raise ValueError(
                    f"could not sample a sequence that satisfies {self!r} after 100 tries; "
                    "the constraints may leave no valid sequence."
                )
        return out
