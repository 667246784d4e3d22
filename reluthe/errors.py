"""The one exception hierarchy of reluthe.

Every error that reluthe raises on purpose derives from :class:`ReluTheError`, so research code can
catch them all with one ``except`` clause.

Examples
--------
>>> from reluthe.errors import InvalidInputError, ReluTheError
>>> issubclass(InvalidInputError, ValueError) and issubclass(InvalidInputError, ReluTheError)
True
"""

from __future__ import annotations

__all__ = [
    "ReluTheError",
    "InvalidInputError",
    "UnsupportedNetworkError",
    "RegionLimitError",
    "DatasetUnavailableError",
]


class ReluTheError(Exception):
    """Base class of every error raised by reluthe."""


class InvalidInputError(ReluTheError, ValueError):
    """An argument has a wrong value, type, shape, or contains NaN/inf.

    The message names the argument, what was received, and what is accepted.
    """


class UnsupportedNetworkError(ReluTheError, TypeError):
    """A network contains a layer that the piecewise-linear machinery cannot represent.

    The message names the offending module and lists the supported ones.
    """


class RegionLimitError(ReluTheError, RuntimeError):
    """A region count exceeded ``max_regions``; ``found`` holds how many were found so far."""

    def __init__(self, message: str, found: int | None = None):
        super().__init__(message)
        self.found = found


class DatasetUnavailableError(ReluTheError, RuntimeError):
    """A dataset cannot be produced here (e.g. it needs a download and there is no network)."""
