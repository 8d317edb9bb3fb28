"""What a fitted model has learned: mutagenesis, variant effects and convolutional motifs.

- :func:`saturation_mutagenesis` predicts every single-base substitution of a UTR with any
  fitted estimator that takes raw sequences; :func:`plot_mutagenesis` draws it as a heatmap.
- :func:`score_variants` predicts reference / alternative pairs (SNVs, indels) and flags
  gained or lost upstream AUGs, frame shifts of uAUGs and upstream-ORF changes.
- :func:`find_motifs` turns the filters of a neural pipeline's first convolution into
  position probability matrices (Basset / MTtrans style); :func:`plot_logo` draws them and
  :func:`to_meme` writes them for the MEME suite.

Figures are drawn on :class:`matplotlib.figure.Figure` objects without pyplot, so importing
or calling these functions never changes the matplotlib backend.
"""

from ._meme import to_meme
from ._motifs import find_motifs
from ._mutagenesis import saturation_mutagenesis
from ._plotting import information_content, plot_logo, plot_mutagenesis
from ._variants import score_variants

__all__ = [
    "find_motifs",
    "information_content",
    "plot_logo",
    "plot_mutagenesis",
    "saturation_mutagenesis",
    "score_variants",
    "to_meme",
]
