"""Real 5' UTR measurements bundled with the package, and readers for the user's own files.

The bundled loaders return ``(X, y)`` and never download anything; see ``data/README.md``
for where each file comes from.
"""

from ._files import iter_sequences, load_sequences
from ._loaders import load_cao2021_te, load_mpra_random50, load_mpra_varlen_random

__all__ = [
    "iter_sequences",
    "load_cao2021_te",
    "load_mpra_random50",
    "load_mpra_varlen_random",
    "load_sequences",
]
