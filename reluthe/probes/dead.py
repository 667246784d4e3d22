"""Dead ReLU networks at initialisation and units that die during training.

**Born dead.** A bias-free ReLU MLP with ``L`` hidden layers of width ``N`` is *dead at an input
x* when some hidden layer outputs all zeros there (every later layer then outputs zeros too, the
output is constant near x and no gradient reaches the weights below). If the weights are
independent, continuous and symmetric about 0 (e.g. Gaussian), then for any input ``h ≠ 0`` the
pre-activations ``w_i·h`` of one layer are independent across units and each is ``≤ 0`` with
probability exactly 1/2. A layer is therefore all-zero with probability ``2^-N`` whatever its
(nonzero) input, and by the chain rule over layers

    P(dead at x) = 1 - (1 - 2^-N)^L            (any fixed x ≠ 0; cf. Lu, Shin, Su & Karniadakis,
                                                "Dying ReLU and initialization", 2020)

The assumptions matter: the formula fails for weights that are not symmetric about zero (see
``weight_mean``), at ``x = 0`` (dead with probability 1), and it is a pointwise statement: being
constant on a whole input domain is rarer. :func:`dead_network_mc` estimates the probability by
Monte Carlo with a Clopper-Pearson interval next to the formula.

**Dying during training.** :func:`dead_unit_share` is the share of hidden units of a model whose
output is exactly zero on every input of a data set; :func:`dying_units` trains ReLU MLPs with
several learning rates (batched, seeded) and reports that share at init and after training.

Examples
--------
>>> r = dead_network_mc(2, 3, n_trials=4000, seed=0)
>>> round(r.theory, 4)
0.5781
>>> r.low <= r.theory <= r.high
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from reluthe._untouched import untouched
from reluthe._validate import check_positive_int, check_real, check_real_array, check_seed
from reluthe.data import Dataset
from reluthe.errors import InvalidInputError
from reluthe.models import mlp
from reluthe.probes.capture import check_model_batch, run_capture
from reluthe.stats import clopper_pearson

__all__ = ["DeadNetworkEstimate", "dead_network_mc", "dead_network_theory", "clopper_pearson",
           "dead_unit_share", "dying_units"]


def dead_network_theory(width: int, depth: int) -> float:
    """``1 - (1 - 2^-width)^depth``: probability that a bias-free ReLU net is dead at an input.

    Examples
    --------
    >>> dead_network_theory(1, 1)
    0.5
    """
    width = check_positive_int(width, param="width", func="dead_network_theory")
    depth = check_positive_int(depth, param="depth", func="dead_network_theory")
    return float(-np.expm1(depth * np.log1p(-(0.5 ** width))))


@dataclass(frozen=True)
class DeadNetworkEstimate:
    """Monte Carlo estimate of the probability that a random ReLU net is dead at an input.

    Attributes
    ----------
    width, depth : int
    dead, n_trials : int
        Dead networks among the sampled ones.
    p : float
        ``dead / n_trials``.
    low, high : float
        Clopper-Pearson interval at ``confidence``.
    theory : float
        ``1 - (1 - 2^-width)^depth`` (valid for ``weight_mean = 0``).
    layer_dead : list of float
        Share of the sampled nets whose *first* all-zero layer is layer ``l`` (1-based order).
    weight_mean, confidence : float
    seed : int
    """

    width: int
    depth: int
    dead: int
    n_trials: int
    p: float
    low: float
    high: float
    theory: float
    layer_dead: list
    weight_mean: float
    confidence: float
    seed: int

    @property
    def agrees(self) -> bool:
        """True when the formula lies inside the Monte Carlo interval."""
        return self.low <= self.theory <= self.high

    def to_dict(self) -> dict:
        return {**asdict(self), "agrees": self.agrees}


def dead_network_mc(width: int, depth: int, *, n_trials: int = 20000, input_dim: int = 4,
                    x=None, weight_mean: float = 0.0, confidence: float = 0.95,
                    seed: int = 0) -> DeadNetworkEstimate:
    """Sample bias-free ReLU MLPs and count those dead at one fixed input.

    Weights are i.i.d. ``N(weight_mean, 1/fan_in)`` (the scale does not matter: ReLU is
    positively homogeneous and there is no bias); every trial draws a fresh network and uses
    the same input.

    Parameters
    ----------
    width, depth : int
        Hidden width ``N`` and number of hidden layers ``L``.
    n_trials : int
        Number of sampled networks.
    input_dim : int
        Dimension of the input when ``x`` is not given (then ``x ~ N(0, I)``, drawn with
        ``seed``).
    x : array-like, optional
        The fixed input, shape ``(input_dim,)``.
    weight_mean : float
        Mean of the weights; 0 satisfies the formula's symmetry assumption, anything else
        breaks it (a control that the test can detect a wrong formula).
    confidence : float
        Coverage of the Clopper-Pearson interval.
    seed : int
        Seeds a private ``numpy`` generator.

    Returns
    -------
    DeadNetworkEstimate

    Examples
    --------
    >>> dead_network_mc(3, 4, n_trials=2000, x=[0.0, 0.0], seed=1).p   # x = 0: always dead
    1.0
    """
    func = "dead_network_mc"
    width = check_positive_int(width, param="width", func=func)
    depth = check_positive_int(depth, param="depth", func=func)
    n_trials = check_positive_int(n_trials, param="n_trials", func=func)
    seed = check_seed(seed, func=func)
    confidence = check_real(confidence, param="confidence", func=func, low=0, high=1,
                            low_open=True, high_open=True)
    weight_mean = check_real(weight_mean, param="weight_mean", func=func)
    rng = np.random.default_rng(seed)
    if x is None:
        input_dim = check_positive_int(input_dim, param="input_dim", func=func)
        x = rng.standard_normal(input_dim)
    else:
        x = check_real_array(x, param="x", func=func, ndim=1)
    h = np.broadcast_to(x, (n_trials, x.size))
    dead = np.zeros(n_trials, dtype=bool)
    first = np.zeros(depth, dtype=np.int64)
    fan_in = x.size
    for layer in range(depth):
        w = rng.normal(weight_mean, 1.0 / np.sqrt(fan_in), size=(n_trials, width, fan_in))
        h = np.maximum(np.einsum("tij,tj->ti", w, h), 0.0)
        zero = ~(h > 0).any(axis=1)
        first[layer] = int((zero & ~dead).sum())
        dead |= zero
        fan_in = width
    k = int(dead.sum())
    lo, hi = clopper_pearson(k, n_trials, confidence)
    return DeadNetworkEstimate(width, depth, k, n_trials, k / n_trials, lo, hi,
                               dead_network_theory(width, depth),
                               (first / n_trials).tolist(), float(weight_mean), float(confidence),
                               seed)


def dead_unit_share(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Share of units of each activation call whose output is exactly 0 on every row of ``x``.

    Works on any model (activations found as in :mod:`reluthe.probes.capture`), measured in the
    train/eval mode the caller left it in; nothing is changed
    (:func:`reluthe._untouched.untouched`): in train mode dropout is active but draws from a
    fork of the global RNG, and BatchNorm uses batch statistics while its running statistics and
    ``num_batches_tracked`` are restored; weights, ``requires_grad``, ``.grad``, hooks and the
    torch, numpy and ``random`` RNG states are as before.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1., 0], [0, 1], [-1, -1]]))
    ...     _ = net[0].bias.zero_()
    >>> dead_unit_share(net, torch.tensor([[1., 2.], [3., 1.]])).tolist()
    [0.3333333333333333]
    """
    check_model_batch(model, x, "dead_unit_share")
    with untouched(model):
        caps = run_capture(model, x, False, None, "dead_unit_share")
    return np.asarray([float((c.output.reshape(len(x), -1) == 0).all(0).double().mean())
                       for c in caps])


def dying_units(dataset: Dataset, widths: Sequence[int], *, lrs: Sequence[float],
                seeds: Sequence[int], optimizer: str = "sgd", steps: int = 300,
                init: str = "default", batch_size: int = 128) -> dict:
    """Train ReLU MLPs at several learning rates and measure dead units before and after.

    All ``len(lrs) × len(seeds)`` models train as one batched model
    (:func:`reluthe.train.train_mlps`). A unit is dead when its output is 0 on every training
    input.

    Returns
    -------
    dict
        ``lrs``, ``seeds``, ``dead_init`` and ``dead_final`` (lists over learning rates of lists
        over seeds of the share of dead hidden units, all layers pooled), ``final_train_loss``
        and ``final_test_acc`` (same layout), ``steps``.

    Examples
    --------
    >>> from reluthe import data
    >>> ds = data.load("spirals", seed=0, n_samples=200)
    >>> out = dying_units(ds, [2, 16, 2], lrs=[0.01], seeds=[0], steps=5)
    >>> len(out["dead_final"][0])
    1
    """
    from reluthe.train import Recipe, train_mlps

    if not isinstance(lrs, (list, tuple)) or not lrs:
        raise InvalidInputError("The 'lrs' parameter of dying_units must be a non-empty "
                                f"list or tuple of learning rates. Got {lrs!r} instead.")
    lrs = [check_real(lr, param="lrs", func="dying_units", low=0, low_open=True) for lr in lrs]
    if not isinstance(dataset, Dataset):
        raise InvalidInputError(f"The 'dataset' parameter of dying_units must be a "
                                f"reluthe.data.Dataset. Got {type(dataset).__name__} instead.")
    recipes = [Recipe(optimizer=optimizer, lr=lr, steps=steps, eval_every=steps,
                      batch_size=batch_size) for lr in lrs]
    res = train_mlps(dataset, widths, seeds=seeds, recipes=recipes, activation="relu", init=init)
    x = dataset.x_train.reshape(len(dataset.x_train), -1).float()
    hidden = res.hidden(x)  # list of (K, n, h)
    final = torch.cat([(h == 0).all(dim=1) for h in hidden], dim=1).double().mean(1)
    init_share = []
    for s in res.seeds[: len(seeds)]:
        net = mlp(list(widths), "relu", init, seed=s)
        units = dead_unit_share(net, x) * np.asarray(widths[1:-1])
        init_share.append(float(units.sum() / sum(widths[1:-1])))
    n = len(seeds)

    def grid(values):
        return [[float(v) for v in values[r * n:(r + 1) * n]] for r in range(len(lrs))]

    return {"lrs": [float(v) for v in lrs], "seeds": list(res.seeds[:n]), "steps": int(steps),
            "optimizer": optimizer, "init": init, "widths": list(widths),
            "dead_init": [init_share for _ in lrs], "dead_final": grid(final.tolist()),
            "final_train_loss": grid(res.train_loss[:, -1]),
            "final_test_acc": grid(res.test_acc[:, -1])}
