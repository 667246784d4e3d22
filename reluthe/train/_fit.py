"""Any torch model trained alone with ``torch.optim``: the reference the batched trainers match."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from reluthe._validate import check_device, check_positive_float, check_seed
from reluthe.data import Dataset
from reluthe.errors import InvalidInputError
from reluthe.train._data import batch_order, check_dataset, member_losses
from reluthe.train._recipe import Recipe


@dataclass(frozen=True)
class FitResult:
    """Curves of one model trained by :func:`fit`, and the trained copy.

    Attributes
    ----------
    model : nn.Module
        The trained copy (the caller's model is untouched).
    steps : np.ndarray (T,)
    train_loss, test_loss, train_acc, test_acc : np.ndarray (T,)
    time_s : float
    """

    model: nn.Module
    steps: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    time_s: float


def _torch_optimizer(net: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """``torch.optim.Adam`` or ``SGD`` with the recipe's hyper-parameters (single-tensor form)."""
    if recipe.optimizer == "adam":
        return torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay,
                                foreach=False)
    return torch.optim.SGD(net.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                           weight_decay=recipe.weight_decay, foreach=False)


def _metrics(net: nn.Module, x: torch.Tensor, y: torch.Tensor, n_classes: int | None,
             chunk: int = 8192) -> tuple[float, float]:
    """Loss and accuracy (NaN for regression) of ``net`` on ``(x, y)``, evaluated in eval mode
    without gradients; ``net`` is back in training mode afterwards."""
    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(x[s:s + chunk]) for s in range(0, len(x), chunk)])
    net.train()
    loss = float(member_losses(logits[None], y, n_classes)[0])
    acc = float((logits.argmax(-1) == y).float().mean()) if n_classes is not None else float("nan")
    return loss, acc


def fit(model: nn.Module, dataset: Dataset,
        recipe: Recipe = Recipe(),  # noqa: B008 (a frozen dataclass)
        *, seed: int = 0, device: str = "cpu",
        max_time_s: float | None = None) -> FitResult:
    """Train a copy of any torch ``model`` with ``torch.optim`` (one model at a time).

    The batch order is :func:`batch_order` with ``seed``, so an MLP built by
    ``reluthe.models.mlp(..., seed=s)`` and trained here follows the same trajectory as member
    ``s`` of :func:`train_mlps`. The caller's model, its mode and the global RNG are unchanged.
    Inputs keep their shape (a CNN gets ``(n, c, l)``); penalties of the recipe that need the
    hidden layers (``l1_activity``, ``l2_activity``, ``dropout``, ``bias_shift``) are for
    :func:`train_mlps` only.
    The dataset's dtypes are converted as in :func:`train_mlps` (floating inputs to float32,
    integer labels to int64); ``device`` is "cpu", "cuda" or "cuda:N" (a visible GPU).

    Examples
    --------
    >>> from reluthe import data, models
    >>> ds = data.load("spirals", seed=0, n_samples=400)
    >>> r = fit(models.mlp([2, 16, 2], seed=0), ds, Recipe(steps=20, eval_every=10))
    >>> r.steps.tolist()
    [0, 10, 20]
    """
    func = "fit"
    dataset = check_dataset(dataset, func)
    seed = check_seed(seed, func=func)
    if not isinstance(model, nn.Module):
        raise InvalidInputError(f"The 'model' parameter of {func} must be a torch.nn.Module. "
                                f"Got {type(model).__name__} instead.")
    if not isinstance(recipe, Recipe):
        raise InvalidInputError(f"The 'recipe' parameter of {func} must be a reluthe.train.Recipe. "
                                f"Got {type(recipe).__name__} instead.")
    dev = check_device(device, func=func)
    if max_time_s is not None:
        check_positive_float(max_time_s, param="max_time_s", func=func)
    if recipe.l1_activity or recipe.l2_activity or recipe.dropout or recipe.bias_shift:
        raise InvalidInputError("fit() does not apply l1_activity, l2_activity, dropout or "
                                "bias_shift; put them "
                                "in the model or use train_mlps().")
    net = copy.deepcopy(model).to(dev).train()
    opt = _torch_optimizer(net, recipe)
    x_tr, y_tr = dataset.x_train.to(dev), dataset.y_train.to(dev)
    x_te, y_te = dataset.x_test.to(dev), dataset.y_test.to(dev)
    order = batch_order(len(x_tr), recipe.batch_size, recipe.steps, seed).to(dev)
    steps, rows = [], []

    def record(step):
        steps.append(step)
        rows.append((*_metrics(net, x_tr, y_tr, dataset.n_classes),
                     *_metrics(net, x_te, y_te, dataset.n_classes)))

    record(0)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout inside the model draws from the (forked) global RNG
        for step in range(1, recipe.steps + 1):
            idx = order[step - 1]
            loss = member_losses(net(x_tr[idx])[None], y_tr[idx], dataset.n_classes)[0]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % recipe.eval_every == 0 or step == recipe.steps:
                record(step)
            if max_time_s is not None and time.perf_counter() - start > max_time_s:
                if steps[-1] != step:
                    record(step)
                break
    elapsed = time.perf_counter() - start
    trl, tra, tel, tea = (np.asarray(c) for c in zip(*rows))
    return FitResult(net.eval(), np.asarray(steps), trl, tel, tra, tea, elapsed)
