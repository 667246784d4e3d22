"""The comparison protocol: each arm's learning rate chosen on validation, in one batched run.

The evidence standard of the claims (``CLAIMS.md``) gives every arm its own learning rate, chosen
on a validation split, and never lets the test set choose anything. :func:`select_lr` trains
``len(lrs) × len(seeds)`` members in one :func:`reluthe.train.train_mlps` call (recipes that
differ only in ``lr``), scores each member by its validation metric at its best-validation
checkpoint, and keeps the learning rate with the best *mean* score over seeds. The members of
that learning rate are then read at their best-validation checkpoints for test metrics.

Examples
--------
>>> from reluthe import data
>>> from reluthe.protocol import select_lr
>>> from reluthe.train import Recipe
>>> ds = data.load("spirals", seed=0, n_samples=400, val_size=0.25)
>>> sel = select_lr(ds, [2, 32, 2], lrs=[1e-3, 1e-2], seeds=[0, 1],
...                 recipe=Recipe(steps=60, eval_every=20))
>>> sel.lr in (1e-3, 1e-2), sel.scores.shape, sel.result.n_members
(True, (2, 2), 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from reluthe._validate import check_choice, check_device, check_int_sequence, check_positive_float
from reluthe.data import Dataset
from reluthe.errors import InvalidInputError
from reluthe.train import Checkpoint, Recipe, TrainResult, train_mlps
from reluthe.train._data import check_dataset
from reluthe.train._mlp import check_seeds

__all__ = ["LRSelection", "select_lr", "select_lr_across"]


@dataclass(frozen=True, eq=False)
class LRSelection:
    """A learning rate chosen on validation, and the members trained with it.

    Attributes
    ----------
    dataset : str
        Name of the dataset the choice was made on.
    metric : {"val_acc", "val_loss"}
    lrs : tuple of float
        The candidates, in the order given.
    seeds : tuple of int
    scores : np.ndarray, shape (len(lrs), len(seeds))
        Each member's ``metric`` at its best-validation checkpoint.
    index : int
        Position of the chosen learning rate in ``lrs``.
    result : TrainResult
        The members of the chosen learning rate, one per seed (in ``seeds`` order).
    full : TrainResult
        All ``len(lrs) × len(seeds)`` members (member ``i * len(seeds) + s``: ``lrs[i]``,
        ``seeds[s]``).
    """

    dataset: str
    metric: str
    lrs: tuple[float, ...]
    seeds: tuple[int, ...]
    scores: np.ndarray
    index: int
    result: TrainResult = field(repr=False)
    full: TrainResult = field(repr=False)

    @property
    def lr(self) -> float:
        """The chosen learning rate."""
        return self.lrs[self.index]

    @property
    def mean_scores(self) -> np.ndarray:
        """Mean score over seeds of each learning rate, shape (len(lrs),)."""
        return self.scores.mean(axis=1)

    @property
    def checkpoint(self) -> Checkpoint:
        """The chosen members at their best-validation checkpoints (test metrics to report)."""
        return self.result.at_best_val(self.metric)

    def to_dict(self) -> dict:
        """Summary: the candidates, their scores, the choice and its test metrics."""
        best = self.checkpoint
        return {"dataset": self.dataset, "metric": self.metric, "lrs": list(self.lrs),
                "seeds": list(self.seeds), "scores": self.scores.tolist(),
                "mean_scores": self.mean_scores.tolist(), "lr": self.lr,
                "best_val_step": best.step.tolist(), "test_acc": best.test_acc.tolist(),
                "test_loss": best.test_loss.tolist()}


def select_lr(dataset: Dataset, widths: Sequence[int], *, lrs: Sequence[float],
              seeds: Sequence[int], recipe: Recipe | None = None, activation: str = "relu",
              activation_params: dict | None = None, init: str = "default",
              device: str = "cpu", metric: str = "val_acc",
              output_activation: str | None = None) -> LRSelection:
    """Choose one learning rate for an arm on the validation split, in one batched run.

    Every member ``(lr, seed)`` is scored by ``metric`` at its own best-validation checkpoint
    (:meth:`TrainResult.at_best_val`); the learning rate with the best mean score over seeds
    wins (ties: the first in ``lrs``). The choice is made across seeds, not per seed: a learning
    rate is a setting of the arm, the seeds are repeats that estimate its spread, and choosing per
    seed would pick each seed's luckiest validation draw and bias the reported spread.

    Parameters
    ----------
    dataset : Dataset
        Must have a validation split (``reluthe.data.load(..., val_size=...)``); the test split
        is never read for the choice.
    widths : sequence of int
        As in :func:`reluthe.train.train_mlps`.
    lrs : sequence of float
        Distinct candidate learning rates (> 0).
    seeds : sequence of int
        The seeds every candidate is trained with.
    recipe : Recipe, optional
        Everything but the learning rate (its ``lr`` is replaced by each candidate); default
        ``Recipe()``.
    activation, activation_params, init, device, output_activation :
        Passed to :func:`reluthe.train.train_mlps` (``init``: one name for all members).
    metric : {"val_acc", "val_loss"}
        Highest validation accuracy or lowest validation loss (regression: ``"val_loss"``).

    Returns
    -------
    LRSelection

    Raises
    ------
    InvalidInputError
        The dataset is not a Dataset or has no validation split, ``widths``/``seeds`` are not
        lists of integers, ``device`` is unknown or has no GPU, ``lrs`` is empty, repeats a
        value or holds a non-positive one, ``recipe`` is not a Recipe, ``init`` is not one
        name, or ``metric`` is unknown (or ``"val_acc"`` on a regression task).

    Examples
    --------
    >>> from reluthe import data
    >>> ds = data.load("digits", seed=0, val_size=0.25)
    >>> sel = select_lr(ds, [64, 32, 10], lrs=[1e-4, 3e-3], seeds=[0, 1],
    ...                 recipe=Recipe(steps=100, eval_every=50))
    >>> sel.lr, int(sel.mean_scores.argmax()) == sel.index
    (0.003, True)
    >>> bool((sel.checkpoint.test_acc > 0.5).all())
    True
    """
    func = "select_lr"
    full, lrs, metric = _candidates(dataset, widths, lrs=lrs, seeds=seeds, recipe=recipe,
                                    activation=activation, activation_params=activation_params,
                                    init=init, device=device, metric=metric,
                                    output_activation=output_activation, func=func)
    scores = _scores(full, len(lrs), metric)
    return _selection(dataset.name, metric, lrs, scores, _best(scores.mean(axis=1), metric), full)


def select_lr_across(datasets: Sequence[Dataset], widths: Sequence[int], *,
                     lrs: Sequence[float], seeds: Sequence[int], recipe: Recipe | None = None,
                     activation: str = "relu", activation_params: dict | None = None,
                     init: str = "default", device: str = "cpu", metric: str = "val_acc",
                     output_activation: str | None = None) -> tuple[LRSelection, ...]:
    """One learning rate for an arm chosen jointly over several data seeds.

    The same as :func:`select_lr`, with the data seeds as a second level of repeats: every
    ``(lr, seed)`` is trained on each dataset (one batched run per dataset), and the learning
    rate with the best mean validation score over all ``len(datasets) × len(seeds)`` members
    wins (ties: the first in ``lrs``). One rate per arm, not per data seed, for the same reason
    as one rate over model seeds.

    Parameters
    ----------
    datasets : sequence of Dataset
        The arm's data, one per data seed, all with a validation split and the same shape.
    widths, lrs, seeds, recipe, activation, activation_params, init, device, metric :
        As in :func:`select_lr`; ``output_activation`` too.

    Returns
    -------
    tuple of LRSelection
        One per dataset, all with the jointly chosen ``index``; each one's ``scores`` are its
        own members' (the joint choice is ``argmax`` of their mean over datasets).

    Raises
    ------
    InvalidInputError
        ``datasets`` is not a non-empty sequence of Datasets, or as :func:`select_lr`.

    Examples
    --------
    >>> from reluthe import data
    >>> sets = [data.load("spirals", seed=s, n_samples=300, val_size=0.25) for s in (0, 1)]
    >>> sel = select_lr_across(sets, [2, 16, 2], lrs=[1e-3, 3e-2], seeds=[0, 1],
    ...                        recipe=Recipe(steps=40, eval_every=20))
    >>> len(sel), sel[0].lr == sel[1].lr, sel[0].result.n_members
    (2, True, 2)
    """
    func = "select_lr_across"
    if isinstance(datasets, (str, bytes, Dataset)) or not isinstance(datasets, Sequence) \
            or len(datasets) == 0:
        raise InvalidInputError(f"The 'datasets' parameter of {func} must be a non-empty list of "
                                f"reluthe.data.Dataset (one per data seed). Got "
                                f"{type(datasets).__name__} instead.")
    runs = [_candidates(ds, widths, lrs=lrs, seeds=seeds, recipe=recipe, activation=activation,
                        activation_params=activation_params, init=init, device=device,
                        metric=metric, output_activation=output_activation, func=func)
            for ds in datasets]
    lrs, metric = runs[0][1], runs[0][2]
    scores = [_scores(full, len(lrs), metric) for full, _, _ in runs]
    index = _best(np.concatenate(scores, axis=1).mean(axis=1), metric)
    return tuple(_selection(ds.name, metric, lrs, sc, index, full)
                 for ds, sc, (full, _, _) in zip(datasets, scores, runs))


def _candidates(dataset, widths, *, lrs, seeds, recipe, activation, activation_params, init,
                device, metric, output_activation, func):
    """Validate the arguments and train every ``(lr, seed)`` member in one batched run."""
    dataset = check_dataset(dataset, func)
    widths = check_int_sequence(widths, param="widths", func=func)
    seeds = check_seeds(seeds, func)
    device = check_device(device, func=func)
    if len(dataset.x_val) == 0:
        raise InvalidInputError(f"The 'dataset' parameter of {func} must have a validation split "
                                f"to choose the learning rate on; dataset {dataset.name!r} has "
                                f"none. Load it with reluthe.data.load({dataset.name!r}, "
                                f"val_size=0.2): the test set is never used to choose.")
    lrs = _check_lrs(lrs, func)
    recipe = Recipe() if recipe is None else recipe
    if not isinstance(recipe, Recipe):
        raise InvalidInputError(f"The 'recipe' parameter of {func} must be a reluthe.train.Recipe. "
                                f"Got {type(recipe).__name__} instead.")
    if not isinstance(init, str):
        raise InvalidInputError(f"The 'init' parameter of {func} must be one init name for all "
                                f"members. Got {init!r} instead.")
    check_choice(metric, ("val_acc", "val_loss"), param="metric", func=func)
    full = train_mlps(dataset, widths, seeds=seeds, recipes=[replace(recipe, lr=lr) for lr in lrs],
                      activation=activation, activation_params=activation_params, init=init,
                      device=device, output_activation=output_activation)
    return full, lrs, metric


def _scores(full: TrainResult, n_lrs: int, metric: str) -> np.ndarray:
    """Each member's ``metric`` at its best-validation checkpoint, shape (n_lrs, n_seeds)."""
    return getattr(full.at_best_val(metric), metric).reshape(n_lrs, full.n_members // n_lrs)


def _best(mean: np.ndarray, metric: str) -> int:
    """Index of the best mean score (first of ties; NaN counts as the worst)."""
    if metric == "val_acc":
        return int(np.argmax(np.where(np.isnan(mean), -np.inf, mean)))
    return int(np.argmin(np.where(np.isnan(mean), np.inf, mean)))


def _selection(name, metric, lrs, scores, index, full) -> LRSelection:
    n_seeds = scores.shape[1]
    chosen = full.select(range(index * n_seeds, (index + 1) * n_seeds))
    return LRSelection(name, metric, lrs, full.seeds[:n_seeds], scores, index, chosen, full)


def _check_lrs(lrs, func: str) -> tuple[float, ...]:
    if isinstance(lrs, (str, bytes)) or not isinstance(lrs, Sequence) or len(lrs) == 0:
        raise InvalidInputError(f"The 'lrs' parameter of {func} must be a non-empty sequence of "
                                f"learning rates. Got {lrs!r} instead.")
    out = tuple(check_positive_float(lr, param="lrs", func=func) for lr in lrs)
    if len(set(out)) != len(out):
        raise InvalidInputError(f"The 'lrs' parameter of {func} must hold distinct learning "
                                f"rates. Got {list(lrs)!r} instead.")
    return out
