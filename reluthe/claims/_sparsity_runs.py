"""Training runs shared by the sparsity / generalization claims, cached per process.

The claims of one run are measured one after another in one process, and several of them read
the same trained models (C03, C08 and C11 the activation grid; C04 and C08 the ReLU
interventions; C13 the ReLU nets of the grid). Each run is therefore computed once per
``(quick, seed, device, ...)`` behind :func:`functools.lru_cache`. Cached results are read-only:
their numpy arrays are flagged non-writeable and callers never modify the weight tensors (they
are only read, by :func:`reluthe.probes.sparsity.stacked_forward` and friends).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from reluthe import data
from reluthe.claims._sparsity_protocol import protocol
from reluthe.models import mlp
from reluthe.train import Recipe, TrainResult, train_mlps

__all__ = ["load", "grid", "member_slice", "init_weights", "interventions", "leaky", "shuffled",
           "early_relu", "interventions_recipes", "numpy_layers"]


def _readonly(result: TrainResult) -> TrainResult:
    for name in ("steps", "train_loss", "test_loss", "train_acc", "test_acc"):
        getattr(result, name).flags.writeable = False
    return result


@functools.cache
def load(name: str, seed: int, **options) -> data.Dataset:
    """``reluthe.data.load`` cached in this process (datasets are never modified)."""
    return data.load(name, seed=seed, **options)


def _widths(quick: bool, ds: data.Dataset) -> list[int]:
    return [ds.input_dim, *protocol(quick).hidden, ds.n_classes]


@functools.cache
def grid(quick: bool, seed: int, device: str, dataset: str, activation: str) -> TrainResult:
    """All recipes × seeds of one activation on one dataset (one batched call).

    Member ``r * n_seeds + s`` has the protocol's recipe ``r`` and seed ``seed + s``.
    """
    p = protocol(quick)
    ds = load(dataset, seed)
    recipes = [r for _, r in p.recipes_of(dataset)]
    return _readonly(train_mlps(ds, _widths(quick, ds), seeds=p.seeds(seed), recipes=recipes,
                                activation=activation, device=device))


def member_slice(quick: bool, dataset: str, recipe: str) -> slice:
    """The members of :func:`grid` trained with recipe ``recipe``."""
    p = protocol(quick)
    r = p.recipe_names(dataset).index(recipe)
    return slice(r * p.n_seeds, (r + 1) * p.n_seeds)


def init_weights(widths, activation: str, seeds, bias_shifts=None,
                 activation_params: dict | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Stacked initial weights of ``mlp(widths, activation, seed=s)`` for each seed (as
    :func:`reluthe.train.train_mlps` starts them), with ``bias_shifts[k]`` added to the hidden
    biases of member ``k``."""
    nets = [mlp(list(widths), activation, seed=s, activation_params=activation_params)
            for s in seeds]
    shifts = torch.zeros(len(nets)) if bias_shifts is None else torch.as_tensor(
        bias_shifts, dtype=torch.float32)
    out = []
    n_layers = len(widths) - 1
    for i in range(n_layers):
        lins = [[m for m in net if isinstance(m, torch.nn.Linear)][i] for net in nets]
        w = torch.stack([lin.weight.detach() for lin in lins]).clone()
        b = torch.stack([lin.bias.detach() for lin in lins]).clone()
        if i < n_layers - 1:
            b += shifts[:, None]
        out.append((w, b))
    return out


def interventions_recipes(quick: bool) -> list[tuple[str, float, Recipe]]:
    """``(kind, value, recipe)`` of the ReLU interventions: the baseline ("none", 0), the L1
    activity sweep and the bias-shift sweep, all on recipe "adam" of mnist1d."""
    p = protocol(quick)
    base = p.recipe("mnist1d", "adam")
    rows = [("none", 0.0, base)]
    rows += [("l1", v, dataclasses.replace(base, l1_activity=v)) for v in p.l1_values]
    rows += [("bias_shift", v, dataclasses.replace(base, bias_shift=v)) for v in p.bias_shifts]
    return rows


@functools.cache
def interventions(quick: bool, seed: int, device: str) -> TrainResult:
    """ReLU nets on mnist1d under every row of :func:`interventions_recipes` (one call)."""
    p = protocol(quick)
    ds = load("mnist1d", seed)
    recipes = [r for _, _, r in interventions_recipes(quick)]
    return _readonly(train_mlps(ds, _widths(quick, ds), seeds=p.seeds(seed), recipes=recipes,
                                activation="relu", device=device))


@functools.cache
def leaky(quick: bool, seed: int, device: str, alpha: float) -> TrainResult:
    """Leaky-ReLU nets of slope ``alpha`` on mnist1d, recipe "adam"."""
    p = protocol(quick)
    ds = load("mnist1d", seed)
    return _readonly(train_mlps(ds, _widths(quick, ds), seeds=p.seeds(seed),
                                recipes=p.recipe("mnist1d", "adam"), activation="leaky_relu",
                                activation_params={"alpha": alpha}, device=device))


def shuffled_dataset(seed: int) -> data.Dataset:
    """mnist1d with the training labels randomly permuted (seeded); test labels untouched."""
    ds = load("mnist1d", seed)
    gen = torch.Generator().manual_seed(seed + 104729)
    perm = torch.randperm(len(ds.y_train), generator=gen)
    return dataclasses.replace(ds, y_train=ds.y_train[perm].clone())


@functools.cache
def shuffled(quick: bool, seed: int, device: str) -> TrainResult:
    """ReLU nets trained on shuffled training labels (the memorisation control), recipe "adam"."""
    p = protocol(quick)
    ds = shuffled_dataset(seed)
    return _readonly(train_mlps(ds, _widths(quick, ds), seeds=p.seeds(seed),
                                recipes=p.recipe("mnist1d", "adam"), activation="relu",
                                device=device))


@functools.cache
def early_relu(quick: bool, seed: int, device: str) -> TrainResult:
    """The first ``early_steps`` of recipe "adam" (ReLU, mnist1d): the same trajectory as the
    grid's run up to that step (same init, batch order and updates), i.e. a checkpoint."""
    p = protocol(quick)
    ds = load("mnist1d", seed)
    r = p.recipe("mnist1d", "adam")
    early = dataclasses.replace(r, steps=p.early_steps, eval_every=p.early_steps)
    return _readonly(train_mlps(ds, _widths(quick, ds), seeds=p.seeds(seed), recipes=early,
                                activation="relu", device=device))


def numpy_layers(weights, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Member ``k`` of stacked weights as a list of float64 ``(W, b)`` numpy pairs (copies)."""
    return [(w[k].detach().double().cpu().numpy().copy(), b[k].detach().double().cpu().numpy()
             .copy()) for w, b in weights]
