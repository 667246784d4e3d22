"""Arms of the sparsity / generalization claims under the evidence protocol (``CLAIMS.md``).

An *arm* is one way of training one network shape on one setting (dataset and step budget): an
activation, its parameters, and any recipe changes (penalties, bias shifts). Every arm

* gets its own learning rate, chosen on the validation split from :data:`LRS` jointly over all
  its data and model seeds (:func:`reluthe.protocol.select_lr_across`); the test set chooses
  nothing;
* is trained with ``n_data`` data seeds × ``n_model`` model seeds (the run's "data" and "model"
  streams), one batched run per data seed;
* is read at every member's best-validation checkpoint (metrics and weights), and at matched
  fit: the first evaluation where train accuracy reaches :data:`FIT_TARGET` (members that never
  reach it are kept and flagged, never dropped).

:func:`arm` trains (and caches, per run settings) one arm; :func:`rows` turns it into the
record rows every claim of the family reads: one row per (data seed, model seed) with the chosen
learning rate, accuracies, gaps, sparsity, the input–output Jacobian norm and, on mnist1d, the
accuracy on out-of-distribution variants of the test set (:data:`OOD`).

Examples
--------
>>> from reluthe.claims._base import Context, Settings
>>> ctx = Context(Settings(quick=True))
>>> a = arm(ctx, "digits", "relu")
>>> a.lr in lrs(True), len(rows(ctx, a)) == len(data_seeds(ctx)) * len(model_seeds(ctx))
(True, True)
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from reluthe import data
from reluthe.claims._base import Context, Settings
from reluthe.probes.jacobian import jacobian_norms
from reluthe.probes.sparsity import stacked_sparsity
from reluthe.protocol import LRSelection, select_lr_across
from reluthe.train import Recipe

__all__ = ["Setting", "Arm", "settings", "setting", "activations", "lrs", "data_seeds",
           "model_seeds", "dataset", "load", "hidden", "arm", "rows", "design", "FIT_TARGET",
           "VAL_SIZE", "OOD", "N_PROBE_POINTS"]

VAL_SIZE = 0.2  # share of each training split held out for validation
FIT_TARGET = 0.95  # matched fit: first evaluation with train accuracy >= this
N_PROBE_POINTS = 256  # test points for the sparsity and Jacobian probes
# out-of-distribution variants of the mnist1d test set: the same digits (same generator seed,
# so the same draws) under stronger transformations than in training (defaults:
# reluthe.data.MNIST1D_TRANSFORMS). Translation is left out: the training distribution already
# shifts digits over most of the sequence.
OOD = (("noisier", {"corr_noise_scale": 0.5, "iid_noise_scale": 0.05}),
       ("sheared", {"shear_scale": 1.5}),
       ("rescaled", {"scale_coeff": 1.0}))


@dataclasses.dataclass(frozen=True)
class Setting:
    """A dataset and its training budget (Adam, batch 128)."""

    dataset: str
    label: str  # in words, for tables and figures
    steps: int
    eval_every: int
    role: str  # "main" (carries verdicts) or "sanity" (reported, a linear model fits it)
    options: tuple = ()  # dataset options as (name, value) pairs

    def recipe(self, lr: float = 1e-3) -> Recipe:
        return Recipe(lr=lr, steps=self.steps, eval_every=self.eval_every)


_DEFAULT = (Setting("mnist1d", "MNIST-1D", 1000, 100, "main"),
            Setting("mnist5k", "real MNIST (5,000 digits, 14×14)", 400, 50, "main",
                    (("size", 14),)),
            Setting("digits", "scikit-learn digits", 300, 30, "sanity"))
_QUICK = (Setting("mnist1d", "MNIST-1D", 60, 20, "main"),
          Setting("mnist5k", "real MNIST (5,000 digits, 14×14)", 30, 10, "main", (("size", 14),)),
          Setting("digits", "scikit-learn digits", 30, 10, "sanity"))


def settings(quick: bool) -> tuple[Setting, ...]:
    """The settings of the quick (tests) or default run."""
    return _QUICK if quick else _DEFAULT


def setting(quick: bool, name: str) -> Setting:
    """The setting of dataset ``name``."""
    return {s.dataset: s for s in settings(quick)}[name]


def activations(ctx: Context, name: str) -> tuple[str, ...]:
    """The activations compared on dataset ``name``: on the main datasets relu, non-sparse
    alternatives (leaky_relu, gelu, silu, tanh) and the linear floor (identity); elu, softplus
    and sigmoid join under ``--full`` (the default run's time budget); the sanity dataset
    compares relu with identity only (a linear model already fits it)."""
    if ctx.quick:
        return ("relu", "leaky_relu", "tanh", "identity")
    if setting(False, name).role == "sanity" and not ctx.full:
        return ("relu", "identity")
    extra = ("elu", "softplus") if ctx.full else ()
    tail = ("sigmoid",) if ctx.full else ()
    return ("relu", "leaky_relu", *extra, "gelu", "silu", "tanh", *tail, "identity")


def lrs(quick: bool) -> tuple[float, ...]:
    """The learning-rate grid every arm chooses from on validation."""
    return (3e-3, 1e-2) if quick else (3e-3, 1e-2, 3e-2)


def hidden(quick: bool) -> tuple[int, ...]:
    return (16, 16) if quick else (100, 100)


def data_seeds(ctx: Context) -> list[int]:
    """The data seeds: 3 of the run's "data" stream (1 in quick runs)."""
    return ctx.seeds("data", 1 if ctx.quick else 3)


def model_seeds(ctx: Context) -> list[int]:
    """The model seeds (init and batch order): 3 of the run's "model" stream."""
    return ctx.seeds("model", 3)


@functools.cache
def load(name: str, seed: int, options: tuple) -> data.Dataset:
    """``reluthe.data.load(name, seed, **dict(options))`` cached in this process (datasets are
    never modified)."""
    return data.load(name, seed=seed, **dict(options))


def dataset(ctx: Context, name: str, data_seed: int, **extra) -> data.Dataset:
    """Dataset ``name`` of the run's setting under ``data_seed``, with the validation split
    (cached; ``extra`` options for variants, e.g. :data:`OOD`)."""
    options = (*setting(ctx.quick, name).options, ("val_size", VAL_SIZE), *sorted(extra.items()))
    return load(name, data_seed, options)


@dataclasses.dataclass(frozen=True, eq=False)
class Arm:
    """One trained arm: the learning rate chosen on validation and its members per data seed."""

    setting: Setting
    activation: str
    activation_params: dict
    changes: dict  # recipe fields other than lr/steps/eval_every (e.g. l1_activity)
    data_seeds: tuple[int, ...]
    selections: tuple[LRSelection, ...]  # one per data seed, all with the same lr
    output_activation: str | None = None

    @property
    def lr(self) -> float:
        return self.selections[0].lr

    @property
    def lrs(self) -> tuple[float, ...]:
        return self.selections[0].lrs

    def describe(self) -> dict:
        """JSON-ready summary: the arm, the grid and every member's validation score per lr."""
        return {"dataset": self.setting.dataset, "activation": self.activation,
                "activation_params": dict(self.activation_params), "changes": dict(self.changes),
                "output_activation": self.output_activation,
                "lrs": list(self.lrs), "lr": self.lr,
                "val_scores": [s.scores.tolist() for s in self.selections]}


def arm(ctx: Context, dataset_name: str, activation: str, activation_params: dict | None = None,
        output_activation: str | None = None, **changes) -> Arm:
    """Train one arm (cached per run settings): the learning rate chosen on validation over
    :func:`data_seeds` × :func:`model_seeds`, ``changes`` applied to the setting's recipe,
    ``output_activation`` after the last layer (C24)."""
    frozen = tuple(sorted((activation_params or {}).items()))
    return _arm(ctx.settings, dataset_name, activation, frozen, tuple(sorted(changes.items())),
                output_activation)


@functools.cache
def _arm(settings_: Settings, name: str, activation: str, params: tuple, changes: tuple,
         output_activation: str | None) -> Arm:
    ctx = Context(settings_)
    s = setting(ctx.quick, name)
    seeds = data_seeds(ctx)
    sets = [dataset(ctx, name, d) for d in seeds]
    recipe = dataclasses.replace(s.recipe(), **dict(changes))
    widths = [sets[0].input_dim, *hidden(ctx.quick), sets[0].n_classes]
    ctx.log(f"arm {name} {activation} {dict(params)} {dict(changes)} {output_activation}")
    sel = select_lr_across(sets, widths, lrs=lrs(ctx.quick), seeds=model_seeds(ctx),
                           recipe=recipe, activation=activation,
                           activation_params=dict(params), device=ctx.device,
                           output_activation=output_activation)
    for one in sel:
        _readonly(one)
    return Arm(s, activation, dict(params), dict(changes), tuple(seeds), sel, output_activation)


def _readonly(sel: LRSelection) -> None:
    """Flag the cached arrays of a selection non-writeable: arms are shared by several claims of
    one run, so none may change them (the weight tensors are only ever read)."""
    sel.scores.flags.writeable = False
    for res in (sel.result, sel.full):
        for name in ("steps", "train_loss", "test_loss", "train_acc", "test_acc", "val_loss",
                     "val_acc"):
            getattr(res, name).flags.writeable = False


def _finite_or_none(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _ood_accuracy(ctx: Context, a: Arm, data_seed: int, sel: LRSelection) -> dict:
    """Accuracy of every member at its best-validation weights on each :data:`OOD` variant."""
    out = {}
    for name, options in OOD:
        ds = dataset(ctx, a.setting.dataset, data_seed, **options)
        logits = sel.result.outputs(ds.x_test, at="best_val")
        out[name] = (logits.argmax(-1) == ds.y_test[None]).float().mean(1).numpy()
    return out


def rows(ctx: Context, a: Arm) -> list[dict]:
    """One record row per (data seed, model seed) of arm ``a`` (computed once per arm and run;
    each call returns fresh copies of the rows).

    Fields: ``dataset``, ``activation``, ``activation_params``, the recipe ``changes``,
    ``data_seed``, ``seed`` (model), ``lr`` (chosen), ``diverged`` (non-finite final train
    loss); at the best-validation checkpoint ``best_step``, ``test_acc``, ``train_acc``,
    ``val_acc``, ``gap`` (train − test), ``zero_fraction`` (share of exact-zero hidden outputs
    on the first :data:`N_PROBE_POINTS` test inputs, mean over layers) and its per-layer list,
    ``dead_fraction``, ``jacobian`` (mean Frobenius norm of the input–output Jacobian there),
    and ``ood_<variant>`` accuracies on mnist1d; at matched fit ``fit_reached``, ``fit_step``,
    ``fit_test_acc``, ``fit_train_acc``, ``fit_gap`` (None where not reached).
    """
    return [dict(r, zero_fraction_layers=list(r["zero_fraction_layers"]))
            for r in _rows(ctx.settings, a)]


@functools.cache
def _rows(settings_: Settings, a: Arm) -> tuple[dict, ...]:
    ctx = Context(settings_)
    out = []
    for data_seed, sel in zip(a.data_seeds, a.selections):
        res = sel.result
        best, fit = res.at_best_val(), res.at_matched_fit(FIT_TARGET)
        x = dataset(ctx, a.setting.dataset, data_seed).x_test[:N_PROBE_POINTS]
        x = x.reshape(len(x), -1)
        sp = stacked_sparsity(res.best_val_weights, x, a.activation, a.activation_params)
        jac = jacobian_norms(res.best_val_weights, x, a.activation, a.activation_params).mean(1)
        ood = _ood_accuracy(ctx, a, data_seed, sel) if a.setting.dataset == "mnist1d" else {}
        for k, seed in enumerate(res.seeds):
            out.append({
                "dataset": a.setting.dataset, "activation": a.activation,
                "activation_params": dict(a.activation_params), **a.changes,
                "data_seed": int(data_seed), "seed": int(seed), "lr": a.lr,
                "diverged": not bool(np.isfinite(res.train_loss[k, -1])),
                "best_step": int(best.step[k]), "test_acc": float(best.test_acc[k]),
                "train_acc": float(best.train_acc[k]), "val_acc": float(best.val_acc[k]),
                "gap": float(best.train_acc[k] - best.test_acc[k]),
                "zero_fraction": float(sp["zero_fraction"][k].mean()),
                "zero_fraction_layers": sp["zero_fraction"][k].tolist(),
                "dead_fraction": float(sp["dead_fraction"][k].mean()),
                "jacobian": float(jac[k]),
                **{f"ood_{name}": float(acc[k]) for name, acc in ood.items()},
                "fit_reached": bool(fit.reached[k]),
                "fit_step": None if not fit.reached[k] else int(fit.step[k]),
                "fit_test_acc": _finite_or_none(fit.test_acc[k]),
                "fit_train_acc": _finite_or_none(fit.train_acc[k]),
                "fit_gap": _finite_or_none(fit.train_acc[k] - fit.test_acc[k]),
            })
    return tuple(out)


def design(ctx: Context, names: tuple[str, ...] | None = None) -> dict:
    """The protocol fields every record of the family carries (settings, seeds, grid, sizes)."""
    chosen = [s for s in settings(ctx.quick) if names is None or s.dataset in names]
    sizes = {s.dataset: {split: int(len(getattr(dataset(ctx, s.dataset, d), f"x_{split}")))
                         for split in ("train", "val", "test")}
             for s in chosen for d in data_seeds(ctx)[:1]}
    return {"quick": ctx.quick, "device": ctx.device, "data_seeds": data_seeds(ctx),
            "model_seeds": model_seeds(ctx), "bootstrap_seed": ctx.seeds("bootstrap", 1)[0],
            "lrs": list(lrs(ctx.quick)),
            "hidden": list(hidden(ctx.quick)), "val_size": VAL_SIZE, "fit_target": FIT_TARGET,
            "settings": [dataclasses.asdict(s) | {"options": dict(s.options),
                                                  "activations": list(activations(ctx, s.dataset))}
                         for s in chosen],
            "n": sizes, "n_probe_points": N_PROBE_POINTS,
            "ood": [{"name": n, "options": o} for n, o in OOD]}
