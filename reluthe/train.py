"""Seeded training: many small MLPs as one batched model, and a plain loop for any torch model.

``train_mlps`` trains K = len(recipes) × len(seeds) MLPs of the same shape at once: their weights
are stacked (``[K, out, in]``), the forward pass is one batched matmul per layer, and Adam / SGD
are applied elementwise with per-member hyper-parameters. Member ``k`` follows the trajectory that
``fit(mlp(widths, seed=s), ...)`` gives one model at a time (same init, same batch order, same
update rule, equal up to float rounding), only faster. The global RNG is never touched: every
draw comes from a generator seeded by the member's seed.

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

import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch import nn

from reluthe._validate import check_choice, check_positive_float, check_positive_int, check_seed
from reluthe.data import Dataset
from reluthe.errors import InvalidInputError
from reluthe.models import activation_fn, mlp

__all__ = ["Recipe", "TrainResult", "Checkpoint", "FitResult", "train_mlps", "fit", "batch_order"]

_BATCH_SEED_OFFSET = 7919  # batch order generator = seed + offset, distinct from the init generator


@dataclass(frozen=True)
class Recipe:
    """A training recipe: optimiser, its hyper-parameters, regularisers and the step budget.

    Parameters
    ----------
    optimizer : {"adam", "sgd"}
    lr : float
    momentum : float
        SGD momentum (torch's convention, no dampening). Ignored by Adam.
    weight_decay : float
        L2 penalty coupled to the gradient, as ``torch.optim.Adam/SGD(weight_decay=...)``.
    l1_activity : float
        Coefficient of the L1 activity penalty: mean |h| over batch and units, summed over
        hidden layers, added to the loss.
    dropout : float
        Dropout probability after every hidden activation during training.
    bias_shift : float
        Constant added to every hidden bias at initialisation (shifts sparsity at init).
    batch_size, steps, eval_every : int
        Minibatch size (epochs are seeded permutations, last partial batch dropped), optimiser
        steps, and the evaluation period (the final step is always evaluated).
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    l1_activity: float = 0.0
    dropout: float = 0.0
    bias_shift: float = 0.0
    batch_size: int = 128
    steps: int = 1000
    eval_every: int = 100

    def __post_init__(self):
        f = "Recipe"
        check_choice(self.optimizer, ("adam", "sgd"), param="optimizer", func=f)
        check_positive_float(self.lr, param="lr", func=f)
        for name in ("momentum", "weight_decay", "l1_activity"):
            check_positive_float(getattr(self, name), param=name, func=f, allow_zero=True)
        if not (0.0 <= self.dropout < 1.0):
            raise InvalidInputError(f"The 'dropout' parameter of Recipe must be in [0, 1). "
                                    f"Got {self.dropout!r} instead.")
        if not math.isfinite(self.bias_shift):
            raise InvalidInputError(f"The 'bias_shift' parameter of Recipe must be finite. "
                                    f"Got {self.bias_shift!r} instead.")
        for name in ("batch_size", "steps", "eval_every"):
            check_positive_int(getattr(self, name), param=name, func=f)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """Metrics of every member at one evaluation step chosen per member by a rule.

    Made by :meth:`TrainResult.at_best_val` and :meth:`TrainResult.at_matched_fit`. Members for
    which the rule finds no step (a fit target never reached) stay in every array, with
    ``reached`` False, ``index`` -1 and NaN elsewhere: none is dropped.

    Attributes
    ----------
    rule : str
        The rule, e.g. ``"best val_acc"`` or ``"first train_acc >= 0.95"``.
    index : np.ndarray of int, shape (K,)
        Position of the chosen evaluation in ``TrainResult.steps`` (-1: none).
    step : np.ndarray of float, shape (K,)
        The chosen optimiser step (NaN: none).
    reached : np.ndarray of bool, shape (K,)
    train_loss, train_acc, test_loss, test_acc : np.ndarray, shape (K,)
        The curves of :class:`TrainResult` read at ``index``.
    val_loss, val_acc : np.ndarray or None, shape (K,)
        As above; ``None`` when the run had no validation split.
    """

    rule: str
    index: np.ndarray
    step: np.ndarray
    reached: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    val_loss: np.ndarray | None = None
    val_acc: np.ndarray | None = None

    @property
    def n_unreached(self) -> int:
        """Number of members for which the rule found no step."""
        return int((~self.reached).sum())


_CURVES = ("train_loss", "train_acc", "test_loss", "test_acc", "val_loss", "val_acc")


@dataclass(frozen=True)
class TrainResult:
    """Curves and final weights of K jointly trained MLPs.

    Attributes
    ----------
    widths, activation : the shared architecture
    init : str or tuple of str
        The init scheme of all members, or one per recipe (see :attr:`member_inits`).
    seeds : tuple of int, one per member
    recipes : tuple of Recipe, one per member
    steps : np.ndarray, shape (T,)
        Steps at which the curves were evaluated.
    train_loss, test_loss, train_acc, test_acc : np.ndarray, shape (K, T)
        Accuracies are NaN for regression; losses exclude penalties.
    weights : list of (W, b) torch tensors, W of shape (K, out, in), b (K, out), on the CPU
    time_s : float
        Wall-clock seconds of the training loop (evaluation included).
    output_activation : str or None
        The activation applied after the last layer (``None``: none).
    train_time_s : float
        The part of ``time_s`` spent in training steps (evaluation excluded).
    train_cpu_s : float
        CPU seconds of this process in training steps (evaluation excluded): unlike wall-clock
        time, not stretched by other processes, so the last step over it is a throughput for
        budgets of compute (with one torch thread, the time of an otherwise idle core).
    val_loss, val_acc : np.ndarray, shape (K, T), or None
        The validation curves, when the dataset has a validation split (``None`` otherwise).
        :meth:`at_best_val` and :meth:`at_matched_fit` read every curve at a step chosen per
        member; weights are kept for the last step only.
    """

    widths: tuple[int, ...]
    activation: str
    activation_params: dict
    init: str | tuple[str, ...]
    seeds: tuple[int, ...]
    recipes: tuple[Recipe, ...]
    steps: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    weights: list = field(repr=False)
    time_s: float = 0.0
    output_activation: str | None = None
    train_time_s: float = 0.0
    train_cpu_s: float = 0.0
    val_loss: np.ndarray | None = None
    val_acc: np.ndarray | None = None

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    @property
    def has_val(self) -> bool:
        """Whether validation curves were recorded (the dataset had a validation split)."""
        return self.val_acc is not None

    def at_best_val(self, metric: str = "val_acc") -> Checkpoint:
        """Every member at its evaluation with the best validation score (ties: the earliest).

        Parameters
        ----------
        metric : {"val_acc", "val_loss"}
            Highest accuracy, or lowest loss (regression has no accuracy). A NaN score (a
            diverged run) counts as the worst.

        Returns
        -------
        Checkpoint
            Every curve read at the chosen step; ``reached`` is True for all members.

        Examples
        --------
        >>> from reluthe import data
        >>> ds = data.load("spirals", seed=0, n_samples=400, val_size=0.25)
        >>> res = train_mlps(ds, [2, 32, 2], seeds=[0, 1], recipes=Recipe(steps=60, eval_every=20))
        >>> best = res.at_best_val()
        >>> bool((best.val_acc == res.val_acc.max(axis=1)).all()), best.n_unreached
        (True, 0)
        """
        values = self._curve_for(metric, ("val_acc", "val_loss"), "at_best_val")
        maximize = metric.endswith("acc")
        score = np.where(np.isnan(values), -np.inf if maximize else np.inf, values)
        index = np.argmax(score, 1) if maximize else np.argmin(score, 1)  # first of ties
        return self._checkpoint(index, f"best {metric}")

    def at_matched_fit(self, target: float = 0.95, metric: str = "train_acc") -> Checkpoint:
        """Every member at the first evaluation where its fit reaches ``target``.

        Comparing arms at equal fit of the training set separates generalisation from how far
        training got. Members that never reach the target are kept, with ``reached`` False
        and NaN metrics (:attr:`Checkpoint.n_unreached` counts them).

        Parameters
        ----------
        target : float
            Train accuracy to reach (``>=``, in (0, 1]), or train loss (``<=``, >= 0).
        metric : {"train_acc", "train_loss"}

        Returns
        -------
        Checkpoint

        Examples
        --------
        >>> from reluthe import data
        >>> ds = data.load("spirals", seed=0, n_samples=400, val_size=0.25)
        >>> res = train_mlps(ds, [2, 32, 2], seeds=[0, 1], recipes=Recipe(steps=60, eval_every=20))
        >>> fit = res.at_matched_fit(target=1.0)  # 60 steps do not fit the spirals
        >>> fit.reached.tolist(), fit.n_unreached, bool(np.isnan(fit.test_acc).all())
        ([False, False], 2, True)
        """
        func = "TrainResult.at_matched_fit"
        values = self._curve_for(metric, ("train_acc", "train_loss"), "at_matched_fit")
        is_acc = metric.endswith("acc")
        ok = (isinstance(target, numbers.Real) and not isinstance(target, bool)
              and math.isfinite(target) and (0 < target <= 1 if is_acc else target >= 0))
        if not ok:
            accepted = "a number in (0, 1]" if is_acc else "a finite number >= 0"
            raise InvalidInputError(f"The 'target' parameter of {func} with metric={metric!r} "
                                    f"must be {accepted}. Got {target!r} instead.")
        hit = values >= target if is_acc else values <= target  # NaN never hits
        index = np.where(hit.any(1), hit.argmax(1), -1)
        return self._checkpoint(index, f"first {metric} {'>=' if is_acc else '<='} {target:g}")

    def _curve_for(self, metric: str, choices: tuple[str, ...], method: str) -> np.ndarray:
        func = f"TrainResult.{method}"
        check_choice(metric, choices, param="metric", func=func)
        values = getattr(self, metric)
        if values is None:
            raise InvalidInputError(f"{func}(metric={metric!r}) needs validation curves, and this "
                                    f"run has none: its dataset had no validation split. Load it "
                                    f"with reluthe.data.load(..., val_size=0.2).")
        if metric.endswith("acc") and np.isnan(values).all():
            raise InvalidInputError(f"The 'metric' parameter of {func} is {metric!r}, but this "
                                    f"run has no accuracies (regression); use "
                                    f"{metric.replace('acc', 'loss')!r}.")
        return values

    def _checkpoint(self, index: np.ndarray, rule: str) -> Checkpoint:
        reached = index >= 0
        safe = np.where(reached, index, 0)
        picked = {}
        for name in _CURVES:
            curve = getattr(self, name)
            if curve is not None:
                values = np.take_along_axis(curve, safe[:, None], 1)[:, 0].astype(np.float64)
                picked[name] = np.where(reached, values, np.nan)
        step = np.where(reached, np.asarray(self.steps, dtype=np.float64)[safe], np.nan)
        return Checkpoint(rule, np.asarray(index, dtype=np.int64), step, reached, **picked)

    def select(self, members: Sequence[int]) -> TrainResult:
        """The result restricted to ``members`` (indices, in that order): curves, weights,
        seeds, recipes and inits; the times stay those of the whole batched run.

        Examples
        --------
        >>> from reluthe import data
        >>> ds = data.load("spirals", seed=0, n_samples=200)
        >>> res = train_mlps(ds, [2, 8, 2], seeds=[0, 1, 2], recipes=Recipe(steps=4, eval_every=4))
        >>> sub = res.select([2, 0])
        >>> sub.seeds, sub.test_acc.shape
        ((2, 0), (2, 2))
        """
        idx = [int(m) for m in members]
        if not idx or not all(0 <= m < self.n_members for m in idx):
            raise InvalidInputError(f"The 'members' parameter of TrainResult.select must be a "
                                    f"non-empty sequence of indices in [0, {self.n_members}). "
                                    f"Got {list(members)!r} instead.")
        inits = tuple(self.member_inits[m] for m in idx)
        curves = {name: getattr(self, name)[idx] for name in _CURVES
                  if getattr(self, name) is not None}
        return replace(
            self, init=inits[0] if len(set(inits)) == 1 else inits,
            seeds=tuple(self.seeds[m] for m in idx), recipes=tuple(self.recipes[m] for m in idx),
            weights=[(w[idx], b[idx]) for w, b in self.weights], **curves)

    @property
    def member_inits(self) -> tuple[str, ...]:
        """The init scheme of each member (``init`` repeated, or ``init[r]`` for recipe r)."""
        return _member_inits(self.init, self.n_members)

    def model(self, k: int) -> nn.Sequential:
        """Member ``k`` as a standalone ``nn.Sequential`` (a copy; float32, CPU)."""
        if not 0 <= k < self.n_members:
            raise InvalidInputError(f"Member index must be in [0, {self.n_members}). Got {k!r}.")
        net = mlp(list(self.widths), self.activation, "default", seed=0,
                  activation_params=self.activation_params,
                  output_activation=self.output_activation)
        linears = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, (w, b) in zip(linears, self.weights):
                lin.weight.copy_(w[k])
                lin.bias.copy_(b[k])
        return net

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-activation hidden features of every member on inputs ``x``: list of (K, N, h)."""
        act = activation_fn(self.activation, **self.activation_params)
        with torch.no_grad():
            _, hs = _forward(self.weights, x.reshape(len(x), -1).float(), act, None, None)
        return hs

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs of every member on inputs ``x`` (after ``output_activation``): (K, N, out)."""
        act = activation_fn(self.activation, **self.activation_params)
        out_act = activation_fn(self.output_activation) if self.output_activation else None
        with torch.no_grad():
            out, _ = _forward(self.weights, x.reshape(len(x), -1).float(), act, None, None,
                              out_act)
        return out

    def to_dict(self) -> dict:
        """Summary (no weights): final metrics per member and the configuration."""
        return {
            "widths": list(self.widths), "activation": self.activation,
            "activation_params": dict(self.activation_params),
            "init": self.init if isinstance(self.init, str) else list(self.init),
            "output_activation": self.output_activation,
            "seeds": list(self.seeds), "recipes": [r.to_dict() for r in self.recipes],
            "steps": self.steps.tolist(),
            "final_train_loss": self.train_loss[:, -1].tolist(),
            "final_test_loss": self.test_loss[:, -1].tolist(),
            "final_train_acc": self.train_acc[:, -1].tolist(),
            "final_test_acc": self.test_acc[:, -1].tolist(),
            **({"final_val_loss": self.val_loss[:, -1].tolist(),
                "final_val_acc": self.val_acc[:, -1].tolist()} if self.has_val else {}),
            "time_s": self.time_s, "train_time_s": self.train_time_s,
            "train_cpu_s": self.train_cpu_s,
        }


def batch_order(n: int, batch_size: int, steps: int, seed: int) -> torch.Tensor:
    """Minibatch indices, shape (steps, batch_size): seeded epoch permutations, last partial
    batch of each epoch dropped. Shared by the batched and the one-at-a-time trainers."""
    if batch_size > n:
        raise InvalidInputError(f"batch_size ({batch_size}) exceeds the training set size ({n}).")
    gen = torch.Generator().manual_seed(seed + _BATCH_SEED_OFFSET)
    per_epoch = n // batch_size
    epochs = -(-steps // per_epoch)
    perms = [torch.randperm(n, generator=gen)[: per_epoch * batch_size] for _ in range(epochs)]
    return torch.cat(perms).view(-1, batch_size)[:steps]


def _forward(weights, x, act, drop_p, gen, out_act=None):
    """x: (N, D) shared or (K, N, D). Returns outputs (K, N, out) and hidden activations."""
    hs = []
    h = x
    last = len(weights) - 1
    for i, (w, b) in enumerate(weights):
        if h.dim() == 2:
            h = torch.matmul(h, w.transpose(1, 2)) + b[:, None, :]
        else:
            h = torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))
        if i < last:
            h = act(h)
            hs.append(h)
            if drop_p is not None:
                keep = 1.0 - drop_p[:, None, None]
                mask = torch.rand(h.shape, generator=gen, device=h.device) < keep
                h = h * mask / keep
    return (h if out_act is None else out_act(h)), hs


def _loss(logits, y, n_classes):
    k, n = logits.shape[:2]
    if n_classes is None:
        target = y.expand(k, *y.shape) if y.dim() == logits.dim() - 1 else y
        return ((logits - target) ** 2).reshape(k, n, -1).mean(dim=(1, 2))
    target = y.expand(k, n) if y.dim() == 1 else y
    # logits - logsumexp is cross-entropy; on CPU it is faster than F.cross_entropy's
    # log_softmax kernel for few classes. fit() uses the same function, so both agree exactly.
    logp = logits - torch.logsumexp(logits, -1, keepdim=True)
    return -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1).mean(1)


def _evaluate(weights, x, y, act, n_classes, out_act=None, chunk=8192):
    losses, correct = [], []
    with torch.no_grad():
        for s in range(0, len(x), chunk):
            logits, _ = _forward(weights, x[s:s + chunk], act, None, None, out_act)
            yy = y[s:s + chunk]
            losses.append(_loss(logits, yy, n_classes) * len(yy))
            if n_classes is not None:
                correct.append((logits.argmax(-1) == yy[None]).float().sum(1))
    loss = (torch.stack(losses).sum(0) / len(x)).cpu().numpy()
    if n_classes is None:
        return loss, np.full_like(loss, np.nan)
    return loss, (torch.stack(correct).sum(0) / len(x)).cpu().numpy()


def _check_dataset(dataset: Dataset, func: str) -> None:
    if not isinstance(dataset, Dataset):
        raise InvalidInputError(f"The 'dataset' parameter of {func} must be a reluthe.data.Dataset "
                                f"(from reluthe.data.load). Got {type(dataset).__name__} instead.")
    names = ("x_train", "x_val", "x_test") + (
        ("y_train", "y_val", "y_test") if dataset.n_classes is None else ())
    for name in names:
        t = getattr(dataset, name)
        if not torch.isfinite(t).all():
            raise InvalidInputError(f"Dataset {dataset.name!r} has NaN/inf values in {name}.")


def _member_inits(init: str | tuple[str, ...], n_members: int) -> tuple[str, ...]:
    """One init name per member: ``init`` for all, or each of one-per-recipe names repeated
    for that recipe's block of ``n_members // len(init)`` seeds."""
    if isinstance(init, str):
        return (init,) * n_members
    return tuple(i for i in init for _ in range(n_members // len(init)))


def _seeded_init(widths, activation, params, inits, seeds) -> list:
    """Stacked (W, b) of ``mlp(widths, ..., init=i, seed=s)`` for every member's (i, s)."""
    nets = [mlp(list(widths), activation, i, seed=s, activation_params=params)
            for i, s in zip(inits, seeds)]
    linears = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
    return [(torch.stack([lins[i].weight.detach() for lins in linears]),
             torch.stack([lins[i].bias.detach() for lins in linears]))
            for i in range(len(widths) - 1)]


def _check_init_weights(weights, widths, k, func) -> list:
    """Validate stacked starting weights against the architecture and member count."""
    expected = [((k, b, a), (k, b)) for a, b in zip(widths[:-1], widths[1:])]
    try:
        pairs = [(torch.as_tensor(w, dtype=torch.float32).detach().clone(),
                  torch.as_tensor(b, dtype=torch.float32).detach().clone()) for w, b in weights]
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"The 'init_weights' parameter of {func} must be a sequence of "
                                f"(W, b) tensor pairs.") from exc
    got = [(tuple(w.shape), tuple(b.shape)) for w, b in pairs]
    if got != expected:
        raise InvalidInputError(f"The 'init_weights' parameter of {func} must have shapes "
                                f"{expected} for {k} members of widths {list(widths)}. "
                                f"Got {got} instead.")
    if not all(torch.isfinite(t).all() for pair in pairs for t in pair):
        raise InvalidInputError(f"The 'init_weights' parameter of {func} must be finite. "
                                f"Got NaN/inf values.")
    return pairs


def _check_train_args(dataset, widths, seeds, recipes, init, max_time_s, func):
    """Validated ``(recipes, seeds, widths, init)`` of :func:`train_mlps` as tuples."""
    _check_dataset(dataset, func)
    recipes = (recipes,) if isinstance(recipes, Recipe) else tuple(recipes)
    if not recipes or not all(isinstance(r, Recipe) for r in recipes):
        raise InvalidInputError(f"The 'recipes' parameter of {func} must be a Recipe or a "
                                f"non-empty sequence of Recipe. Got {recipes!r} instead.")
    shared = {(r.optimizer, r.batch_size, r.steps, r.eval_every) for r in recipes}
    if len(shared) > 1:
        raise InvalidInputError(f"All recipes of one batched run must share optimizer, batch_size, "
                                f"steps and eval_every. Got {sorted(shared)}.")
    if isinstance(seeds, (int, str)) or len(seeds) == 0:
        raise InvalidInputError(f"The 'seeds' parameter of {func} must be a non-empty sequence of "
                                f"integers. Got {seeds!r} instead.")
    seeds = tuple(check_seed(s, func=func, param="seeds") for s in seeds)
    widths = tuple(int(w) for w in widths)
    if widths[0] != dataset.input_dim:
        raise InvalidInputError(f"widths[0] must equal the dataset's input dimension "
                                f"{dataset.input_dim}. Got widths={list(widths)}.")
    if dataset.n_classes is not None and widths[-1] != dataset.n_classes:
        raise InvalidInputError(f"widths[-1] must equal the number of classes {dataset.n_classes}. "
                                f"Got widths={list(widths)}.")
    if max_time_s is not None:
        check_positive_float(max_time_s, param="max_time_s", func=func)
    if not isinstance(init, str):
        init = tuple(init)
        if len(init) != len(recipes) or not all(isinstance(i, str) for i in init):
            raise InvalidInputError(f"The 'init' parameter of {func} must be an init name or one "
                                    f"name per recipe ({len(recipes)}). Got {list(init)!r}.")
    return recipes, seeds, widths, init


@dataclass(frozen=True)
class _Members:
    """Seed, recipe and init of every member: member ``r * len(seeds) + s`` has recipe r, seed s."""

    seeds: tuple[int, ...]
    recipes: tuple[Recipe, ...]
    inits: tuple[str, ...]

    @classmethod
    def expand(cls, recipes, seeds, init) -> _Members:
        member_seeds = tuple(s for _ in recipes for s in seeds)
        return cls(member_seeds, tuple(r for r in recipes for _ in seeds),
                   _member_inits(init, len(member_seeds)))

    def column(self, name: str, device, dtype=torch.float32) -> torch.Tensor:
        """The recipe field ``name`` of every member as a (K, 1) column."""
        return torch.tensor([[getattr(r, name)] for r in self.recipes], device=device, dtype=dtype)


class _FlatParams:
    """All parameters in one (K, P) buffer, a row per member: the optimiser is then a handful of
    elementwise ops per step, with per-member hyper-parameters as (K, 1) columns."""

    def __init__(self, start_weights, bias_shift: torch.Tensor, device):
        blocks = []
        for i, (w, b) in enumerate(start_weights):
            if i < len(start_weights) - 1:  # hidden layers only
                b = b + bias_shift
            blocks += [w, b]
        self.shapes = [t.shape for t in blocks]
        self.sizes = [t[0].numel() for t in blocks]
        k = len(blocks[0])
        self.flat = torch.cat([t.reshape(k, -1) for t in blocks], 1).to(device).requires_grad_()

    def unflatten(self, buffer: torch.Tensor) -> list:
        parts = [t.view(shape) for t, shape in zip(torch.split(buffer, self.sizes, 1), self.shapes)]
        return list(zip(parts[::2], parts[1::2]))

    def detached(self) -> list:
        """The current (W, b) of every layer, stacked over members, without autograd."""
        return self.unflatten(self.flat.detach())


class _Optimizer:
    """torch.optim's single-tensor Adam / SGD formulas, elementwise with per-member columns."""

    BETA1, BETA2, EPS = 0.9, 0.999, 1e-8

    def __init__(self, members: _Members, flat: torch.Tensor):
        dev = flat.device
        self.kind = members.recipes[0].optimizer
        self.lr64, self.lr = members.column("lr", dev, torch.float64), members.column("lr", dev)
        self.wd, self.mom = members.column("weight_decay", dev), members.column("momentum", dev)
        self.use_wd = bool((self.wd != 0).any())
        self.m, self.v = torch.zeros_like(flat), torch.zeros_like(flat)

    def update(self, flat: torch.Tensor, g: torch.Tensor, step: int) -> None:
        with torch.no_grad():
            if self.use_wd:
                g = torch.addcmul(g, self.wd.expand_as(flat), flat)
            if self.kind == "sgd":
                self.m = g if step == 1 else self.m.mul_(self.mom).add_(g)
                flat.addcmul_(-self.lr.expand_as(flat), self.m)
                return
            b1, b2 = self.BETA1, self.BETA2
            self.m.lerp_(g, 1 - b1)
            self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
            bc1, bc2 = 1 - b1**step, 1 - b2**step
            denom = self.v.sqrt().div_(math.sqrt(bc2)).add_(self.EPS)
            step_size = (self.lr64 / bc1).to(flat.dtype)  # as torch: lr / bc1
            flat.add_(torch.mul(self.m, -step_size).div_(denom))


def _device_splits(dataset: Dataset, device) -> dict:
    """{split: (x flattened to (n, D) float32, y)} on ``device``; validation only if non-empty."""
    names = ("train", "val", "test") if len(dataset.x_val) else ("train", "test")
    out = {}
    for name in names:
        x, y = getattr(dataset, f"x_{name}"), getattr(dataset, f"y_{name}")
        out[name] = (x.reshape(len(x), -1).float().to(device), y.to(device))
    return out


class _Recorder:
    """Loss and accuracy of every member on every split at each evaluation, and its cost."""

    def __init__(self, splits: dict, act, out_act, n_classes):
        self.splits, self.act, self.out_act, self.n_classes = splits, act, out_act, n_classes
        self.steps: list[int] = []
        self.curves = {f"{s}_{m}": [] for s in splits for m in ("loss", "acc")}
        self.wall_s = self.cpu_s = 0.0  # spent evaluating inside the timed loop

    def record(self, step: int, weights: list) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        for name, (x, y) in self.splits.items():
            loss, acc = _evaluate(weights, x, y, self.act, self.n_classes, self.out_act)
            self.curves[f"{name}_loss"].append(loss)
            self.curves[f"{name}_acc"].append(acc)
        self.steps.append(step)
        self.wall_s += time.perf_counter() - t0
        self.cpu_s += time.process_time() - c0

    def arrays(self) -> dict:
        """Curves as (K, T) arrays, keyed like the ``TrainResult`` fields."""
        return {key: np.stack(v, 1) for key, v in self.curves.items()}


def _step_loop(packed: _FlatParams, members: _Members, rec: _Recorder, *, act, out_act,
               augment, max_time_s) -> tuple[float, float]:
    """Run the optimiser steps, recording at step 0, every ``eval_every`` and the last step.
    Returns the wall-clock and CPU seconds of the loop (evaluation included)."""
    base, flat, dev = members.recipes[0], packed.flat, packed.flat.device
    x_tr, y_tr = rec.splits["train"]
    orders = torch.stack([batch_order(len(x_tr), base.batch_size, base.steps, s)
                          for s in members.seeds], 1).to(dev)  # (steps, K, B)
    gen = torch.Generator(device=dev).manual_seed(members.seeds[0] + 2 * _BATCH_SEED_OFFSET)
    l1, drop = members.column("l1_activity", dev)[:, 0], members.column("dropout", dev)[:, 0]
    drop_p = drop if bool((drop > 0).any()) else None
    use_l1 = bool((l1 > 0).any())
    opt = _Optimizer(members, flat)
    rec.record(0, packed.detached())
    rec.wall_s = rec.cpu_s = 0.0
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in range(1, base.steps + 1):
        idx = orders[step - 1]
        xb = torch.index_select(x_tr, 0, idx.reshape(-1)).view(*idx.shape, -1)
        yb = torch.index_select(y_tr, 0, idx.reshape(-1)).view(*idx.shape, *y_tr.shape[1:])
        if augment is not None:
            xb = augment(xb, gen)
        logits, hs = _forward(packed.unflatten(flat), xb, act, drop_p, gen, out_act)
        loss = _loss(logits, yb, rec.n_classes)
        if use_l1:
            loss = loss + l1 * sum(h.abs().mean(dim=(1, 2)) for h in hs)
        (g,) = torch.autograd.grad(loss.sum(), flat)
        opt.update(flat, g, step)
        if step % base.eval_every == 0 or step == base.steps:
            rec.record(step, packed.detached())
        if max_time_s is not None and time.perf_counter() - start > max_time_s:
            if rec.steps[-1] != step:
                rec.record(step, packed.detached())
            break
    return time.perf_counter() - start, time.process_time() - cpu_start


def train_mlps(dataset: Dataset, widths: Sequence[int], *, seeds: Sequence[int],
               recipes: Recipe | Sequence[Recipe] = Recipe(), activation: str = "relu",
               activation_params: dict | None = None, init: str | Sequence[str] = "default",
               device: str = "cpu", max_time_s: float | None = None,
               augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
               init_weights: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
               output_activation: str | None = None) -> TrainResult:
    """Train ``len(recipes) × len(seeds)`` MLPs of one shape as a single batched model.

    Parameters
    ----------
    dataset : Dataset
        Training, validation and test data (``reluthe.data.load``); flattened to
        (n, input_dim). If it has a validation split (``val_size > 0``), validation loss and
        accuracy are recorded at every evaluation too; training never sees it.
    widths : sequence of int
        ``[input_dim, hidden..., output]``; ``widths[0]`` must equal the dataset's input dim.
    seeds : sequence of int
        One member per seed (and per recipe): member ``r * len(seeds) + s`` has ``recipes[r]``
        and ``seeds[s]``. The seed fixes the init and the batch order.
    recipes : Recipe or sequence of Recipe
        Per-member hyper-parameters. All must share optimizer, batch_size, steps and eval_every.
    activation, activation_params :
        As in :func:`reluthe.models.mlp`.
    init : str or sequence of str
        Init scheme (as in :func:`reluthe.models.mlp`) of every member, or one per recipe:
        member ``r * len(seeds) + s`` then starts from ``mlp(..., init=init[r], seed=seeds[s])``,
        so several inits train in one batched run (pass the same Recipe once per init).
    device : str
        "cpu" or "cuda".
    max_time_s : float, optional
        Stop after this much wall-clock time (evaluating at the last step done): for budgets
        matched in time rather than steps.
    augment : callable, optional
        ``augment(x_batch, generator) -> x_batch`` applied to each (K, B, D) training batch.
    init_weights : sequence of (W, b), optional
        Starting weights of all K members, stacked as in ``TrainResult.weights`` (e.g. those of
        a pre-training run, for transfer); replaces the seeded init (the seeds still fix the
        batch order; ``bias_shift`` is still added).
    output_activation : str, optional
        An activation applied after the last layer, in training and evaluation (claim C24).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from reluthe import data
    >>> ds = data.load("digits", seed=0)
    >>> r = train_mlps(ds, [64, 32, 10], seeds=[0, 1, 2], recipes=Recipe(steps=100, eval_every=100))
    >>> bool((r.test_acc[:, -1] > 0.5).all())
    True
    >>> r.val_acc is None  # no validation split asked for
    True
    """
    func = "train_mlps"
    recipes, seeds, widths, init = _check_train_args(dataset, widths, seeds, recipes, init,
                                                     max_time_s, func)
    params = dict(activation_params or {})
    act = activation_fn(activation, **params)
    out_act = activation_fn(output_activation) if output_activation is not None else None
    members = _Members.expand(recipes, seeds, init)
    start_weights = (
        _check_init_weights(init_weights, widths, len(members.seeds), func)
        if init_weights is not None
        else _seeded_init(widths, activation, params, members.inits, members.seeds))
    packed = _FlatParams(start_weights, members.column("bias_shift", "cpu"), torch.device(device))
    rec = _Recorder(_device_splits(dataset, packed.flat.device), act, out_act, dataset.n_classes)
    elapsed, cpu = _step_loop(packed, members, rec, act=act, out_act=out_act, augment=augment,
                              max_time_s=max_time_s)
    weights = [(w.cpu().clone(), b.cpu().clone()) for w, b in packed.detached()]
    return TrainResult(widths, activation, params, init, members.seeds, members.recipes,
                       np.asarray(rec.steps), weights=weights, time_s=elapsed,
                       output_activation=output_activation, train_time_s=elapsed - rec.wall_s,
                       train_cpu_s=cpu - rec.cpu_s, **rec.arrays())


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


def fit(model: nn.Module, dataset: Dataset, recipe: Recipe = Recipe(), *, seed: int = 0,
        device: str = "cpu", max_time_s: float | None = None) -> FitResult:
    """Train a copy of any torch ``model`` with ``torch.optim`` (one model at a time).

    The batch order is :func:`batch_order` with ``seed``, so an MLP built by
    ``reluthe.models.mlp(..., seed=s)`` and trained here follows the same trajectory as member
    ``s`` of :func:`train_mlps`. The caller's model, its mode and the global RNG are unchanged.
    Inputs keep their shape (a CNN gets ``(n, c, l)``); penalties of the recipe that need the
    hidden layers (``l1_activity``, ``dropout``, ``bias_shift``) are for :func:`train_mlps` only.

    Examples
    --------
    >>> from reluthe import data, models
    >>> ds = data.load("spirals", seed=0, n_samples=400)
    >>> r = fit(models.mlp([2, 16, 2], seed=0), ds, Recipe(steps=20, eval_every=10))
    >>> r.steps.tolist()
    [0, 10, 20]
    """
    import copy

    func = "fit"
    _check_dataset(dataset, func)
    seed = check_seed(seed, func=func)
    if not isinstance(model, nn.Module):
        raise InvalidInputError(f"The 'model' parameter of {func} must be a torch.nn.Module. "
                                f"Got {type(model).__name__} instead.")
    if recipe.l1_activity or recipe.dropout or recipe.bias_shift:
        raise InvalidInputError("fit() does not apply l1_activity, dropout or bias_shift; put them "
                                "in the model or use train_mlps().")
    dev = torch.device(device)
    net = copy.deepcopy(model).to(dev).train()
    if recipe.optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay,
                               foreach=False)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                              weight_decay=recipe.weight_decay, foreach=False)
    x_tr, y_tr = dataset.x_train.to(dev), dataset.y_train.to(dev)
    x_te, y_te = dataset.x_test.to(dev), dataset.y_test.to(dev)
    order = batch_order(len(x_tr), recipe.batch_size, recipe.steps, seed).to(dev)

    def evaluate(x, y):
        net.eval()
        with torch.no_grad():
            logits = torch.cat([net(x[s:s + 8192]) for s in range(0, len(x), 8192)])
        net.train()
        loss = float(_loss(logits[None], y, dataset.n_classes)[0])
        acc = (float((logits.argmax(-1) == y).float().mean()) if dataset.n_classes is not None
               else float("nan"))
        return loss, acc

    steps, rows = [], []

    def record(step):
        steps.append(step)
        rows.append((*evaluate(x_tr, y_tr), *evaluate(x_te, y_te)))

    record(0)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout inside the model draws from the (forked) global RNG
        for step in range(1, recipe.steps + 1):
            idx = order[step - 1]
            loss = _loss(net(x_tr[idx])[None], y_tr[idx], dataset.n_classes)[0]
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
