"""The memory budget of the region counters: how much the subdivision may hold, checked before
every step that grows it.

``max_regions`` does not bound memory: the number of faces (and the working arrays of one cut)
grows with the dimension far faster than the number of regions (one layer of 12 units in a 10-D
box, 4,083 regions, once took 23.7 GB). Every counter therefore takes ``max_memory`` (bytes). The
default is :data:`DEFAULT_FRACTION` of the memory available when the call starts
(``psutil.virtual_memory().available`` when psutil is installed, else ``MemAvailable`` of
``/proc/meminfo``; :data:`FALLBACK_BYTES` where neither exists). Before every allocation that
grows the subdivision's arrays, and before the working arrays of every cut and of the read-out,
the bytes already held plus the bytes about to be allocated are compared with the budget; going
over raises :class:`~reluthe.errors.RegionLimitError` (with ``found``: the cells so far) saying
what was reached and how to go on. The check counts numpy arrays (what grows); the Python
objects around them are a few kilobytes.
"""

from __future__ import annotations

import numbers

from reluthe._validate import _fmt
from reluthe.errors import InvalidInputError, RegionLimitError

__all__ = ["DEFAULT_FRACTION", "FALLBACK_BYTES", "available_bytes", "default_budget",
           "memory_budget", "over_budget",
           "size_text"]

DEFAULT_FRACTION = 0.5
"""Share of the available memory that a counter may use by default."""

FALLBACK_BYTES = 4 << 30
"""Default budget where the available memory cannot be read (4 GiB)."""


def available_bytes() -> int | None:
    """Memory available to a new allocation now, in bytes (None if it cannot be read)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def default_budget() -> int:
    """``DEFAULT_FRACTION`` of :func:`available_bytes` (``FALLBACK_BYTES`` when unknown)."""
    avail = available_bytes()
    return FALLBACK_BYTES if avail is None else max(1, int(DEFAULT_FRACTION * avail))


def memory_budget(value, *, func: str) -> int:
    """The ``max_memory`` argument as bytes: a positive integer, or None for the default."""
    if value is None:
        return default_budget()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidInputError(f"The 'max_memory' parameter of {func} must be a positive "
                                f"integer number of bytes, or None (default: "
                                f"{DEFAULT_FRACTION:g} of the available memory). Got "
                                f"{_fmt(value)} instead.")
    return int(value)


def size_text(n: int) -> str:
    """``n`` bytes in GiB, MiB, KiB or B, e.g. ``"4.0 GiB"``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def over_budget(budget: int, held: int, extra: int, what: str, where: str,
                found: int | None) -> RegionLimitError:
    """The error for a step needing ``extra`` bytes on top of ``held`` (budget ``budget``)."""
    return RegionLimitError(
        f"Memory budget max_memory={budget} bytes ({size_text(budget)}) reached: {what} needs "
        f"{size_text(extra)} more on top of the {size_text(held)} held ({where}). Raise "
        f"max_memory (None: {DEFAULT_FRACTION:g} of the available memory), shrink the domain, or "
        f"use a network with fewer units.", found=found)
