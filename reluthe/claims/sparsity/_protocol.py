"""Experiment definitions of the sparsity / generalization claims (C02-04, C08, C11, C13, C23-24).

Everything a measurement depends on is here, as frozen dataclasses: datasets, widths, the
activations, the training recipes, the number of seeds per cell, the intervention grids.
``protocol(quick)`` returns the full protocol (the evidence of the default run) or its small
version for tests; the seeds themselves come from the run's master seed
(:mod:`reluthe.claims.sparsity._runs`).
``empirical/sparsity.md`` documents the choices, the pilot runs behind the step budgets and where
recorded results go.
"""

from __future__ import annotations

from dataclasses import dataclass

from reluthe.claims._protocol import MIN_SEEDS
from reluthe.train import Recipe

__all__ = ["Protocol", "protocol", "ACTIVATIONS", "NON_SPARSE", "MIN_SEEDS", "FIT_GAP"]

# the activations compared (identity: the linear floor); "non-sparse": no exact zeros
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "tanh", "sigmoid",
               "identity")
NON_SPARSE = ("leaky_relu", "elu", "gelu", "silu", "softplus", "tanh", "sigmoid")
# MIN_SEEDS (reluthe.claims._protocol, re-exported): fewer seeds per cell than this and
# every rule answers "inconclusive"
# C08, C11: a net whose mean train accuracy is this far below relu's is "not fitted" at the step
# budget
FIT_GAP = 0.10


def _recipes(lr: float, steps: int, weight_decay: float) -> tuple[tuple[str, Recipe], ...]:
    every = max(1, steps // 4)
    return (("adam", Recipe(lr=lr, steps=steps, eval_every=every)),
            ("adam_l2", Recipe(lr=lr, steps=steps, eval_every=every, weight_decay=weight_decay)))


@dataclass(frozen=True)
class Protocol:
    """One size of the protocol (``quick`` or the default run)."""

    quick: bool
    n_seeds: int
    hidden: tuple[int, ...]
    activations: tuple[str, ...]
    # per dataset: ((name, recipe), ...); one batched train_mlps call per activation and dataset
    recipes: tuple
    # C04: interventions on ReLU nets (mnist1d, recipe "adam")
    l1_values: tuple[float, ...]
    bias_shifts: tuple[float, ...]
    leaky_slopes: tuple[float, ...]
    # C13: segments per family; the early checkpoint (steps of recipe "adam")
    n_segments: int
    early_steps: int
    # C23: the shared small-data task (mnist1d, n_small training examples)
    n_small: int
    small_steps: int
    ensemble_size: int
    aug_shift: int
    aug_noise: float
    small_weight_decay: float
    small_l1: float
    small_dropout: float
    pretrain_steps: int
    pretrain_samples: int  # mnist1d num_samples of the pre-training set (80 % of it trains)
    finetune_steps: int
    # C24: steps on digits (classification) and teacher (regression)
    c24_digits_steps: int
    c24_teacher_steps: int
    # C02: spirals
    spiral_hidden: tuple[int, ...]
    spiral_steps: int
    region_widths: tuple[int, ...]
    region_depths: tuple[int, ...]
    region_depth_width: int
    datasets: tuple[str, ...] = ("mnist1d", "digits")
    probe_alpha: float = 1.0

    def recipes_of(self, dataset: str) -> tuple[tuple[str, Recipe], ...]:
        """The ``(name, recipe)`` pairs trained on ``dataset``."""
        return dict(self.recipes)[dataset]

    def recipe(self, dataset: str, name: str) -> Recipe:
        return dict(self.recipes_of(dataset))[name]

    def recipe_names(self, dataset: str) -> list[str]:
        return [name for name, _ in self.recipes_of(dataset)]


_DEFAULT = Protocol(
    quick=False, n_seeds=5, hidden=(100, 100), activations=ACTIVATIONS,
    recipes=(("mnist1d", _recipes(3e-3, 1000, 1e-3)), ("digits", _recipes(3e-3, 400, 1e-3))),
    l1_values=(0.03, 0.1, 0.3, 1.0), bias_shifts=(-0.6, -0.3, 0.3, 0.6),
    leaky_slopes=(0.01, 0.1, 0.3),
    n_segments=16, early_steps=150,
    n_small=500, small_steps=400, ensemble_size=5, aug_shift=3, aug_noise=0.1,
    small_weight_decay=1e-3, small_l1=0.3, small_dropout=0.2, pretrain_steps=1000,
    pretrain_samples=5000, finetune_steps=300,
    c24_digits_steps=400, c24_teacher_steps=800,
    spiral_hidden=(64, 64), spiral_steps=1000, region_widths=(4, 8, 16, 32, 64),
    region_depths=(1, 2, 3, 4), region_depth_width=16,
)

_QUICK = Protocol(
    quick=True, n_seeds=3, hidden=(32, 32),
    activations=("relu", "leaky_relu", "elu", "tanh", "identity"),
    recipes=(("mnist1d", _recipes(3e-3, 100, 1e-3)), ("digits", _recipes(3e-3, 40, 1e-3))),
    l1_values=(0.3, 1.0), bias_shifts=(-0.3, 0.3), leaky_slopes=(0.1,),
    n_segments=3, early_steps=30,
    n_small=300, small_steps=80, ensemble_size=2, aug_shift=3, aug_noise=0.1,
    small_weight_decay=1e-3, small_l1=0.3, small_dropout=0.2, pretrain_steps=80,
    pretrain_samples=1000, finetune_steps=40,
    c24_digits_steps=80, c24_teacher_steps=100,
    spiral_hidden=(32, 32), spiral_steps=200, region_widths=(4, 8, 16), region_depths=(1, 2),
    region_depth_width=8,
)


def protocol(quick: bool) -> Protocol:
    """The quick (tests, seconds) or default (full evidence) protocol."""
    return _QUICK if quick else _DEFAULT
