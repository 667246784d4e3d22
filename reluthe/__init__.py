"""reluthe: check what is said about the ReLU activation against mathematics and measurement.

The public surface is small. Research code imports the two analysis packages and the errors::

    from reluthe import regions, symbolic
    from reluthe import ReluTheError

Submodules are imported lazily, so ``import reluthe.symbolic`` never imports torch.

Examples
--------
>>> import reluthe
>>> reluthe.__version__
'0.1.0'
"""

from __future__ import annotations

import importlib

from reluthe.errors import (
    DatasetUnavailableError,
    InvalidInputError,
    RegionLimitError,
    ReluTheError,
    UnsupportedNetworkError,
)

__version__ = "0.1.0"

_SUBMODULES = (
    "symbolic", "regions", "probes", "nets", "data", "models", "train", "protocol", "stats",
    "claims", "activations",
)

__all__ = [
    "__version__",
    "ReluTheError",
    "InvalidInputError",
    "UnsupportedNetworkError",
    "RegionLimitError",
    "DatasetUnavailableError",
    *_SUBMODULES,
]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"reluthe.{name}")
    raise AttributeError(f"module 'reluthe' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
