"""What every trainer reads and scores: a validated dataset, seeded minibatch orders, the loss."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from reluthe.data import Dataset
from reluthe.errors import InvalidInputError

BATCH_SEED_OFFSET = 7919  # batch order generator = seed + offset, distinct from the init generator


def check_dataset(dataset: Dataset, func: str) -> None:
    """Raise unless ``dataset`` is a :class:`~reluthe.data.Dataset` with finite values."""
    if not isinstance(dataset, Dataset):
        raise InvalidInputError(f"The 'dataset' parameter of {func} must be a reluthe.data.Dataset "
                                f"(from reluthe.data.load). Got {type(dataset).__name__} instead.")
    names = ("x_train", "x_val", "x_test") + (
        ("y_train", "y_val", "y_test") if dataset.n_classes is None else ())
    for name in names:
        t = getattr(dataset, name)
        if not torch.isfinite(t).all():
            raise InvalidInputError(f"Dataset {dataset.name!r} has NaN/inf values in {name}.")


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
    cache = {int(s): batch_order(n, batch_size, steps, int(s)) for s in set(seeds)}
    return torch.stack([cache[int(s)] for s in seeds], 1).to(device)


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
