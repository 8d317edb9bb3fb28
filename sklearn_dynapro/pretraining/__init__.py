"""Pre-training of the transformer backbone on unlabelled UTRs (UTR-LM and 3UTRBERT style).

:class:`UTRLanguageModel` trains a :class:`~sklearn_dynapro.nn.UTRLMBackbone` with masked-token
prediction (optionally on overlapping k-mers with whole-k-mer masking), MFE regression and
per-position secondary-structure classification; ``DynaProRegressor(pretrained=...)`` then
fine-tunes it. :func:`fold_structures` gives the ViennaRNA structures the objectives use and
:func:`mask_tokens` the corruption.
"""

from ._language_model import UTRLanguageModel
from ._masking import mask_tokens, select_positions
from ._network import PretrainingNet
from ._structure import (
    STRUCTURE_CLASSES,
    clear_structure_cache,
    fold_structures,
    structure_labels,
)
from ._weights import load_backbone

__all__ = [
    "STRUCTURE_CLASSES",
    "PretrainingNet",
    "UTRLanguageModel",
    "clear_structure_cache",
    "fold_structures",
    "load_backbone",
    "mask_tokens",
    "select_positions",
    "structure_labels",
]
