"""Interleaved timing of activations, alone and inside a training step, as ratios to ReLU.

Timings on a shared machine drift (other processes, frequency scaling), so every function here
measures all candidates *interleaved*: each repeat times every activation once, in a freshly
shuffled (seeded) order, and each measurement is the minimum of ``number`` individually timed
calls after a warm-up call. A ratio to the reference activation is formed within each repeat
(both measured within moments of each other), so a slow spell shifts both arms of a ratio
alike, and summarised over repeats as the median ratio with a distribution-free
order-statistic interval (:func:`reluthe.stats.median_ratio_ci`): a repeat hit by another process
is an outlier that a mean and its t interval would follow, and the median does not.

* :func:`time_activations`: forward + backward of ``f(x)`` alone, for tensors of several sizes;
* :func:`time_training_steps`: one full training step (forward, cross-entropy, backward, Adam)
  of an MLP with each activation, and in the same loop the activation alone on one hidden
  layer's tensor, which gives the activation's share of the step.

The number of torch threads is set for the measurement (``threads``, default 1) and restored.

Examples
--------
>>> r = time_activations(["relu", "tanh"], sizes=[1024], repeats=2, number=3)
>>> r.labels, r.names
(['n=1024'], ['relu', 'tanh'])
>>> r.ratio("n=1024", "relu").value
1.0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from reluthe._threads import torch_threads
from reluthe._validate import check_positive_int, check_seed
from reluthe.errors import InvalidInputError
from reluthe.models import activation_fn, mlp
from reluthe.stats import Estimate, median_ratio_ci

__all__ = ["TimingResult", "time_activations", "time_training_steps", "training_step_tasks"]


@dataclass(frozen=True)
class TimingResult:
    """Seconds per call of several activations under several labels, measured interleaved.

    Attributes
    ----------
    names : list of str
        The activations (columns).
    labels : list of str
        What was timed (rows), e.g. ``"n=65536"`` or ``"step"``.
    seconds : np.ndarray, shape (repeats, len(labels), len(names))
        Seconds per call of each measurement (the minimum of ``number`` timed calls).
    reference : str
        The activation ratios are taken to.
    device : str
    threads : int
    seed : int
    """

    names: list
    labels: list
    seconds: np.ndarray
    reference: str
    device: str
    threads: int
    seed: int

    def ratio(self, label: str, name: str) -> Estimate:
        """Time of ``name`` / time of the reference under ``label``: the median over repeats of
        the per-repeat ratios, with a 95 % order-statistic interval (none below 6 repeats)."""
        i, j, r = (self.labels.index(label), self.names.index(name),
                   self.names.index(self.reference))
        return median_ratio_ci(np.log(self.seconds[:, i, j]) - np.log(self.seconds[:, i, r]))

    def to_dict(self) -> dict:
        """JSON-ready table: one row per (label, activation), label by label.

        Every list has one entry per row, so ``pandas.DataFrame(result.to_dict())`` is the table:
        ``label``, ``name``, ``seconds`` (that cell's seconds per call in every repeat),
        ``median_s``, and the ratio to the reference (``ratio`` with ``ratio_low``,
        ``ratio_high``: :meth:`ratio`; the interval is None below 6 repeats). ``reference``,
        ``device``, ``threads``, ``seed`` and ``repeats`` are scalars.

        Examples
        --------
        >>> import numpy as np
        >>> r = TimingResult(["relu", "x"], ["step"], np.array([[[1.0, 2.0]], [[1.0, 4.0]]]),
        ...                  "relu", "cpu", 1, 0)
        >>> d = r.to_dict()
        >>> d["name"], d["median_s"], [round(v, 6) for v in d["ratio"]]
        (['relu', 'x'], [1.0, 3.0], [1.0, 2.828427])
        """
        cells = [(i, j) for i in range(len(self.labels)) for j in range(len(self.names))]
        ratios = [self.ratio(self.labels[i], self.names[j]) for i, j in cells]
        return {
            "label": [self.labels[i] for i, _ in cells],
            "name": [self.names[j] for _, j in cells],
            "seconds": [self.seconds[:, i, j].tolist() for i, j in cells],
            "median_s": [float(np.median(self.seconds[:, i, j])) for i, j in cells],
            "ratio": [e.value for e in ratios], "ratio_low": [e.low for e in ratios],
            "ratio_high": [e.high for e in ratios],
            "reference": self.reference, "device": self.device, "threads": self.threads,
            "seed": self.seed, "repeats": int(self.seconds.shape[0]),
        }


def _sync(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def _no_grad_call(f: Callable, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return f(x)


def _min_time(fn: Callable[[], object], number: int, sync) -> float:
    fn()  # warm-up
    times = []
    for _ in range(number):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return float(np.min(times))


def _interleaved(tasks: dict, names: list, labels: list, repeats: int, number: int, seed: int,
                 sync) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((repeats, len(labels), len(names)))
    for r in range(repeats):
        for i, label in enumerate(labels):
            for j in rng.permutation(len(names)):
                out[r, i, j] = _min_time(tasks[label, names[j]], number, sync)
    return out


def _check(names, reference, repeats, number, seed, func):
    names = list(names)
    if not names or any(not isinstance(n, str) for n in names):
        raise InvalidInputError(f"The 'names' parameter of {func} must be a non-empty sequence "
                                f"of activation names. Got {names!r} instead.")
    for n in names:
        activation_fn(n)  # validates the name
    if reference not in names:
        names = [reference] + names
    repeats = check_positive_int(repeats, param="repeats", func=func)
    number = check_positive_int(number, param="number", func=func)
    return names, repeats, number, check_seed(seed, func=func)


def time_activations(names: Sequence[str], sizes: Sequence[int] = (2**14, 2**17, 2**20), *,
                     repeats: int = 7, number: int = 20, reference: str = "relu",
                     device: str = "cpu", threads: int | None = 1, seed: int = 0,
                     backward: bool = True) -> TimingResult:
    """Forward + backward (or forward) time of each activation alone on float32 tensors.

    One call is ``y = f(x)`` followed by ``torch.autograd.grad(y, x, g)`` with a fixed
    upstream gradient ``g`` (with ``backward=False``: ``f(x)`` under ``torch.no_grad()``);
    inputs are ``N(0, 1)`` from a generator seeded by ``seed``. The forward-only ratios are
    larger: relu's backward and autograd's fixed cost per call dilute the ratios of the pair.

    Parameters
    ----------
    names : sequence of str
        Activation names (``reluthe.models.ACTIVATIONS``); ``reference`` is added if missing.
    sizes : sequence of int
        Numbers of elements.
    repeats, number : int
        Interleaved repeats (at least 6 for an interval), and timed calls per measurement
        (the minimum is taken).
    reference : str
        The activation ratios are taken to.
    device : str
        "cpu" or "cuda" (calls are synchronised).
    threads : int or None
        torch threads during the measurement (restored afterwards); ``None`` keeps the setting.
    seed : int
        Seeds the inputs and the shuffled order.
    backward : bool
        Time the backward pass too (the default, as in training) or the forward pass alone.

    Returns
    -------
    TimingResult
        Labels ``"n=<size>"``.
    """
    func = "time_activations"
    names, repeats, number, seed = _check(names, reference, repeats, number, seed, func)
    sizes = [check_positive_int(s, param="sizes", func=func) for s in sizes]
    if not sizes:
        raise InvalidInputError(f"The 'sizes' parameter of {func} must not be empty.")
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    tasks, labels = {}, []
    for size in sizes:
        label = f"n={size}"
        labels.append(label)
        x = torch.randn(size, generator=gen).to(dev).requires_grad_(backward)
        g = torch.randn(size, generator=gen).to(dev)
        for name in names:
            f = activation_fn(name)
            tasks[label, name] = ((lambda f=f, x=x, g=g: torch.autograd.grad(f(x), x, g))
                                  if backward else (lambda f=f, x=x: _no_grad_call(f, x)))
    with torch_threads(threads if dev.type == "cpu" else None) as used:
        secs = _interleaved(tasks, names, labels, repeats, number, seed, _sync(dev))
    return TimingResult(names, labels, secs, reference, str(dev), used, seed)


def training_step_tasks(names: Sequence[str], widths: Sequence[int], batch_size: int, seed: int,
                        device: str | torch.device = "cpu") -> dict:
    """The callables :func:`time_training_steps` times, for timers of one's own.

    ``{("step", name): one training step}`` (forward, cross-entropy, backward and
    ``torch.optim.Adam.step`` of ``mlp(widths, name, seed=seed)`` on a fixed random batch) and
    ``{("activation", name): forward + backward of the activation alone}`` on one hidden layer's
    tensor ``(batch_size, widths[1])``; inputs drawn from ``seed``. Arguments are not
    validated here (:func:`time_training_steps` does).

    Examples
    --------
    >>> tasks = training_step_tasks(["relu"], [8, 16, 2], 4, seed=0)
    >>> sorted(tasks), tasks["step", "relu"]() is None
    ([('activation', 'relu'), ('step', 'relu')], True)
    """
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, widths[0], generator=gen).to(dev)
    y = torch.randint(0, widths[-1], (batch_size,), generator=gen).to(dev)
    h = torch.randn(batch_size, widths[1], generator=gen).to(dev).requires_grad_()
    gh = torch.randn(batch_size, widths[1], generator=gen).to(dev)
    tasks = {}
    for name in names:
        net = mlp(list(widths), name, "default", seed=seed).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)

        def step(net=net, opt=opt):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            opt.step()

        f = activation_fn(name)
        tasks["step", name] = step
        tasks["activation", name] = (lambda f=f: torch.autograd.grad(f(h), h, gh))
    return tasks


def time_training_steps(names: Sequence[str], widths: Sequence[int] = (40, 256, 256, 10), *,
                        batch_size: int = 128, repeats: int = 7, number: int = 20,
                        reference: str = "relu", device: str = "cpu",
                        threads: int | None = 1, seed: int = 0) -> TimingResult:
    """Time of one MLP training step per activation, and of the activation alone inside it.

    A step is forward, cross-entropy, backward and ``torch.optim.Adam.step`` of
    ``reluthe.models.mlp(widths, activation=name, seed=seed)`` on a fixed random batch. Under
    the label ``"activation"`` the same loop times forward + backward of the activation alone
    on one hidden layer's tensor ``(batch_size, widths[1])``, so that
    ``(len(widths) - 2) × activation / step`` is the activation's share of the step.

    Returns
    -------
    TimingResult
        Labels ``"step"`` and ``"activation"``.

    Examples
    --------
    >>> r = time_training_steps(["relu", "sigmoid"], [8, 16, 2], batch_size=4, repeats=2,
    ...                         number=2)
    >>> r.labels
    ['step', 'activation']
    """
    func = "time_training_steps"
    names, repeats, number, seed = _check(names, reference, repeats, number, seed, func)
    widths = [check_positive_int(w, param="widths", func=func) for w in widths]
    if len(widths) < 3:
        raise InvalidInputError(f"The 'widths' parameter of {func} needs at least one hidden "
                                f"layer. Got {widths!r} instead.")
    batch_size = check_positive_int(batch_size, param="batch_size", func=func)
    dev = torch.device(device)
    tasks = training_step_tasks(names, widths, batch_size, seed, dev)
    labels = ["step", "activation"]
    with torch_threads(threads if dev.type == "cpu" else None) as used:
        secs = _interleaved(tasks, names, labels, repeats, number, seed, _sync(dev))
    return TimingResult(names, labels, secs, reference, str(dev), used, seed)
