"""Save fitted models to a directory in a format that is safe to share, and load them back.

:func:`save` writes JSON (configuration, fitted values), safetensors (network weights, arrays)
and skops (scikit-learn steps) files plus a manifest of their SHA-256 digests; :func:`load`
checks the digests, builds only allow-listed classes and never unpickles.

Trust model: ``joblib.dump`` / ``joblib.load`` (pickle) is the quick round trip for files
you wrote yourself, since loading a pickle runs whatever code it holds. Use :func:`save` /
:func:`load` for models you share or receive.
"""

from ._io import load, save

__all__ = ["load", "save"]
