"""Sequences to model inputs: integer tokens and one-hot channels.

Both encoders pad on the 5' side, so the base right before the start codon is always the
last column and a column index means the same distance to the start codon in every row.
"""

from ._multimodal import DynaProEncoder
from ._onehot import SequenceOneHot
from ._tokenizer import MASK_ID, N_ID, PAD_ID, SequenceTokenizer, vocabulary_size

__all__ = [
    "MASK_ID",
    "N_ID",
    "PAD_ID",
    "DynaProEncoder",
    "SequenceOneHot",
    "SequenceTokenizer",
    "vocabulary_size",
]
