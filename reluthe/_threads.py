"""Torch intra-op thread settings, changed only temporarily and always restored.

Batched small models (K × 128 × 100 matrices) gain little from intra-op threads; on a 2-core
machine whose other core is busy, a second thread made such runs 5-8 times slower (measured for
the sparsity and architecture claims). Measurements that train such models use
:func:`single_threaded`; timing probes choose their thread count with :func:`torch_threads`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

__all__ = ["torch_threads", "single_threaded"]


@contextmanager
def torch_threads(n: int | None) -> Iterator[int]:
    """Set torch's intra-op thread count to ``n`` (``None``: leave it) inside the block.

    Yields the count in force; the caller's setting is restored on exit.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1) as n:
    ...     n
    1
    >>> torch.get_num_threads() == before
    True
    """
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(old)


def single_threaded(func: Callable) -> Callable:
    """Decorator: run ``func`` with one torch intra-op thread, restoring the setting after."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with torch_threads(1):
            return func(*args, **kwargs)

    return wrapper
