"""Matplotlib figures: mutagenesis heatmaps and sequence logos.

No pyplot: when no ``ax`` is given the functions draw on a new
:class:`matplotlib.figure.Figure`, which renders with the Agg canvas on ``savefig`` and
leaves the global backend and pyplot's figure list untouched (safe in scripts, servers and
test runs alike). Saving is the caller's job: ``ax.figure.savefig("plot.png")``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import format_rows

__all__ = ["information_content", "plot_logo", "plot_mutagenesis"]

BASES = "ACGT"
#: Conventional nucleotide logo colours.
LOGO_COLORS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}
_MUTAGENESIS_COLUMNS = ("sequence_id", "position", "distance_to_start", "ref", "alt", "delta")


def _new_axes(figsize: tuple[float, float]):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained").add_subplot()


def check_pwm(pwm, *, name: str = "pwm") -> np.ndarray:
    """Return a position probability matrix as float64 of shape (width, 4), or raise.

    Rows must be non-negative and sum to 1 (within 1e-3); the message names the rows that
    do not. The rows returned sum to 1 exactly (each is divided by its sum).
    """
    arr = np.asarray(pwm, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] == 0:
        raise ValueError(
            f"{name} must have shape (width, 4) with columns A, C, G, T, got {arr.shape}."
        )
    bad = ~np.isfinite(arr).all(axis=1) | (arr < 0).any(axis=1)
    bad |= np.abs(arr.sum(axis=1) - 1.0) > 1e-3
    if bad.any():
        raise ValueError(
            f"{name} must hold probabilities (non-negative rows summing to 1), got other "
            f"values at {format_rows(np.flatnonzero(bad))}."
        )
    return arr / arr.sum(axis=1, keepdims=True)


def information_content(pwm) -> np.ndarray:
    """Information content of each position of a probability matrix, in bits.

    Parameters
    ----------
    pwm : array-like of shape (width, 4)
        Position probability matrix, columns ``A, C, G, T``, rows summing to 1.

    Returns
    -------
    ic : ndarray of shape (width,), float64
        ``2 + Σ p log2 p`` (``0 log 0 = 0``): 0 for a uniform position, 2 for a certain one.
        The background is uniform, as in the usual nucleotide logo.
    """
    p = check_pwm(pwm)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(p), 0.0)
    return np.clip(2.0 + plogp.sum(axis=1), 0.0, 2.0)


def plot_logo(pwm, *, ax=None, colors: dict[str, str] | None = None, title: str | None = None):
    """Draw a sequence logo: at each position, letters stacked by ``p × information content``.

    Letters are glyph outlines (:class:`matplotlib.textpath.TextPath`) stretched to their
    height, the most probable on top, so the stack height is the position's information
    content in bits (0 to 2).

    Parameters
    ----------
    pwm : array-like of shape (width, 4)
        Position probability matrix, columns ``A, C, G, T`` (for example a ``pwm`` of
        :func:`find_motifs`).
    ax : matplotlib.axes.Axes or None, default=None
        Axes to draw on; a new figure when None.
    colors : dict of str to color or None, default=None
        Colour of each base; green A, blue C, yellow G, red T when None.
    title : str or None, default=None
        Axes title.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on (``ax.figure.savefig(path)`` writes it to a file).
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    p = check_pwm(pwm)
    ic = information_content(p)
    colors = {**LOGO_COLORS, **(colors or {})}
    if ax is None:
        ax = _new_axes((max(2.5, 0.45 * p.shape[0] + 0.8), 1.8))
    font = FontProperties(family="DejaVu Sans", weight="bold")
    glyphs = {b: TextPath((0, 0), b, size=1, prop=font) for b in BASES}
    for x, (probs, bits) in enumerate(zip(p, ic, strict=True)):
        y = 0.0
        for b in np.argsort(probs, kind="stable"):
            height = probs[b] * bits
            if height <= 1e-4:
                continue
            glyph = glyphs[BASES[b]]
            box = glyph.get_extents()
            # Fit the glyph's bounding box to a 0.9-wide, height-tall slot at (x, y).
            to_slot = (
                Affine2D()
                .translate(-box.x0, -box.y0)
                .scale(0.9 / box.width, height / box.height)
                .translate(x + 0.05, y)
            )
            ax.add_patch(
                PathPatch(
                    to_slot.transform_path(glyph),
                    facecolor=colors[BASES[b]],
                    edgecolor="none",
                )
            )
            y += height
    ax.set_xlim(0, p.shape[0])
    ax.set_ylim(0, 2)
    ax.set_xticks(np.arange(p.shape[0]) + 0.5, [str(i + 1) for i in range(p.shape[0])])
    ax.set_ylabel("bits")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_mutagenesis(
    effects: pd.DataFrame,
    *,
    sequence_id=None,
    ax=None,
    cmap: str = "RdBu_r",
    colorbar: bool = True,
):
    """Heatmap of a saturation mutagenesis: Δ prediction for each base at each position.

    Rows are the bases ``A, C, G, T``, columns the positions 5' → 3' labelled by their
    distance to the start codon; the colour is ``delta`` on a diverging map centred on 0
    (limits ``±max |delta|``). Reference bases (no substitution, Δ = 0) carry a black dot.

    Parameters
    ----------
    effects : DataFrame
        Output of :func:`saturation_mutagenesis`.
    sequence_id : object or None, default=None
        Which sequence to draw; may be omitted when ``effects`` holds one sequence only.
    ax : matplotlib.axes.Axes or None, default=None
        Axes to draw on; a new figure when None.
    cmap : str or Colormap, default="RdBu_r"
        Diverging colour map (red: the substitution raises the prediction).
    colorbar : bool, default=True
        Add a colour bar labelled "Δ prediction".

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on (``ax.figure.savefig(path)`` writes it to a file).

    Raises
    ------
    ValueError
        If ``effects`` lacks a column of :func:`saturation_mutagenesis` or ``sequence_id``
        is missing or ambiguous.
    """
    if not isinstance(effects, pd.DataFrame):
        raise TypeError(
            "effects must be the DataFrame returned by saturation_mutagenesis, got "
            f"{type(effects).__name__}."
        )
    missing = [c for c in _MUTAGENESIS_COLUMNS if c not in effects.columns]
    if missing:
        raise ValueError(
            f"effects must have the columns of saturation_mutagenesis, missing {missing}."
        )
    ids = pd.unique(effects["sequence_id"])
    if sequence_id is None:
        if len(ids) != 1:
            raise ValueError(
                f"sequence_id must name one of the {len(ids)} sequences in effects (first: "
                f"{list(ids[:5])}), got None."
            )
        sequence_id = ids[0]
    rows = effects[effects["sequence_id"] == sequence_id]
    if rows.empty:
        raise ValueError(
            f"sequence_id must be one of the sequences in effects (first: {list(ids[:5])}), "
            f"got {sequence_id!r}."
        )
    if rows.duplicated(["position", "alt"]).any():
        raise ValueError(
            f"sequence_id must name one sequence, got {sequence_id!r}, which names several "
            "(give saturation_mutagenesis unique ids)."
        )
    length = int(rows["position"].max())
    column = rows["position"].to_numpy() - 1
    heat = np.zeros((4, length))
    heat[rows["alt"].map(BASES.index).to_numpy(), column] = rows["delta"].to_numpy()
    reference = rows.drop_duplicates("position")
    ref_x = reference["position"].to_numpy() - 1
    ref_y = reference["ref"].map(BASES.index).to_numpy()

    if ax is None:
        ax = _new_axes((max(4.0, 0.16 * length + 2.0), 2.2))
    limit = float(np.abs(heat).max()) or 1.0
    image = ax.imshow(
        heat, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest"
    )
    ax.scatter(ref_x, ref_y, s=6, c="black", marker="o", linewidths=0)
    ax.set_yticks(range(4), list(BASES))
    step = max(1, int(np.ceil(length / 20)))
    ticks = np.arange(length - 1, -1, -step)[::-1]
    ax.set_xticks(ticks, [str(t - length) for t in ticks])
    ax.set_xlabel("position (nt from the start codon)")
    ax.set_title(f"sequence {sequence_id}")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="Δ prediction", pad=0.01)
    return ax
