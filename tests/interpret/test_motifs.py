"""Motifs from convolution filters, sequence logos and MEME output."""

import re

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.axes import Axes
from torch import nn

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.baselines import (
    make_framepool_pipeline,
    make_mttrans_pipeline,
    make_optimus_pipeline,
)
from sklearn_dynapro.interpret import find_motifs, information_content, plot_logo, to_meme

from .conftest import TINY_DYNAPRO

BASES = "ACGT"
COMMON = {"max_epochs": 1, "batch_size": 64, "lr": 3e-3, "random_state": 0}


def atg_sites(sequences) -> int:
    return sum(len(re.findall("(?=ATG)", s)) for s in sequences)


def plant(conv: nn.Conv1d, motif: str, *, constant: bool = False) -> None:
    """Filter 0 scores +1 per matching base and -1 otherwise, with bias -(len - 1): exactly
    1 on a perfect match, at most -1 elsewhere. With ``constant``, filter 1 is 1 everywhere
    (padding included); the other filters are switched off (all zero)."""
    weight = torch.zeros(conv.weight.shape)
    weight[0] = -1.0
    for t, base in enumerate(motif):
        weight[0, BASES.index(base), t] = 1.0
    bias = torch.zeros(conv.out_channels)
    bias[0] = -(len(motif) - 1.0)
    bias[1] = 1.0 if constant else 0.0
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)


@pytest.fixture(scope="module")
def optimus(mrl):
    X, y = mrl
    return make_optimus_pipeline(
        module__n_filters=2,
        module__n_conv_layers=2,
        module__kernel_size=3,
        module__dense_dim=2,
        **COMMON,
    ).fit(X, y)


def test_planted_atg_filter_is_recovered(optimus, mrl):
    X, _ = mrl
    plant(optimus[-1].module_.convs[1], "ATG")
    motifs = find_motifs(optimus, X, min_sites=1)
    assert len(motifs) == 1  # the silent filter has no sites
    top = motifs.iloc[0]
    assert (top["rank"], top["filter"], top["consensus"]) == (1, 0, "ATG")
    assert top["n_sites"] == atg_sites(X)
    np.testing.assert_array_equal(top["pwm"], np.eye(4)[[0, 3, 2]])
    np.testing.assert_array_equal(top["counts"].sum(axis=1), top["n_sites"])
    assert top["information_content"] == pytest.approx(6.0)
    assert top["max_activation"] == pytest.approx(1.0)
    assert motifs.attrs["layer"] == "convs.1"
    assert sum(motifs.attrs["background"].values()) == pytest.approx(1.0)
    # A DataFrame input gives the same result.
    frame = find_motifs(optimus, pd.DataFrame({"sequence": X}), min_sites=1)
    assert frame.loc[0, "n_sites"] == top["n_sites"]


def test_flipped_network_reports_motifs_5_to_3(mrl):
    """MTtrans reads the sequence from the start codon outward: its first convolution sees
    ATG as G, T, A. The windows must still come out 5' → 3'."""
    X, y = mrl
    pipe = make_mttrans_pipeline(
        module__conv_channels=(2, 2, 2, 2), module__tower_hidden=2, **COMMON
    ).fit(X, y)
    plant(pipe[-1].module_.convs[0], "GTA")
    top = find_motifs(pipe, X, min_sites=1).iloc[0]
    assert top["consensus"] == "ATG"
    assert top["n_sites"] == atg_sites(X)


def test_windows_over_padding_or_n_are_skipped(optimus, mrl):
    X, _ = mrl
    plant(optimus[-1].module_.convs[1], "ATG", constant=True)
    short = [s[-30:] for s in X[:50]]  # 20 positions of 5' padding each
    with_n = [s[:10] + "N" + s[11:] for s in X[50:100]]  # the N sits in 3 windows
    with pytest.warns(UserWarning, match="read as N"):
        motifs = find_motifs(optimus, short + with_n, min_sites=1).set_index("filter")
    # Filter 1 fires everywhere: its sites are exactly the usable 3-nt windows.
    assert motifs.loc[1, "n_sites"] == 50 * 28 + 50 * (48 - 3)
    assert motifs.loc[0, "n_sites"] == atg_sites(short + with_n)


def test_influence_is_the_change_when_a_filter_is_held_at_its_mean(optimus, mrl):
    X, _ = mrl
    X = X[:100]
    conv = optimus[-1].module_.convs[1]
    plant(conv, "ATG", constant=True)
    motifs = find_motifs(optimus, X, min_sites=1, rank_by="influence", influence_samples=100)
    motifs = motifs.set_index("filter")
    assert motifs.loc[1, "influence"] == 0.0  # a constant filter carries no information
    # Rebuild the silenced ATG filter by hand: zero weights and its mean activation as bias.
    onehot = torch.as_tensor(optimus[0].transform(X))
    with torch.no_grad():
        act = conv(nn.functional.pad(onehot, (1, 1)))[:, 0, 1:-1]  # windows inside the UTR
    model = optimus[-1]
    full = (optimus.predict(X) - model.y_mean_[0]) / model.y_scale_[0]
    weight, bias = conv.weight.detach().clone(), conv.bias.detach().clone()
    with torch.no_grad():
        conv.weight[0] = 0.0
        conv.bias[0] = act.mean()
    silenced = (optimus.predict(X) - model.y_mean_[0]) / model.y_scale_[0]
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    change = full - silenced
    assert motifs.loc[0, "influence"] == pytest.approx(np.sqrt(np.mean(change**2)), rel=1e-4)
    assert motifs.loc[0, "effect"] == pytest.approx(change.mean(), rel=1e-3, abs=1e-6)
    assert motifs["rank"].tolist() == [1, 2] and motifs.index[0] == 0
    assert find_motifs(optimus, X, min_sites=1)["influence"].isna().all()


def test_dynapro_windows_match_the_argmax_of_the_conv_branch(dynapro, mrl):
    """Threshold 1 keeps each filter's best window: compare it with a hand-made forward."""
    X, _ = mrl
    X = X[:100]
    motifs = find_motifs(dynapro, X, threshold=1.0, min_sites=1, top=None)
    assert motifs.attrs["layer"] == "layers.0.conv"
    assert motifs["pwm"].map(len).eq(7).all()

    net = dynapro[-1].module_.eval()
    tokens = torch.as_tensor(dynapro[0].transform(X)["tokens"])
    layer = net.layers[0]
    with torch.no_grad():
        mask = tokens == 0
        h = net.embedding(tokens, mask)
        h = layer.conv_norm(h).masked_fill(mask.unsqueeze(-1), 0.0)
        act = layer.conv(h.transpose(1, 2)).numpy()  # (n, filters, 50)
    act[:, :, :3] = act[:, :, -3:] = -np.inf  # windows reaching the zero padding
    single = motifs[motifs["n_sites"] == 1]  # others are ties of several windows
    assert len(single) >= 8
    for row in single.itertuples():
        seq_i, pos = np.unravel_index(act[:, row.filter].argmax(), (len(X), 50))
        assert row.consensus == X[seq_i][pos - 3 : pos + 4]


def test_kmer_tokens_widen_the_window(mrl):
    X, y = mrl
    pipe = make_dynapro_pipeline(k=3, **TINY_DYNAPRO).fit(X[:200], y[:200])
    motifs = find_motifs(pipe, X[:100], min_sites=1, top=3)
    assert len(motifs) == 3
    for pwm, counts, n in zip(motifs["pwm"], motifs["counts"], motifs["n_sites"], strict=True):
        assert pwm.shape == (9, 4)  # kernel 7 over 3-mers starting at each base
        np.testing.assert_allclose(pwm.sum(axis=1), 1.0)
        np.testing.assert_array_equal(counts.sum(axis=1), n)


@pytest.mark.parametrize("make", [make_framepool_pipeline, make_mttrans_pipeline])
def test_other_networks_rank_and_normalise(make, mrl):
    X, y = mrl
    network = (
        {"module__conv_channels": (4, 4, 4, 4), "module__tower_hidden": 2}
        if make is make_mttrans_pipeline
        else {"module__n_filters": 4, "module__dense_dim": 2}
    )
    pipe = make(**network, **COMMON).fit(X, y)
    motifs = find_motifs(pipe, X, min_sites=1, rank_by="n_sites")
    assert motifs["rank"].tolist() == list(range(1, len(motifs) + 1))
    assert motifs["n_sites"].is_monotonic_decreasing
    for pwm in motifs["pwm"]:
        np.testing.assert_allclose(pwm.sum(axis=1), 1.0)
    by_ic = find_motifs(pipe, X, min_sites=1, rank_by="information_content", top=2)
    assert len(by_ic) == 2 and by_ic["information_content"].is_monotonic_decreasing


def test_layers_that_are_not_first_or_unknown_are_refused(optimus, dynapro, ridge, mrl):
    X, _ = mrl
    with pytest.raises(ValueError, match=r"'convs\.4' must be applied position by position"):
        find_motifs(optimus, X[:20], layer="convs.4")
    expert = [n for n, m in dynapro[-1].module_.named_modules() if isinstance(m, nn.Conv1d)][1]
    with pytest.raises(ValueError, match="position by position"):
        find_motifs(dynapro, X[:20], layer=expert)
    with pytest.raises(ValueError, match=r"layer must name a Conv1d .*\['convs.1', 'convs.4'\]"):
        find_motifs(optimus, X[:20], layer="head.1")
    with pytest.raises(TypeError, match="ending in one of this library's neural regressors"):
        find_motifs(ridge, X[:20])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 0}, r"threshold must be a number in \(0, 1\]"),
        ({"threshold": 1.5}, r"threshold must be a number in \(0, 1\]"),
        ({"top": 0}, "top must be a positive int"),
        ({"min_sites": 0}, "min_sites must be a positive int"),
        ({"rank_by": "activation"}, "rank_by must be one of"),
        ({"influence_samples": 0}, "influence_samples must be a positive int"),
    ],
)
def test_bad_parameters(optimus, mrl, kwargs, match):
    X, _ = mrl
    with pytest.raises(ValueError, match=match):
        find_motifs(optimus, X[:20], **kwargs)


def test_bad_sequences_name_the_rows(optimus):
    with pytest.raises(ValueError, match=r"sequences: .*'#'.* at row \[1\]"):
        find_motifs(optimus, ["ACGT", "AC#T"])


# -------------------------------------------------------------------------- MEME output
def read_meme(path):
    """A strict little reader of the MEME minimal format: header, background, motifs."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    assert lines[0] == "MEME version 4"
    body = [line for line in lines[1:] if line]
    assert body[0] == "ALPHABET= ACGT"
    assert body[1].startswith("strands: ")
    assert body[2] == "Background letter frequencies"
    fields = body[3].split()
    background = dict(zip(fields[::2], map(float, fields[1::2]), strict=True))
    motifs, i = {}, 4
    while i < len(body):
        header = body[i].split()
        assert header[0] == "MOTIF" and len(header) in (2, 3)
        spec = re.fullmatch(
            r"letter-probability matrix: alength= 4 w= (\d+) nsites= (\d+) E= 0", body[i + 1]
        )
        assert spec, body[i + 1]
        width = int(spec.group(1))
        rows = np.array([[float(v) for v in line.split()] for line in body[i + 2 : i + 2 + width]])
        assert rows.shape == (width, 4)
        motifs[header[1]] = (rows, int(spec.group(2)), header[2:])
        i += 2 + width
    return background, motifs


def test_meme_file_parses_back(optimus, mrl, tmp_path):
    X, _ = mrl
    plant(optimus[-1].module_.convs[1], "ATG")
    motifs = find_motifs(optimus, X, min_sites=1)
    path = to_meme(motifs, tmp_path / "motifs.meme")
    background, parsed = read_meme(path)
    assert list(background) == list(BASES)
    assert sum(background.values()) == pytest.approx(1.0, abs=1e-5)
    assert background["A"] == pytest.approx(motifs.attrs["background"]["A"], abs=1e-6)
    rows, nsites, alt = parsed["filter_0"]
    np.testing.assert_allclose(rows, motifs.loc[0, "pwm"], atol=1e-6)
    assert nsites == motifs.loc[0, "n_sites"] and alt == ["ATG"]


def test_meme_from_plain_matrices(tmp_path):
    pwms = {"kozak": np.full((3, 4), 0.25), "atg": np.eye(4)[[0, 3, 2]]}
    background, parsed = read_meme(to_meme(pwms, tmp_path / "a.meme", strands="+ -"))
    assert background == {b: 0.25 for b in BASES}
    assert list(parsed) == ["kozak", "atg"] and parsed["atg"][1] == 20
    _, listed = read_meme(to_meme([np.eye(4)], tmp_path / "b.meme"))
    assert list(listed) == ["motif_1"]
    bad = np.array([[0.5, 0.5, 0.5, 0.0], [0.25] * 4])
    with pytest.raises(ValueError, match=r"motif 'x' must hold probabilities .* at row \[0\]"):
        to_meme({"x": bad}, tmp_path / "c.meme")
    with pytest.raises(ValueError, match="strands must be"):
        to_meme(pwms, tmp_path / "d.meme", strands="-")
    with pytest.raises(ValueError, match="background must give four positive"):
        to_meme(pwms, tmp_path / "e.meme", background=[1, 0, 0, 0])


def test_meme_names_are_unique_non_empty_words(tmp_path):
    # Such files had been written, and Tomtom and FIMO key motifs by name.
    u = np.full((2, 4), 0.25)
    with pytest.raises(ValueError, match=r"differ once whitespace becomes '_', got 'a b' and"):
        to_meme({"a b": u, "a_b": u}, tmp_path / "a.meme")
    with pytest.raises(ValueError, match="must not be empty or blank, got ' '"):
        to_meme({" ": u}, tmp_path / "b.meme")
    twice = pd.DataFrame({"filter": [0, 0], "pwm": [u, u]})  # two find_motifs results joined
    with pytest.raises(ValueError, match="'filter_0' and 'filter_0'"):
        to_meme(twice, tmp_path / "c.meme")


def test_meme_rows_are_written_summing_to_one(tmp_path):
    # A row off by up to 1e-3 passes the check; it was written as given (sum 0.9995).
    _, parsed = read_meme(to_meme({"m": [[0.2995, 0.2, 0.2, 0.3]]}, tmp_path / "m.meme"))
    assert parsed["m"][0].sum() == pytest.approx(1.0, abs=1e-6)


def test_background_of_data_missing_a_base_still_writes(optimus, mrl, tmp_path):
    # A base absent from the sequences had frequency 0, which to_meme refuses.
    X, _ = mrl
    no_t = [s.replace("T", "A") for s in X[:40]]
    plant(optimus[-1].module_.convs[1], "ATG")
    motifs = find_motifs(optimus, no_t, min_sites=1)
    assert min(motifs.attrs["background"].values()) > 0
    background, _ = read_meme(to_meme(motifs, tmp_path / "t.meme"))
    assert background["T"] > 0


# ------------------------------------------------------------------------------- logos
def test_logo_stacks_letters_by_information(tmp_path):
    pwm = np.array([[1.0, 0, 0, 0], [0.25] * 4, [0.5, 0, 0.5, 0]])
    np.testing.assert_allclose(information_content(pwm), [2.0, 0.0, 1.0])
    ax = plot_logo(pwm, title="test")
    assert isinstance(ax, Axes)
    # Column 0: one A of height 2; column 1: nothing; column 2: A and G of height 0.5 each.
    boxes = [p.get_path().get_extents() for p in ax.patches]
    assert len(boxes) == 3
    heights = sorted(round(b.height, 6) for b in boxes)
    assert heights == [0.5, 0.5, 2.0]
    assert sorted(round(b.x0) for b in boxes) == [0, 2, 2]
    ax.figure.savefig(tmp_path / "logo.png")
    assert (tmp_path / "logo.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"pwm must have shape \(width, 4\)"):
        plot_logo(np.ones((3, 3)) / 3)
