"""What :func:`~reluthe.train.train_mlps` returns: curves, weights and checkpoints of K members."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from reluthe._validate import _fmt, check_choice
from reluthe.errors import InvalidInputError
from reluthe.models import activation_fn, mlp
from reluthe.train._layers import stacked_mlp
from reluthe.train._recipe import Recipe


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
        member.
    best_val_weights : list of (W, b) or None
        Every member's weights at its :meth:`at_best_val` checkpoint (best validation accuracy,
        or loss for regression; ties: the earliest), stacked like ``weights``; ``None`` without
        a validation split. :meth:`model` and :meth:`hidden` read them with ``at="best_val"``.
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
    best_val_weights: list | None = field(default=None, repr=False)

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
        >>> from reluthe.train import Recipe, train_mlps
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
        >>> from reluthe.train import Recipe, train_mlps
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
        >>> from reluthe.train import Recipe, train_mlps
        >>> ds = data.load("spirals", seed=0, n_samples=200)
        >>> res = train_mlps(ds, [2, 8, 2], seeds=[0, 1, 2], recipes=Recipe(steps=4, eval_every=4))
        >>> sub = res.select([2, 0])
        >>> sub.seeds, sub.test_acc.shape
        ((2, 0), (2, 2))
        """
        if isinstance(members, np.ndarray) and members.ndim == 1:
            members = members.tolist()
        ok = isinstance(members, list | tuple | range) and len(members) > 0 and all(
            isinstance(m, numbers.Integral) and not isinstance(m, bool | np.bool_)
            and 0 <= m < self.n_members for m in members)
        if not ok:
            raise InvalidInputError(f"The 'members' parameter of TrainResult.select must be a "
                                    f"non-empty list or tuple of integer indices in "
                                    f"[0, {self.n_members}). Got {_fmt(members)} instead.")
        idx = [int(m) for m in members]
        inits = tuple(self.member_inits[m] for m in idx)
        curves = {name: getattr(self, name)[idx] for name in _CURVES
                  if getattr(self, name) is not None}
        return replace(
            self, init=inits[0] if len(set(inits)) == 1 else inits,
            seeds=tuple(self.seeds[m] for m in idx), recipes=tuple(self.recipes[m] for m in idx),
            weights=[(w[idx], b[idx]) for w, b in self.weights],
            best_val_weights=None if self.best_val_weights is None else
            [(w[idx], b[idx]) for w, b in self.best_val_weights], **curves)

    @property
    def member_inits(self) -> tuple[str, ...]:
        """The init scheme of each member (``init`` repeated, or ``init[r]`` for recipe r)."""
        return member_inits(self.init, self.n_members)

    def weights_at(self, at: str = "final", func: str = "TrainResult.weights_at") -> list:
        """The stacked weights at the last step (``at="final"``) or at every member's best
        validation checkpoint (``at="best_val"``, a named error without a validation split)."""
        check_choice(at, ("final", "best_val"), param="at", func=func)
        if at == "final":
            return self.weights
        if self.best_val_weights is None:
            raise InvalidInputError(f"{func}(at='best_val') needs a run with a validation split, "
                                    f"and this one has none. Load the dataset with "
                                    f"reluthe.data.load(..., val_size=0.2).")
        return self.best_val_weights

    def model(self, k: int, at: str = "final") -> nn.Sequential:
        """Member ``k`` as a standalone ``nn.Sequential`` (a copy; float32, CPU), with its
        weights ``at`` the last step or its best validation checkpoint (:meth:`weights_at`)."""
        if isinstance(k, bool | np.bool_) or not isinstance(k, numbers.Integral) \
                or not 0 <= k < self.n_members:
            raise InvalidInputError(f"The 'k' parameter of TrainResult.model must be an integer "
                                    f"in [0, {self.n_members}). Got {_fmt(k)} instead.")
        k = int(k)
        weights = self.weights_at(at, "TrainResult.model")
        net = mlp(list(self.widths), self.activation, "default", seed=0,
                  activation_params=self.activation_params,
                  output_activation=self.output_activation)
        linears = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, (w, b) in zip(linears, weights):
                lin.weight.copy_(w[k])
                lin.bias.copy_(b[k])
        return net

    def hidden(self, x: torch.Tensor, at: str = "final") -> list[torch.Tensor]:
        """Post-activation hidden features of every member on inputs ``x``: list of (K, N, h),
        with the weights ``at`` the last step or the best validation checkpoint.

        ``x`` is a tensor, array or nested list of real numbers (floating or integer, converted
        to float32) with ``widths[0]`` features per row after flattening; bool, complex, object
        and string data and NaN/inf values are refused.
        """
        weights = self.weights_at(at, "TrainResult.hidden")
        act = activation_fn(self.activation, **self.activation_params)
        x = self._points(x, "TrainResult.hidden")
        with torch.no_grad():
            _, hs = stacked_mlp(weights, x, act)
        return hs

    def outputs(self, x: torch.Tensor, at: str = "final") -> torch.Tensor:
        """Outputs of every member on inputs ``x`` (after ``output_activation``): (K, N, out).

        ``x`` and ``at`` as in :meth:`hidden`.
        """
        weights = self.weights_at(at, "TrainResult.outputs")
        act = activation_fn(self.activation, **self.activation_params)
        out_act = activation_fn(self.output_activation) if self.output_activation else None
        x = self._points(x, "TrainResult.outputs")
        with torch.no_grad():
            out, _ = stacked_mlp(weights, x, act,
                                 out_act=out_act)
        return out

    def _points(self, x, func: str) -> torch.Tensor:
        """``x`` as a float32 (N, widths[0]) tensor on the CPU, or a named error."""
        accepted = (f"a tensor or array of real numbers (floating or integer) with "
                    f"{self.widths[0]} features per row")
        try:
            if isinstance(x, torch.Tensor):
                t = x.detach().cpu()
            elif isinstance(x, np.ndarray | list | tuple):
                arr = np.asarray(x)
                if arr.dtype.kind not in "iuf":
                    raise TypeError
                t = torch.as_tensor(arr)
            else:
                raise TypeError
            if t.dtype == torch.bool or t.dtype.is_complex or t.dim() == 0:
                raise TypeError
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"The 'x' parameter of {func} must be {accepted}. Got "
                                    f"{_fmt(x)} instead.") from exc
        t = t.reshape(len(t), -1).float()
        if t.shape[1] != self.widths[0]:
            raise InvalidInputError(f"The 'x' parameter of {func} must be {accepted}. Got shape "
                                    f"{tuple(x.shape) if hasattr(x, 'shape') else len(x)} "
                                    f"instead.")
        if not bool(torch.isfinite(t).all()):
            raise InvalidInputError(f"The 'x' parameter of {func} must be finite. Got NaN/inf "
                                    f"values.")
        return t

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


def member_inits(init: str | tuple[str, ...], n_members: int) -> tuple[str, ...]:
    """One init name per member: ``init`` for all, or each of one-per-recipe names repeated
    for that recipe's block of ``n_members // len(init)`` seeds."""
    if isinstance(init, str):
        return (init,) * n_members
    return tuple(i for i in init for _ in range(n_members // len(init)))
