"""DesignConstraints: normalisation, checks, impossible settings, sampling and repair."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.design import DesignConstraints


def test_fixed_motifs_are_normalised_to_positions():
    c = DesignConstraints(10, fixed={-3: "a", 0: "gu"})
    assert c.fixed == {0: "G", 1: "T", 7: "A"}
    assert DesignConstraints(10, fixed=[(7, "A"), (0, "GT")]).fixed == c.fixed
    assert DesignConstraints(10, forbidden_motifs=["ggucuc"]).forbidden_motifs == ("GGTCTC",)
    assert pickle.loads(pickle.dumps(c)) == c
    # Frozen, so hashable; equal constraints hash equal whichever way they were written.
    same = DesignConstraints(10, fixed=[(7, "A"), (0, "GT")])
    assert hash(same) == hash(c) and len({c, same, DesignConstraints(10)}) == 2


def test_fixed_refuses_edits_in_place():
    # The free positions and the hash are derived from fixed once: an edit would desync them.
    c = DesignConstraints(10, fixed={0: "G"})
    for edit in (
        lambda f: f.__setitem__(3, "A"),
        lambda f: f.update({3: "A"}),
        lambda f: f.pop(0),
        lambda f: f.clear(),
    ):
        with pytest.raises(TypeError, match=r"dataclasses\.replace"):
            edit(c.fixed)
    assert c.fixed == {0: "G"} and c == DesignConstraints(10, fixed={0: "G"})
    assert pickle.loads(pickle.dumps(c)).fixed == {0: "G"}


def test_violations_name_each_problem():
    c = DesignConstraints(
        12,
        forbid_uaug=True,
        kozak=True,
        gc_min=0.25,
        gc_max=0.5,
        fixed={0: "G"},
        forbidden_motifs=["CCCC"],
    )
    assert c.violations("GACTTACAGAAA") == []
    assert c.is_valid("gacuuacagaaa")
    problems = c.violations("AATGCCCCGTCA")
    assert problems == [
        "position 0 must be G, got A",
        "Kozak position -3 must be A or G, got T",
        "uAUG (ATG) at position 1",
        "motif CCCC at position 4",
        "GC fraction 0.583 > gc_max=0.5",
    ]
    assert c.violations("GATTAAAATAAA") == ["GC fraction 0.0833 < gc_min=0.25"]
    assert c.violations("GAAT") == ["length 4, expected 12"]
    assert c.violations("GAATTAAAGANA") == ["bases other than A, C, G, T: 'N'"]
    np.testing.assert_array_equal(c.check(["GACTTACAGAAA", "AATGCCCCGTCA"]), [True, False])
    with pytest.raises(TypeError, match="use is_valid for one sequence"):
        c.check("GAATTAAAGAAA")


def test_uaug_count_is_inside_the_utr_only():
    # A UTR ending in "AT" reads "...ATATG" with the start codon: no extra uAUG.
    c = DesignConstraints(6, forbid_uaug=True)
    assert c.is_valid("CCCCAT")
    assert c.is_valid("CCCCCA")
    assert not c.is_valid("CCCATG")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"length": 0}, ValueError, "length must be an int >= 1, got 0"),
        ({"length": 5.0}, TypeError, "length must be an int"),
        ({"length": 50, "gc_min": 0.7, "gc_max": 0.3}, ValueError, "gc_min must be <= gc_max"),
        ({"length": 50, "gc_max": 1.2}, ValueError, r"gc_max must be a number in \[0, 1\]"),
        ({"length": 3, "gc_min": 0.4, "gc_max": 0.6}, ValueError, "allow 2..1 G/C bases"),
        ({"length": 50, "fixed": {48: "GGG"}}, ValueError, "must fit in the 50-nt UTR"),
        ({"length": 50, "fixed": {-51: "G"}}, ValueError, "must fit in the 50-nt UTR"),
        ({"length": 50, "fixed": [(0, "GG"), (1, "A")]}, ValueError, "must agree"),
        ({"length": 50, "fixed": {0: "GXG"}}, ValueError, "string of A, C, G, T"),
        ({"length": 50, "fixed": "GGG"}, TypeError, "must map start positions"),
        ({"length": 50, "fixed": {2: "CATGC"}, "forbid_uaug": True}, ValueError, "'ATG'"),
        (
            {"length": 50, "fixed": {0: "GAATTC"}, "forbidden_motifs": ["AATT"]},
            ValueError,
            "forbidden motif 'AATT'",
        ),
        ({"length": 50, "kozak": True, "fixed": {-3: "C"}}, ValueError, "A or G at position -3"),
        ({"length": 2, "kozak": True}, ValueError, "length >= 3"),
        (
            {"length": 10, "fixed": {0: "GGGGGG"}, "gc_max": 0.5},
            ValueError,
            "fixed bases allow 6..10",
        ),
        ({"length": 50, "forbidden_motifs": "GAATTC"}, TypeError, r"pass \['GAATTC'\]"),
        ({"length": 50, "forbidden_motifs": [""]}, ValueError, "non-empty"),
        ({"length": 50, "forbid_uaug": "yes"}, TypeError, "forbid_uaug must be a bool"),
    ],
)
def test_impossible_or_malformed_constraints(kwargs, error, match):
    with pytest.raises(error, match=match):
        DesignConstraints(**kwargs)


def test_sampled_sequences_are_valid_and_seeded():
    c = DesignConstraints(
        50,
        forbid_uaug=True,
        kozak=True,
        gc_min=0.4,
        gc_max=0.6,
        fixed={10: "GAATTC"},
        forbidden_motifs=["GGTCTC", "GAGACC"],
    )
    for seed in range(3):
        seqs = c.sample(100, random_state=seed)
        assert seqs.shape == (100,)
        assert c.check(seqs).all()
    np.testing.assert_array_equal(c.sample(20, random_state=5), c.sample(20, random_state=5))
    gc = [(s.count("G") + s.count("C")) / 50 for s in c.sample(200, random_state=0)]
    assert min(gc) >= 0.4 and max(gc) <= 0.6 and max(gc) - min(gc) >= 0.1
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        c.sample(-1)


def test_repair_fixes_real_sequences_at_free_positions():
    X, _ = load_mpra_random50()
    c = DesignConstraints(50, forbid_uaug=True, gc_min=0.45, gc_max=0.55, fixed={-1: "A"})
    broken = [s for s in X[:200] if not c.is_valid(s)]
    assert len(broken) > 100
    rng = np.random.RandomState(0)
    for seq in broken[:50]:
        repaired = c.repair(seq, rng)
        assert c.is_valid(repaired)
        assert repaired[-1] == "A"
    with pytest.raises(ValueError, match="length 50"):
        c.repair("ACGT")
    # Lower case and U are read as violations() reads them (they used to hide the ATGs).
    short = DesignConstraints(12, forbid_uaug=True)
    for seq in ("ccatgccatgcc", "CCATGCCAUGCC"):
        repaired = short.repair(seq, random_state=0)
        assert short.is_valid(repaired) and set(repaired) <= set("ACGT")
    with pytest.raises(ValueError, match="only A, C, G, T"):
        short.repair("CCATGCCANGCC")


@pytest.mark.parametrize(
    ("constraints", "sequence", "needed"),
    [
        (DesignConstraints(6, forbid_uaug=True), "ATGCCC", 1),
        (DesignConstraints(4, gc_min=0.5), "AAAC", 1),
        (DesignConstraints(6, kozak=True), "CCCCCC", 1),
        (DesignConstraints(6), "ACGTAC", 0),
    ],
)
def test_repair_makes_up_to_max_changes_edits(constraints, sequence, needed):
    repaired = constraints.repair(sequence, random_state=0, max_changes=needed)
    assert constraints.is_valid(repaired)
    assert sum(a != b for a, b in zip(repaired, sequence, strict=True)) == needed
    if needed:
        assert constraints.repair(sequence, random_state=0, max_changes=needed - 1) is None


@pytest.mark.parametrize("max_changes", [-1, 1.5, True])
def test_repair_refuses_bad_max_changes(max_changes):
    with pytest.raises((ValueError, TypeError), match="max_changes"):
        DesignConstraints(6).repair("ACGTAC", max_changes=max_changes)


def test_sampling_fails_clearly_when_nothing_is_valid():
    # Banning every dinucleotide leaves no valid 4-nt sequence.
    c = DesignConstraints(4, forbidden_motifs=[a + b for a in "ACGT" for b in "ACGT"])
    with pytest.raises(ValueError, match="could not sample"):
        c.sample(1, random_state=0)


@settings(max_examples=40, deadline=None)
@given(
    length=st.integers(3, 40),
    gc=st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted),
    motif=st.text("ACGT", min_size=1, max_size=3),
    flags=st.tuples(st.booleans(), st.booleans()),
    data=st.data(),
)
def test_sampling_satisfies_any_feasible_constraints(length, gc, motif, flags, data):
    start = data.draw(st.integers(0, length - len(motif)))
    try:
        c = DesignConstraints(
            length,
            forbid_uaug=flags[0],
            kozak=flags[1],
            gc_min=gc[0],
            gc_max=gc[1],
            fixed={start: motif},
        )
    except ValueError as exc:
        # Rejected up front only when the constraints cannot hold.
        assert "cannot hold" in str(exc) or "spell" in str(exc) or "A or G" in str(exc)
        return
    seqs = c.sample(5, random_state=data.draw(st.integers(0, 2**16)))
    assert c.check(seqs).all()
