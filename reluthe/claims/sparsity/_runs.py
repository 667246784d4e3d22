"""Training runs shared by the sparsity / generalization claims, cached per process.

The claims of one run are measured one after another in one process, and several of them read
the same trained models (C03, C08 and C11 the activation grid; C04 and C08 the ReLU
interventions; C13 the ReLU nets of the grid). Each run is therefore computed once per run
:class:`~reluthe.claims._base.Settings` (quick/full, master seed, device) behind
:func:`functools.cache`; the public functions take the claim's :class:`Context` and derive
every seed from it (:func:`model_seeds`, :func:`data_seed`). Cached results are read-only: their
numpy arrays are flagged non-writeable and callers never modify the weight tensors (they are only
read, by :func:`reluthe.probes.sparsity.stacked_forward` and friends).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from reluthe import data
from reluthe.claims._base import Context, Settings
from reluthe.claims.sparsity._protocol import protocol
from reluthe.models import activation_fn
from reluthe.train import Recipe, TrainResult, stacked_mlp_init, train_mlps

__all__ = ["model_seeds", "data_seed", "bootstrap_seed", "base_design", "load", "dataset",
           "grid", "member_slice", "init_weights", "interventions", "leaky", "shuffle_seed",
           "shuffled", "early_relu", "interventions_recipes", "numpy_layers"]


def model_seeds(ctx: Context) -> list[int]:
    """The model seeds of every cell: the first ``n_seeds`` of the run's "model" stream."""
    return ctx.seeds("model", protocol(ctx.quick).n_seeds)


def data_seed(ctx: Context) -> int:
    """The seed of every dataset the family loads (the first of the run's "data" stream)."""
    return ctx.seeds("data", 1)[0]


def bootstrap_seed(ctx: Context) -> int:
    """The seed of every bootstrap interval of a claim's rule (the run's "bootstrap" stream)."""
    return ctx.seeds("bootstrap", 1)[0]


def base_design(ctx: Context) -> dict:
    """The design fields every claim of the family records: size, device and seeds."""
    return {"quick": ctx.quick, "device": ctx.device, "model_seeds": model_seeds(ctx),
            "data_seed": data_seed(ctx), "bootstrap_seed": bootstrap_seed(ctx)}


def _readonly(result: TrainResult) -> TrainResult:
    for name in ("steps", "train_loss", "test_loss", "train_acc", "test_acc"):
        getattr(result, name).flags.writeable = False
    return result


@functools.cache
def load(name: str, seed: int, **options) -> data.Dataset:
    """``reluthe.data.load`` cached in this process (datasets are never modified)."""
    return data.load(name, seed=seed, **options)


def dataset(ctx: Context, name: str) -> data.Dataset:
    """Dataset ``name`` under the run's data seed (cached)."""
    return load(name, data_seed(ctx))


def _widths(quick: bool, ds: data.Dataset) -> list[int]:
    return [ds.input_dim, *protocol(quick).hidden, ds.n_classes]


def grid(ctx: Context, dataset_name: str, activation: str) -> TrainResult:
    """All recipes × seeds of one activation on one dataset (one batched call).

    Member ``r * n_seeds + s`` has the protocol's recipe ``r`` and model seed ``s``.
    """
    return _grid(ctx.settings, dataset_name, activation)


@functools.cache
def _grid(settings: Settings, dataset_name: str, activation: str) -> TrainResult:
    ctx = Context(settings)
    ds = dataset(ctx, dataset_name)
    recipes = [r for _, r in protocol(ctx.quick).recipes_of(dataset_name)]
    return _readonly(train_mlps(ds, _widths(ctx.quick, ds), seeds=model_seeds(ctx),
                                recipes=recipes, activation=activation, device=ctx.device))


def member_slice(quick: bool, dataset_name: str, recipe: str) -> slice:
    """The members of :func:`grid` trained with recipe ``recipe``."""
    p = protocol(quick)
    r = p.recipe_names(dataset_name).index(recipe)
    return slice(r * p.n_seeds, (r + 1) * p.n_seeds)


def init_weights(widths, activation: str, seeds, bias_shifts=None,
                 activation_params: dict | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Stacked initial weights of ``mlp(widths, activation, seed=s)`` for each seed (as
    :func:`reluthe.train.train_mlps` starts them: :func:`reluthe.train.stacked_mlp_init`), with
    ``bias_shifts[k]`` added to the hidden biases of member ``k``. ``activation`` and
    ``activation_params`` are validated; the initial weights do not depend on them."""
    activation_fn(activation, **(activation_params or {}))
    layers = stacked_mlp_init(list(widths), seeds)
    if bias_shifts is not None:
        shifts = torch.as_tensor(bias_shifts, dtype=torch.float32)
        for _, b in layers[:-1]:
            b += shifts[:, None]
    return layers


def interventions_recipes(quick: bool) -> list[tuple[str, float, Recipe]]:
    """``(kind, value, recipe)`` of the ReLU interventions: the baseline ("none", 0), the L1
    activity sweep and the bias-shift sweep, all on recipe "adam" of mnist1d."""
    p = protocol(quick)
    base = p.recipe("mnist1d", "adam")
    rows = [("none", 0.0, base)]
    rows += [("l1", v, dataclasses.replace(base, l1_activity=v)) for v in p.l1_values]
    rows += [("bias_shift", v, dataclasses.replace(base, bias_shift=v)) for v in p.bias_shifts]
    return rows


def interventions(ctx: Context) -> TrainResult:
    """ReLU nets on mnist1d under every row of :func:`interventions_recipes` (one call)."""
    return _interventions(ctx.settings)


@functools.cache
def _interventions(settings: Settings) -> TrainResult:
    ctx = Context(settings)
    ds = dataset(ctx, "mnist1d")
    recipes = [r for _, _, r in interventions_recipes(ctx.quick)]
    return _readonly(train_mlps(ds, _widths(ctx.quick, ds), seeds=model_seeds(ctx),
                                recipes=recipes, activation="relu", device=ctx.device))


def leaky(ctx: Context, alpha: float) -> TrainResult:
    """Leaky-ReLU nets of slope ``alpha`` on mnist1d, recipe "adam"."""
    return _leaky(ctx.settings, alpha)


@functools.cache
def _leaky(settings: Settings, alpha: float) -> TrainResult:
    ctx = Context(settings)
    ds = dataset(ctx, "mnist1d")
    return _readonly(train_mlps(ds, _widths(ctx.quick, ds), seeds=model_seeds(ctx),
                                recipes=protocol(ctx.quick).recipe("mnist1d", "adam"),
                                activation="leaky_relu", activation_params={"alpha": alpha},
                                device=ctx.device))


def shuffle_seed(ctx: Context) -> int:
    """The seed of the training-label permutation of :func:`shuffled` ("noise" stream)."""
    return ctx.seeds("noise", 1)[0]


def shuffled_dataset(ds: data.Dataset, seed: int) -> data.Dataset:
    """``ds`` with the training labels randomly permuted (seeded); test labels untouched."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(ds.y_train), generator=gen)
    return dataclasses.replace(ds, y_train=ds.y_train[perm].clone())


def shuffled(ctx: Context) -> TrainResult:
    """ReLU nets trained on shuffled mnist1d training labels (the memorisation control),
    recipe "adam"."""
    return _shuffled(ctx.settings)


@functools.cache
def _shuffled(settings: Settings) -> TrainResult:
    ctx = Context(settings)
    ds = shuffled_dataset(dataset(ctx, "mnist1d"), shuffle_seed(ctx))
    return _readonly(train_mlps(ds, _widths(ctx.quick, ds), seeds=model_seeds(ctx),
                                recipes=protocol(ctx.quick).recipe("mnist1d", "adam"),
                                activation="relu", device=ctx.device))


def early_relu(ctx: Context) -> TrainResult:
    """The first ``early_steps`` of recipe "adam" (ReLU, mnist1d): the same trajectory as the
    grid's run up to that step (same init, batch order and updates), i.e. a checkpoint."""
    return _early_relu(ctx.settings)


@functools.cache
def _early_relu(settings: Settings) -> TrainResult:
    ctx = Context(settings)
    p = protocol(ctx.quick)
    ds = dataset(ctx, "mnist1d")
    early = dataclasses.replace(p.recipe("mnist1d", "adam"), steps=p.early_steps,
                                eval_every=p.early_steps)
    return _readonly(train_mlps(ds, _widths(ctx.quick, ds), seeds=model_seeds(ctx),
                                recipes=early, activation="relu", device=ctx.device))


def numpy_layers(weights, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Member ``k`` of stacked weights as a list of float64 ``(W, b)`` numpy pairs (copies)."""
    return [(w[k].detach().double().cpu().numpy().copy(), b[k].detach().double().cpu().numpy()
             .copy()) for w, b in weights]
