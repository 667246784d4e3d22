"""The one rule by which every claim derives its seeds from the run's master seed.

A master seed ``m`` owns the block ``[m * BLOCK, (m + 1) * BLOCK)`` of integers, so runs under two
master seeds (``--seed 0`` and ``--seed 1``, or the members of ``--replicate K``) never share a
seed. Inside the block each stream owns a sub-block of ``STREAM_SIZE`` seeds, in the order of
:data:`STREAMS`; seed ``i`` of stream ``s`` is ``m * BLOCK + STREAMS.index(s) * STREAM_SIZE + i``.
Every seed is below 2**32, so numpy's and scikit-learn's legacy seeding accept it too.

Streams name what a seed draws, so that adding models to an experiment never moves its data:

* ``model``: initial weights, dropout masks and batch order of trained models;
* ``data``: generated datasets and the train/validation/test splits of real ones;
* ``bootstrap``: resampling in confidence intervals;
* ``noise``: label noise, augmentations, shuffled labels, GAN latent draws;
* ``probe``: random inputs, directions and planes at which trained models are probed;
* ``timing``: the order and inputs of timing repeats.

Examples
--------
>>> derive(0, "model", 3)
[0, 1, 2]
>>> derive(1, "data", 2)
[1064960, 1064961]
>>> set(derive(0, "model", 5)).isdisjoint(derive(1, "model", 5))
True
"""

from __future__ import annotations

from reluthe.errors import InvalidInputError

__all__ = ["STREAMS", "BLOCK", "STREAM_SIZE", "MAX_MASTER", "derive", "check_master"]

STREAMS: tuple[str, ...] = ("model", "data", "bootstrap", "noise", "probe", "timing")
STREAM_SIZE = 2**14
BLOCK = 2**20
MAX_MASTER = 2**32 // BLOCK - 1  # 4095: the last master seed whose block stays below 2**32


def check_master(seed, *, name: str = "seed") -> int:
    """``seed`` as a master seed, or :class:`InvalidInputError` naming ``name``.

    Examples
    --------
    >>> check_master(7)
    7
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_MASTER:
        raise InvalidInputError(f"The {name!r} master seed must be an integer in "
                                f"[0, {MAX_MASTER}]. Got {seed!r} instead.")
    return seed


def derive(master: int, stream: str, n: int, start: int = 0) -> list[int]:
    """Seeds ``start .. start + n - 1`` of ``stream`` under master seed ``master``.

    Parameters
    ----------
    master : int
        The run's master seed (``--seed``), in ``[0, MAX_MASTER]``.
    stream : str
        One of :data:`STREAMS`.
    n : int
        How many seeds; ``start + n`` must not exceed ``STREAM_SIZE``.
    start : int
        Index of the first seed within the stream (for a second, disjoint set of the same kind).

    Returns
    -------
    list of int

    Examples
    --------
    >>> derive(0, "bootstrap", 1)
    [32768]
    >>> derive(0, "model", 2, start=5)
    [5, 6]
    """
    master = check_master(master, name="master")
    if stream not in STREAMS:
        raise InvalidInputError(f"The 'stream' of a seed must be one of {list(STREAMS)}. "
                                f"Got {stream!r} instead.")
    for label, value in (("n", n), ("start", start)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInputError(f"The {label!r} of derive() must be a non-negative "
                                    f"integer. Got {value!r} instead.")
    if start + n > STREAM_SIZE:
        raise InvalidInputError(f"A stream holds {STREAM_SIZE} seeds; start + n = {start + n} "
                                "is beyond it. Use fewer seeds or another stream.")
    first = master * BLOCK + STREAMS.index(stream) * STREAM_SIZE + start
    return list(range(first, first + n))
