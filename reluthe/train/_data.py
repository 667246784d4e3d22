"""What every trainer reads and scores: a validated dataset, seeded minibatch orders, the loss."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence

import numpy as np
import torch

from reluthe._validate import check_device, check_positive_int, check_seed
from reluthe.data import Dataset
from reluthe.errors import InvalidInputError

BATCH_SEED_OFFSET = 7919  # batch order generator = seed + offset, distinct from the init generator


_FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_dataset(dataset: Dataset, func: str) -> Dataset:
    """``dataset`` checked, with its tensors in the dtypes the trainers compute in.

    Accepted and converted (a copy; the caller's dataset is untouched): inputs ``x_*`` of any
    floating dtype (float16, bfloat16, float32, float64) become float32; class labels of any
    integer dtype become int64; regression targets of any floating dtype become float32.
    Refused with :class:`InvalidInputError` naming the split: a field that is not a
    ``torch.Tensor`` (numpy and object arrays included), integer, bool or complex inputs
    (integer pixels must be scaled to floats first), non-integer class labels or labels outside
    ``[0, n_classes)``, a split whose inputs and targets differ in length, and NaN/inf values.
    """
    if not isinstance(dataset, Dataset):
        raise InvalidInputError(f"The 'dataset' parameter of {func} must be a reluthe.data.Dataset "
                                f"(from reluthe.data.load). Got {type(dataset).__name__} instead.")
    head = f"The 'dataset' parameter of {func} (dataset {dataset.name!r})"
    k = dataset.n_classes
    if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1):
        raise InvalidInputError(f"{head} must have n_classes None (regression) or an integer "
                                f">= 1. Got {k!r} instead.")
    converted = {}
    for split in ("train", "val", "test"):
        x, y = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
        for name, t in ((f"x_{split}", x), (f"y_{split}", y)):
            if not isinstance(t, torch.Tensor):
                raise InvalidInputError(f"{head} must hold torch.Tensor splits. Got "
                                        f"{type(t).__name__} in {name} instead.")
        if x.dtype not in _FLOATING:
            raise InvalidInputError(f"{head} must hold floating-point inputs (float16, bfloat16, "
                                    f"float32 or float64; converted to float32). Got {x.dtype} in "
                                    f"x_{split} instead; convert (and scale) it with .float().")
        if len(x) != len(y):
            raise InvalidInputError(f"{head} must have one label per row in each split. Got "
                                    f"{len(x)} rows in x_{split} and {len(y)} in y_{split}.")
        if x.dtype != torch.float32:
            converted[f"x_{split}"] = x.float()
        if k is None:
            if y.dtype not in _FLOATING:
                raise InvalidInputError(f"{head} is a regression task: y_{split} must hold "
                                        f"floating-point targets. Got {y.dtype} instead.")
            if y.dtype != torch.float32:
                converted[f"y_{split}"] = y.float()
        else:
            if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
                raise InvalidInputError(f"{head} has {k} classes: y_{split} must hold integer "
                                        f"class labels (any integer dtype; converted to int64). "
                                        f"Got {y.dtype} instead.")
            if y.dim() != 1 or (len(y) and (int(y.min()) < 0 or int(y.max()) >= k)):
                raise InvalidInputError(f"{head} has {k} classes: y_{split} must be a 1-D tensor "
                                        f"of labels in [0, {k}). Got shape {tuple(y.shape)} and "
                                        f"values {_range(y)} instead.")
            if y.dtype != torch.int64:
                converted[f"y_{split}"] = y.long()
    for split in ("train", "val", "test"):
        for name in (f"x_{split}",) + ((f"y_{split}",) if k is None else ()):
            t = converted.get(name, getattr(dataset, name))
            if not torch.isfinite(t).all():
                raise InvalidInputError(f"Dataset {dataset.name!r} has NaN/inf values in {name}.")
    if not converted:
        return dataset
    return dataclasses.replace(dataset, options=dict(dataset.options), **converted)


def _range(y: torch.Tensor) -> str:
    return f"in [{int(y.min())}, {int(y.max())}]" if len(y) else "(none)"


def batch_order(n: int, batch_size: int, steps: int, seed: int) -> torch.Tensor:
    """Minibatch indices of one model: seeded epoch permutations, last partial batch dropped.

    Shared by every trainer of the package, so a model trained alone (:func:`fit`) and the
    same model as a member of a stack see the same minibatches.

    Parameters
    ----------
    n : int
        Training set size.
    batch_size, steps : int
        Minibatch size and number of minibatches.
    seed : int
        The model's seed; the permutations come from ``torch.Generator().manual_seed(seed +
        7919)`` (the global RNG is untouched).

    Returns
    -------
    torch.Tensor of int64, shape (steps, batch_size)

    Raises
    ------
    InvalidInputError
        ``batch_size`` larger than ``n``.

    Examples
    --------
    >>> order = batch_order(10, 4, 5, seed=0)  # 2 batches per epoch of 10
    >>> order.shape, len(set(order[:2].flatten().tolist()))  # an epoch repeats no index
    (torch.Size([5, 4]), 8)
    """
    f = "batch_order"
    n = check_positive_int(n, param="n", func=f)
    batch_size = check_positive_int(batch_size, param="batch_size", func=f)
    steps = check_positive_int(steps, param="steps", func=f)
    seed = check_seed(seed, func=f)
    if batch_size > n:
        raise InvalidInputError(f"batch_size ({batch_size}) exceeds the training set size ({n}).")
    gen = torch.Generator().manual_seed(seed + BATCH_SEED_OFFSET)
    per_epoch = n // batch_size
    epochs = -(-steps // per_epoch)
    perms = [torch.randperm(n, generator=gen)[: per_epoch * batch_size] for _ in range(epochs)]
    return torch.cat(perms).view(-1, batch_size)[:steps]


def member_orders(n: int, batch_size: int, steps: int, seeds: Sequence[int], *,
                  device: str | torch.device = "cpu") -> torch.Tensor:
    """Minibatch indices of K stacked members: member k follows ``batch_order(.., seeds[k])``.

    Parameters
    ----------
    n, batch_size, steps : int
        As in :func:`batch_order`.
    seeds : sequence of int
        One seed per member (members with the same seed share their minibatches).
    device : str or torch.device

    Returns
    -------
    torch.Tensor of int64, shape (steps, K, batch_size), on ``device``

    Examples
    --------
    >>> orders = member_orders(100, 8, 3, [0, 5, 0])
    >>> orders.shape, bool((orders[:, 0] == batch_order(100, 8, 3, 0)).all())
    (torch.Size([3, 3, 8]), True)
    >>> bool((orders[:, 0] == orders[:, 2]).all())
    True
    """
    device = check_device(device, func="member_orders")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence | np.ndarray) \
            or len(seeds) == 0:
        raise InvalidInputError(f"The 'seeds' parameter of member_orders must be a non-empty "
                                f"sequence of integers. Got {seeds!r} instead.")
    seeds = [check_seed(s, func="member_orders", param="seeds") for s in seeds]
    cache = {s: batch_order(n, batch_size, steps, s) for s in set(seeds)}
    return torch.stack([cache[s] for s in seeds], 1).to(device)


def member_losses(logits: torch.Tensor, y: torch.Tensor, n_classes: int | None) -> torch.Tensor:
    """Mean loss of every member: cross-entropy for classes, mean squared error for regression.

    Parameters
    ----------
    logits : torch.Tensor, shape (K, N, out)
    y : torch.Tensor
        Targets shared by the members, (N,) class labels or (N, out) values, or one set per
        member, (K, N) or (K, N, out).
    n_classes : int or None
        ``None`` for regression.

    Returns
    -------
    torch.Tensor, shape (K,)

    Examples
    --------
    >>> logits = torch.zeros(2, 3, 4)
    >>> member_losses(logits, torch.tensor([0, 1, 3]), 4)  # uniform: log 4
    tensor([1.3863, 1.3863])
    """
    k, n = logits.shape[:2]
    if n_classes is None:
        target = y.expand(k, *y.shape) if y.dim() == logits.dim() - 1 else y
        return ((logits - target) ** 2).reshape(k, n, -1).mean(dim=(1, 2))
    target = y.expand(k, n) if y.dim() == 1 else y
    # logits - logsumexp is cross-entropy; on CPU it is faster than F.cross_entropy's
    # log_softmax kernel for few classes. fit() uses the same function, so both agree exactly.
    logp = logits - torch.logsumexp(logits, -1, keepdim=True)
    return -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1).mean(1)
