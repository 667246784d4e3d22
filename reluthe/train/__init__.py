"""Seeded training: many small models as one stacked model, and a plain loop for any torch model.

One trainer, three entry points over the same parts:

* :func:`train_mlps` trains K = len(recipes) × len(seeds) MLPs of one shape at once, with
  per-member recipes (:class:`Recipe`), validation curves and checkpoints (:class:`TrainResult`);
* :func:`train_stacked` trains any stacked model (CNN, RNN, autoencoder, ...) from a per-member
  loss, freezing members that diverge (:class:`StackLog`); :func:`train_alternating` does the
  same for models whose steps alternate between parameter groups (a GAN's D and G steps);
* :func:`fit` trains one torch module with ``torch.optim``: the reference both match.

The stacked parts are shared: every stacked weight is drawn by :func:`stacked_linear` (member k
from one generator seeded by its model seed, :func:`member_generators`, drawing its layers in
order; :func:`stacked_mlp_init` draws whole MLPs as :func:`reluthe.models.mlp` does,
:func:`stacked_conv` convolutions), forward passes are built from :func:`stacked_affine`,
:func:`grouped_conv` (with :func:`to_grouped` / :func:`from_grouped`) and
:class:`MemberActivation` (:func:`stacked_mlp` for MLPs), minibatches come from
:func:`batch_order` / :func:`member_orders`, and both batched trainers update with one
elementwise Adam / SGD whose formulas are those of ``torch.optim``. Member ``k`` of a stack
follows the trajectory it would follow alone (same init, same batch order, same update rule,
equal up to float rounding), only faster. The global RNG is never touched: every draw comes from
a generator seeded by the member's seed.

The evidence standard reads results at a step chosen without the test set: a dataset loaded with
``val_size > 0`` adds validation curves, :meth:`TrainResult.at_best_val` reads every member at its
best validation score and :meth:`TrainResult.at_matched_fit` at the first step that fits the
training set to a target (both give a :class:`Checkpoint`). Learning rates are chosen on
validation by :func:`reluthe.protocol.select_lr`.

Examples
--------
>>> from reluthe import data
>>> from reluthe.train import Recipe, train_mlps
>>> ds = data.load("spirals", seed=0, n_samples=400)
>>> res = train_mlps(ds, [2, 32, 32, 2], seeds=[0, 1], recipes=Recipe(steps=50, eval_every=25))
>>> res.test_acc.shape
(2, 3)
"""

from __future__ import annotations

from reluthe.train._data import batch_order, member_orders
from reluthe.train._fit import FitResult, fit
from reluthe.train._layers import (
    MemberActivation,
    from_grouped,
    grouped_conv,
    member_generators,
    stacked_affine,
    stacked_conv,
    stacked_linear,
    stacked_mlp,
    stacked_mlp_init,
    to_grouped,
)
from reluthe.train._mlp import train_mlps
from reluthe.train._recipe import Recipe
from reluthe.train._result import Checkpoint, TrainResult
from reluthe.train._stacked import StackLog, train_alternating, train_stacked

__all__ = [
    # training
    "Recipe", "train_mlps", "TrainResult", "Checkpoint", "train_stacked", "train_alternating",
    "StackLog", "fit", "FitResult",
    # stacked layers
    "member_generators", "stacked_linear", "stacked_mlp_init", "stacked_conv", "stacked_affine",
    "stacked_mlp", "MemberActivation", "grouped_conv", "to_grouped", "from_grouped",
    # minibatches
    "batch_order", "member_orders",
]
