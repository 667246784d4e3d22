"""Stacked vanilla RNNs for C19: data splits, weights, forward pass, training with checkpoints.

A vanilla (Elman) RNN ``h_t = f(W_x x_t + W_h h_{t-1} + b)``, output ``W_o h_T + b_o``. K
members (activation × condition × learning rate × data seed × model seed) train as one stacked
model (:func:`reluthe.train.train_stacked`): every member has its own learning rate, gradient
clipping threshold, data set (one per data seed) and minibatch order (one per model seed).
Members of one model seed share input, output and Gaussian recurrent weights whatever their
activation, condition or learning rate, so arms are paired by (data seed, model seed).

A member *diverges* (:func:`reluthe.probes.architectures.rnn_divergence`) when its training loss
turns NaN/inf, or at an evaluation after step 0 its max |h_t| on the validation and test inputs
exceeds ``H_LIMIT`` or its validation loss exceeds ``LOSS_FACTOR`` × the trivial predictor's (an
IRNN's outputs at initialisation can be large, so step 0 does not count). It is frozen then, and
the whole run is scored as the trivial predictor (no checkpoint before the divergence counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from reluthe import data
from reluthe.errors import InvalidInputError
from reluthe.probes.architectures import adding_problem, rnn_divergence
from reluthe.train import (
    MemberActivation,
    member_generators,
    member_orders,
    stacked_affine,
    stacked_linear,
    train_stacked,
)

__all__ = ["Member", "TaskData", "task_data", "train_rnns", "H_LIMIT", "LOSS_FACTOR"]

H_LIMIT, LOSS_FACTOR = 1e3, 10.0
MNIST1D_LENGTH = 40
CHUNK = 250  # evaluation sequences per forward pass


@dataclass(frozen=True)
class Member:
    """One RNN of the stack: its activation, recurrent init, clipping (None: off), Adam learning
    rate, data seed and model seed."""

    activation: str
    init: str
    clip: float | None
    lr: float
    data_seed: int
    seed: int

    @property
    def condition(self) -> str:
        """``"gaussian"``, ``"identity"``, with ``"+clip"`` when clipped."""
        return f"{self.init}{'+clip' if self.clip else ''}"


@dataclass
class TaskData:
    """Train / validation / test tensors of one task, stacked over data seeds (leading dim)."""

    x: dict[str, torch.Tensor]   # split -> (n_data, n, T, D)
    y: dict[str, torch.Tensor]   # split -> (n_data, n, 1) float, or (n_data, n) class labels
    n_classes: int | None
    trivial: float               # loss of the best constant predictor on the validation split

    @property
    def failure_value(self) -> float:
        """The metric a diverged run is scored with: the trivial MSE, or chance accuracy."""
        return self.trivial if self.n_classes is None else 1.0 / self.n_classes


def _adding_splits(length: int, seed: int, sizes: dict[str, int]) -> dict:
    """One draw of the adding problem, cut into the splits of ``sizes`` (in that order)."""
    x, y = adding_problem(sum(sizes.values()), length, seed=seed)
    out, start = {}, 0
    for split, n in sizes.items():
        out[split] = (x[start:start + n], y[start:start + n])
        start += n
    return out


def _mnist1d_splits(length: int, seed: int) -> dict:
    if length != MNIST1D_LENGTH:
        raise InvalidInputError(f"mnist1d is read one value per step, so its length is "
                                f"{MNIST1D_LENGTH}; got length={length!r}.")
    ds = data.load("mnist1d", seed=seed, val_size=0.2)
    return {"train": (ds.x_train.unsqueeze(-1), ds.y_train),
            "val": (ds.x_val.unsqueeze(-1), ds.y_val),
            "test": (ds.x_test.unsqueeze(-1), ds.y_test)}


def task_data(task: str, length: int, data_seeds: list[int], sizes: dict[str, int] | None,
              device: str = "cpu") -> TaskData:
    """The splits of ``task`` ("adding" or "mnist1d") for every data seed, on ``device``.

    ``sizes`` gives the adding problem's train / val / test sizes (mnist1d: None, its own
    split with 20 % of the training portion for validation).

    Raises
    ------
    InvalidInputError
        An unknown task, or a length mnist1d cannot be read at.
    """
    if task == "adding":
        per_seed = [_adding_splits(length, s, sizes) for s in data_seeds]
        n_classes = None
    elif task == "mnist1d":
        per_seed = [_mnist1d_splits(length, s) for s in data_seeds]
        n_classes = 10
    else:
        raise InvalidInputError(f"C19 runs the tasks 'adding' and 'mnist1d'; got {task!r}.")
    x = {k: torch.stack([p[k][0] for p in per_seed]).to(device) for k in per_seed[0]}
    y = {k: torch.stack([p[k][1] for p in per_seed]).to(device) for k in per_seed[0]}
    trivial = (float(((y["val"] - y["val"].mean((1, 2), keepdim=True)) ** 2).mean())
               if n_classes is None else math.log(n_classes))
    return TaskData(x, y, n_classes, trivial)


def _forward(params, x, act, track=False):
    """x: (K, B, T, D) -> outputs (K, B, out) and, if ``track``, max |h_t| per member (K,)."""
    u = torch.einsum("kbtd,khd->tkbh", x, params["wx"]) + params["b"][None, :, None, :]
    w_t = params["wh"].transpose(1, 2)
    h = torch.zeros(u.shape[1:], device=u.device)
    hmax = torch.zeros(u.shape[1], device=u.device) if track else None
    for u_t in u.unbind(0):  # unbind: one backward node for all steps, not one per step
        h = act(torch.baddbmm(u_t, h, w_t))
        if track:
            hmax = torch.maximum(hmax, h.abs().amax((1, 2)).nan_to_num(math.inf))
    return stacked_affine(h, params["wo"], params["bo"]), hmax


def _losses(out, y, n_classes):
    """Per-member mean loss (K,): MSE, or cross-entropy of (K, B, C) logits and (K, B) labels."""
    if n_classes is None:
        return ((out - y) ** 2).mean((1, 2))
    return F.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1)


def _stacked_params(members: list[Member], hid: int, d_in: int, d_out: int, device: str) -> dict:
    """Stacked RNN weights; the recurrent matrix follows each member's init condition.

    Member k draws input-to-hidden, recurrent and output layers in that order from one generator
    seeded by its model seed; the Gaussian recurrent matrix N(0, 1/H) is drawn under both inits
    (and replaced by the identity for an IRNN), so members of one seed share the other weights.
    """
    gens = member_generators([m.seed for m in members])
    wx, b = stacked_linear(gens, hid, d_in, device=device)
    wh = torch.empty(len(members), hid, hid)
    for j, m in enumerate(members):
        gaussian = torch.randn(hid, hid, generator=gens[j]) / math.sqrt(hid)
        wh[j] = torch.eye(hid) if m.init == "identity" else gaussian
    wo, bo = stacked_linear(gens, d_out, hid, device=device)
    return {"wx": wx, "wh": wh.to(device), "b": b.zero_(), "wo": wo, "bo": bo}


def _split_eval(params, d: TaskData, split: str, pick: torch.Tensor, act):
    """Loss, metric (MSE or accuracy) and max |h| (K,) of every member on its data's ``split``."""
    x, y = d.x[split], d.y[split]
    outs, hmaxes = [], []
    for i in range(0, x.shape[1], CHUNK):
        out, hmax = _forward(params, x[pick, i:i + CHUNK], act, track=True)
        outs.append(out)
        hmaxes.append(hmax)
    out, target = torch.cat(outs, 1), y[pick]
    loss = _losses(out, target, d.n_classes)
    metric = loss if d.n_classes is None else (out.argmax(-1) == target).float().mean(1)
    return loss, metric, torch.stack(hmaxes).amax(0)


def _evaluator(params, d: TaskData, pick: torch.Tensor, act):
    """``evaluate(step)`` for :func:`train_stacked`: validation and test metrics, divergence."""
    def evaluate(step):
        val_loss, val_metric, h_val = _split_eval(params, d, "val", pick, act)
        _, test_metric, h_test = _split_eval(params, d, "test", pick, act)
        hmax = torch.maximum(h_val, h_test)
        diverged = rnn_divergence(val_loss.cpu().numpy(), hmax.cpu().numpy(),
                                  trivial_loss=d.trivial, h_limit=H_LIMIT,
                                  loss_factor=LOSS_FACTOR)
        return {"val": val_metric, "test": test_metric, "hmax": hmax,
                "diverged": diverged & (step > 0)}
    return evaluate


def _checkpoints(log, d: TaskData) -> dict[str, np.ndarray]:
    """Per member: best validation metric, test metric and step at that checkpoint; a diverged
    member is scored as the trivial predictor at every checkpoint."""
    val = np.stack([e["val"] for e in log.evals]).astype(float)    # (evals, K)
    test = np.stack([e["test"] for e in log.evals]).astype(float)
    fail = d.failure_value
    val[:, log.diverged], test[:, log.diverged] = fail, fail
    best = val.argmin(0) if d.n_classes is None else val.argmax(0)
    cols = np.arange(val.shape[1])
    return {"val": val[best, cols], "test": test[best, cols],
            "step": np.asarray(log.steps)[best],
            "hmax": np.nanmax(np.stack([e["hmax"] for e in log.evals]), 0)}


def train_rnns(members: list[Member], d: TaskData, data_seeds: list[int], *, hidden: int,
               batch: int, steps: int, evals: int, device: str = "cpu") -> list[dict]:
    """Train ``members`` on ``d`` as one stack; one result dict per member.

    Each result holds the best validation metric over the ``evals`` + 1 evaluations (step 0
    included), the test metric at that checkpoint, its step, divergence and max |h|.

    Raises
    ------
    InvalidInputError
        A member whose data seed is not one of ``data_seeds``.
    """
    unknown = {m.data_seed for m in members} - set(data_seeds)
    if unknown:
        raise InvalidInputError(f"Members name data seeds {sorted(unknown)} that C19's task "
                                f"data does not hold ({data_seeds}).")
    pick = torch.tensor([data_seeds.index(m.data_seed) for m in members], device=device)
    params = _stacked_params(members, hidden, d.x["train"].shape[-1], d.n_classes or 1, device)
    act = MemberActivation([m.activation for m in members])
    clip = torch.tensor([m.clip or math.inf for m in members])
    orders = member_orders(d.x["train"].shape[1], batch, steps, [m.seed for m in members],
                           device=device)
    xtr, ytr = d.x["train"], d.y["train"]

    def member_loss(step):
        idx = orders[step - 1]                                   # (K, B)
        out, _ = _forward(params, xtr[pick[:, None], idx], act)
        return _losses(out, ytr[pick[:, None], idx], d.n_classes)

    log = train_stacked(params, member_loss, steps=steps, lr=[m.lr for m in members],
                        eval_every=max(1, steps // evals),
                        evaluate=_evaluator(params, d, pick, act),
                        clip=clip, device=device)
    ck = _checkpoints(log, d)
    return [{"val_metric": float(ck["val"][j]), "test_metric": float(ck["test"][j]),
             "best_step": int(ck["step"][j]), "diverged": bool(log.diverged[j]),
             "diverged_at": int(log.diverged_at[j]), "hidden_max": float(ck["hmax"][j])}
            for j in range(len(members))]
