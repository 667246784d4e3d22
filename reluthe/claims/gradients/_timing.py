"""Interleaved timings with ``torch.utils.benchmark``, as record rows; shared by C06 and C10.

Timings here are taken on a machine other processes share, so every comparison is a ratio of
two measurements made moments apart in the same process. One *repeat* (one seed of the
``timing`` stream) builds its own inputs and models from its seed and times every activation
once per label, in an order shuffled by that seed; each measurement is the median per-call time
of ``torch.utils.benchmark.Timer.blocked_autorange`` (a warm-up that sizes the blocks, then
blocks of calls until ``min_run_time``), on ``threads`` torch threads. On the CPU the timer is
the process's CPU time (``time.process_time``), which another process on the machine does not
stretch; on CUDA it is wall-clock time with synchronisation (the benchmark's default). A ratio
to relu is formed within each repeat and summarised over repeats as the median ratio with a
distribution-free order-statistic interval (:func:`reluthe.stats.median_ratio_ci`).

:func:`time_interleaved` measures, :func:`timing_rows` turns the result into one record row per
(repeat, label, activation) and :func:`timing_of` rebuilds the result from those rows, so
``decide`` recomputes every ratio from the record.

Examples
--------
>>> import numpy as np
>>> t = Timing(["relu", "tanh"], ["step"], np.array([[[1.0, 2.0]]] * 6), list(range(6)),
...            "cpu", 1)
>>> rows = timing_rows(t, timing="step")
>>> rows[1]["seed"], rows[1]["activation"], rows[1]["seconds"]
(0, 'tanh', 2.0)
>>> timing_of(rows, "cpu", 1).ratio("step", "tanh").value
2.0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils import benchmark

from reluthe.errors import InvalidInputError
from reluthe.models import activation_fn
from reluthe.probes.speed import training_step_tasks
from reluthe.stats import Estimate, median_ratio_ci

SLOWER = 1.1  # a time ratio counts as "slower" only if its CI lower bound exceeds this
STEP_WIDTHS = [40, 128, 128, 10]
REFERENCE = "relu"
TIMER_NOTE = ("torch.utils.benchmark blocked_autorange, median per-call time; CPU time of the "
              "process on the CPU, synchronised wall-clock time on CUDA")


@dataclass(frozen=True)
class Timing:
    """Seconds per call of several activations under several labels, one row per repeat.

    Attributes
    ----------
    names : list of str
        The activations (columns); the reference ``"relu"`` among them.
    labels : list of str
        What was timed, e.g. ``"n=65536"`` or ``"step"``.
    seconds : np.ndarray, shape (repeats, len(labels), len(names))
    seeds : list of int
        The timing seed of each repeat.
    device : str
    threads : int
    """

    names: list
    labels: list
    seconds: np.ndarray
    seeds: list
    device: str
    threads: int

    def log_ratios(self, label: str, name: str) -> np.ndarray:
        """Per-repeat ``log(time of name / time of relu)`` under ``label``."""
        i, j, r = self.labels.index(label), self.names.index(name), self.names.index(REFERENCE)
        return np.log(self.seconds[:, i, j]) - np.log(self.seconds[:, i, r])

    def ratio(self, label: str, name: str, confidence: float = 0.95) -> Estimate:
        """Time of ``name`` / time of relu: median of the per-repeat ratios with an
        order-statistic interval (none below 6 repeats at 95 %)."""
        return median_ratio_ci(self.log_ratios(label, name), confidence)

    def pooled(self, labels: Sequence[str], name: str) -> Estimate:
        """The ratio pooled over ``labels``: per repeat the mean log ratio, then the median."""
        return median_ratio_ci(np.mean([self.log_ratios(lab, name) for lab in labels], axis=0))


def _median_time(fn: Callable[[], object], device: torch.device, threads: int,
                 min_run_time: float) -> float:
    kwargs = {"timer": time.process_time} if device.type == "cpu" else {}
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads, **kwargs)
    return float(timer.blocked_autorange(min_run_time=min_run_time).median)


def time_interleaved(build: Callable[[int], dict], names: Sequence[str], labels: Sequence[str],
                     seeds: Sequence[int], *, min_run_time: float, device: str = "cpu",
                     threads: int = 1) -> Timing:
    """Time ``build(seed)[label, name]()`` for every label and activation, once per seed.

    Parameters
    ----------
    build : callable
        ``build(seed) -> {(label, name): zero-argument callable}``: the work of one repeat,
        built from its seed (inputs, weights).
    names, labels : sequence of str
        Activations (must include ``"relu"``) and labels; within a label the activations are
        timed in an order shuffled by the repeat's seed.
    seeds : sequence of int
        One repeat per seed (stream ``timing``).
    min_run_time : float
        Seconds of timed blocks per measurement (``blocked_autorange``).
    device : str
    threads : int
        torch threads during each measurement (on CUDA it only affects the host side).

    Returns
    -------
    Timing

    Raises
    ------
    InvalidInputError
        ``"relu"`` is not among ``names``, or ``seeds`` or ``labels`` is empty.
    """
    names, labels, seeds = list(names), list(labels), [int(s) for s in seeds]
    if REFERENCE not in names or not labels or not seeds:
        raise InvalidInputError(f"time_interleaved needs 'relu' among the names, a label and a "
                                f"seed. Got names={names!r}, labels={labels!r}, "
                                f"seeds={seeds!r} instead.")
    dev = torch.device(device)
    out = np.empty((len(seeds), len(labels), len(names)))
    for k, seed in enumerate(seeds):
        tasks, order = build(seed), np.random.default_rng(seed)
        for i, label in enumerate(labels):
            for j in order.permutation(len(names)):
                out[k, i, j] = _median_time(tasks[label, names[j]], dev, threads, min_run_time)
    return Timing(names, labels, out, seeds, str(dev), threads)


def _no_grad(f: Callable, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return f(x)


def activation_tasks(names: Sequence[str], sizes: Sequence[int], seed: int, device: str,
                     backward: bool = True) -> dict:
    """``f(x)`` and its backward (``torch.autograd.grad`` with a fixed upstream gradient), or
    the forward pass alone under ``no_grad``, on ``N(0, 1)`` float32 tensors of each size:
    ``{("n=<size>", name): callable}``, inputs drawn from ``seed``."""
    gen, dev = torch.Generator().manual_seed(seed), torch.device(device)
    tasks = {}
    for size in sizes:
        x = torch.randn(size, generator=gen).to(dev).requires_grad_(backward)
        g = torch.randn(size, generator=gen).to(dev)
        for name in names:
            f = activation_fn(name)
            tasks[f"n={size}", name] = ((lambda f=f, x=x, g=g: torch.autograd.grad(f(x), x, g))
                                        if backward else (lambda f=f, x=x: _no_grad(f, x)))
    return tasks


def step_tasks(names: Sequence[str], widths: Sequence[int], batch_size: int, seed: int,
               device: str) -> dict:
    """One training step of ``mlp(widths, name, seed=seed)`` (label ``"step"``) and the
    activation alone on one hidden layer's tensor (label ``"activation"``), so that
    ``(len(widths) - 2) × activation / step`` is its share
    (:func:`reluthe.probes.speed.training_step_tasks`)."""
    return training_step_tasks(names, widths, batch_size, seed, device)


def timing_rows(result: Timing, **cell) -> list[dict]:
    """One row per repeat, label and activation of ``result``, each with the fields ``cell``
    and the repeat's timing seed."""
    return [{"seed": result.seeds[r], **cell, "repeat": r, "label": label, "activation": name,
             "seconds": float(result.seconds[r, i, j])}
            for r in range(result.seconds.shape[0])
            for i, label in enumerate(result.labels)
            for j, name in enumerate(result.names)]


def timing_of(rows: list[dict], device: str, threads: int) -> Timing:
    """The :class:`Timing` whose :func:`timing_rows` are ``rows`` (labels and names in record
    order)."""
    names = list(dict.fromkeys(row["activation"] for row in rows))
    labels = list(dict.fromkeys(row["label"] for row in rows))
    repeats = max(row["repeat"] for row in rows) + 1
    seconds = np.full((repeats, len(labels), len(names)), np.nan)
    seeds = [0] * repeats
    for row in rows:
        seconds[row["repeat"], labels.index(row["label"]), names.index(row["activation"])] = \
            row["seconds"]
        seeds[row["repeat"]] = row["seed"]
    return Timing(names, labels, seconds, seeds, device, threads)
