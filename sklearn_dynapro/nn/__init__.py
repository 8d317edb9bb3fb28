"""Pure PyTorch building blocks of the DynaPro network (no scikit-learn or skorch here).

Tokens are left-padded with id 0 so that the base right before the start codon is the last
column; every module keeps padded positions at zero and positions are counted from the
start codon, so predictions do not depend on how much padding a batch carries.
"""

from ._backbone import UTRLMBackbone
from ._dynapro import DynaProNet
from ._embedding import TokenEmbedding, sinusoidal_encoding
from ._experts import KmerExpert, KmerMixtureOfExperts, RoutingInfo
from ._feedforward import PositionwiseFeedForward
from ._framepool import FramePoolNet, lengths_to_padding_mask
from ._fusion import DynamicFusion, GatedFusion
from ._head import MultimodalHead
from ._masking import PAD_ID, distance_to_3prime, padding_mask, zero_padding
from ._mttrans import MTtransNet, MTtransTower
from ._optimus import OptimusNet
from ._parallel_layer import ParallelConvTransformerLayer
from ._pooling import FramePooling

__all__ = [
    "PAD_ID",
    "DynaProNet",
    "DynamicFusion",
    "FramePoolNet",
    "FramePooling",
    "GatedFusion",
    "KmerExpert",
    "KmerMixtureOfExperts",
    "MTtransNet",
    "MTtransTower",
    "MultimodalHead",
    "OptimusNet",
    "ParallelConvTransformerLayer",
    "PositionwiseFeedForward",
    "RoutingInfo",
    "TokenEmbedding",
    "UTRLMBackbone",
    "distance_to_3prime",
    "lengths_to_padding_mask",
    "padding_mask",
    "sinusoidal_encoding",
    "zero_padding",
]
