"""One call, one table: every activation call of a model on a batch, with its sparsity and
gradient norms.

:func:`profile` runs one forward and one backward pass of the caller's model (in the mode the
caller left it in, nothing changed: :func:`reluthe._untouched.untouched`) and returns a
:class:`Profile`: one :class:`ProfileRow` per activation *call* (an activation module used twice
gives two rows), in call order, as a list (``.rows``), a rectangular dict (``.to_dict()``), a
:class:`pandas.DataFrame` (``.to_frame()``) or a bar chart (``.plot()``).

The naming rule and the columns are in :func:`profile`'s docstring.

Examples
--------
>>> import torch, torch.nn.functional as F
>>> from torch import nn
>>> class MyModel(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc1, self.fc2, self.fc3 = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 3)
...     def forward(self, x):
...         return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
>>> gen = torch.Generator().manual_seed(0)
>>> x, y = torch.randn(32, 4, generator=gen), torch.randint(0, 3, (32,), generator=gen)
>>> p = profile(MyModel(), x, y)
>>> [(r.layer, r.activation, r.n_units) for r in p.rows]
[('fc1', 'relu', 8), ('fc2', 'relu', 8)]
>>> list(p.to_frame().columns[:4])
['layer', 'activation', 'piecewise_linear', 'n_units']
"""

from __future__ import annotations

from collections import Counter
from dataclasses import astuple, dataclass, fields

import numpy as np
import torch
from torch import nn

from reluthe import activations as table
from reluthe._untouched import untouched
from reluthe._validate import _fmt
from reluthe.errors import InvalidInputError, ReluTheError, UnsupportedNetworkError
from reluthe.probes.capture import (
    Capture,
    check_model_batch,
    forward_errors,
    module_sources,
    recording,
)
from reluthe.probes.gradients import check_loss, loss_value
from reluthe.probes.sparsity import sparsity_stats

__all__ = ["Profile", "ProfileRow", "profile"]

_PL_NAMES = tuple(row.name for row in table.TABLE if row.piecewise_linear and row.torch_function)


@dataclass(frozen=True)
class ProfileRow:
    """One activation call (see :func:`profile` for the naming rule and the columns).

    Attributes
    ----------
    layer : str
        The module path naming the call (``"fc1"``, ``"features.0"``, ``"fc1#2"``, ``"input"``).
    activation : str
        The activation's row name in :data:`reluthe.activations.TABLE` (``"relu"``).
    piecewise_linear : bool
        Whether that activation is piecewise linear.
    n_units : int
    zero_fraction, negative_fraction : float
    dead_units : int
    dead_fraction : float
    grad_norm_in, grad_norm_out : float
        ``‖∂loss/∂z‖`` and ``‖∂loss/∂act(z)‖`` over the batch; NaN where no gradient arrives.
    """

    layer: str
    activation: str
    piecewise_linear: bool
    n_units: int
    zero_fraction: float
    negative_fraction: float
    dead_units: int
    dead_fraction: float
    grad_norm_in: float
    grad_norm_out: float


COLUMNS = tuple(f.name for f in fields(ProfileRow))


@dataclass(frozen=True)
class Profile:
    """The result of :func:`profile`: ``rows`` in call order and the settings they were taken
    with.

    Attributes
    ----------
    rows : tuple of ProfileRow
    n_inputs : int
        Batch size.
    loss : str
        What the gradients are of: ``"cross_entropy"``, ``"mse"``, ``"sum of outputs"`` or the
        name of the callable.
    loss_value : float
        Its value on the batch.
    """

    rows: tuple[ProfileRow, ...]
    n_inputs: int
    loss: str
    loss_value: float

    def to_dict(self) -> dict:
        """JSON-ready table: one list per column of :class:`ProfileRow` (one entry per row), and
        ``n_inputs``, ``loss``, ``loss_value`` as scalars; ``pandas.DataFrame(p.to_dict())``
        works."""
        columns = dict(zip(COLUMNS, (list(c) for c in zip(*map(astuple, self.rows)))))
        return {**columns, "n_inputs": self.n_inputs, "loss": self.loss,
                "loss_value": self.loss_value}

    def to_frame(self):
        """The rows as a :class:`pandas.DataFrame` (one column per :class:`ProfileRow` field);
        ``n_inputs``, ``loss`` and ``loss_value`` are in ``frame.attrs``. Imports pandas."""
        import pandas as pd

        frame = pd.DataFrame([astuple(r) for r in self.rows], columns=list(COLUMNS))
        frame.attrs.update(n_inputs=self.n_inputs, loss=self.loss, loss_value=self.loss_value)
        return frame

    def plot(self, ax=None):
        """Bars of the zero fraction and the dead-unit share per row, and the input-gradient
        norm on a second (log) axis where there is one; returns the Axes.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; by default a new :class:`matplotlib.figure.Figure` (pyplot's global
            state is not touched): save it with ``ax.figure.savefig(path)``.

        Examples
        --------
        >>> import torch
        >>> from reluthe.models import mlp
        >>> ax = profile(mlp([3, 8, 8, 2], seed=0), torch.ones(4, 3)).plot()
        >>> [t.get_text() for t in ax.get_xticklabels()]
        ['0\\nrelu', '2\\nrelu']
        """
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(2.0 + 0.9 * len(self.rows), 3.5),
                        layout="constrained").add_subplot()
        at = np.arange(len(self.rows))
        ax.bar(at - 0.2, [r.zero_fraction for r in self.rows], 0.4, label="zero fraction")
        ax.bar(at + 0.2, [r.dead_fraction for r in self.rows], 0.4, label="dead units (share)")
        ax.set_xticks(at, [f"{r.layer}\n{r.activation}" for r in self.rows])
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"share of {self.n_inputs} inputs × units")
        grads = np.array([r.grad_norm_in for r in self.rows])
        shown = np.isfinite(grads) & (grads > 0)
        if shown.any():
            twin = ax.twinx()
            twin.plot(at[shown], grads[shown], "ko-", label="‖∂loss/∂z‖")
            twin.set_yscale("log")
            twin.set_ylabel(f"gradient norm of {self.loss}")
            twin.legend(loc="upper right")
        ax.legend(loc="upper left")
        return ax


def _resolve_loss(loss, y, x, func: str):
    """The loss to differentiate and its name: ``None`` picks from ``y``'s dtype."""
    if loss is None and y is not None:
        loss = "mse" if isinstance(y, torch.Tensor) and y.is_floating_point() else \
            "cross_entropy"
    if loss is None:
        return None, "sum of outputs"
    check_loss(loss, y, x, func)
    if y is None and not callable(loss):
        raise InvalidInputError(f"The 'loss' parameter of {func} is {loss!r}, which needs "
                                f"targets 'y'. Pass y, or loss=None (the sum of the outputs), "
                                f"or a callable loss(output, y).")
    return loss, loss if isinstance(loss, str) else getattr(loss, "__name__", "callable")


def _scalar_loss(out, y, loss, func: str) -> torch.Tensor:
    if loss is None and not isinstance(out, torch.Tensor):
        raise UnsupportedNetworkError(f"{func} needs a model that returns one tensor to take "
                                      f"the sum of its outputs; it returned a "
                                      f"{type(out).__name__}. Pass loss=callable(output, y) "
                                      f"that reduces it to a scalar.")
    try:
        value = loss(out, y) if callable(loss) else loss_value(out, y, loss, func)
    except ReluTheError:
        raise
    except (RuntimeError, ValueError, IndexError) as exc:
        raise InvalidInputError(f"The 'y' parameter of {func} does not fit the model's output "
                                f"for loss {loss!r}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise InvalidInputError(f"The 'loss' parameter of {func} must return a scalar tensor. "
                                f"Got {_fmt(value)} instead.")
    return value.reshape(())


def _norm(g: torch.Tensor | None) -> float:
    return float("nan") if g is None else float(g.detach().double().norm())


def _row(call: Capture, layer: str) -> ProfileRow:
    first = len(call.input) if call.input.dim() else 1
    pre, post = call.input.reshape(first, -1), call.output.reshape(first, -1)
    s = sparsity_stats(pre, post)
    dead = int((s["unit_zero_rate"] == 1.0).sum())
    return ProfileRow(layer, call.name, table.spec(call.name).piecewise_linear,
                      int(pre.shape[1]), float(s["zero_fraction"]),
                      float(s["negative_fraction"]), dead, float(s["dead_fraction"]),
                      _norm(call.grad), _norm(call.out_grad))


def _layer_names(calls: list[Capture]) -> list[str]:
    seen: Counter = Counter()
    names = []
    for call in calls:
        base = call.source if call.source is not None else "input"
        seen[base] += 1
        names.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return names


def _check_piecewise_linear(calls: list[Capture], model, func: str) -> None:
    if any(table.spec(c.name).piecewise_linear for c in calls):
        return
    accepted = ", ".join(_PL_NAMES)
    if not calls:
        found = "no activation call at all (a linear model, or activations that " \
                "reluthe.activations.TABLE does not list)"
    else:
        found = "only " + ", ".join(f"{n} x{k}" for n, k in Counter(c.name for c in calls).items())
    raise UnsupportedNetworkError(
        f"{func} found no piecewise-linear activation in {type(model).__name__}: its forward "
        f"pass on x makes {found}. {func} tables the piecewise-linear activations ({accepted}; "
        f"modules, F./torch. functions, x.relu() and in-place forms). For other activations "
        f"use reluthe.probes.sparsity_profile (zero and negative fractions) and "
        f"reluthe.probes.gradient_flow (gradient norms).")


def profile(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
            loss=None) -> Profile:
    """Zero fraction, dead units and gradient norms of every activation call of ``model`` on
    ``x``, one row per call, named by module path.

    The model runs once forward and once backward, in its own dtype and in the train/eval mode
    the caller left it in (train-mode dropout draws from a fork of the global RNG; train-mode
    BatchNorm uses batch statistics), and is left as it was
    (:func:`reluthe._untouched.untouched`): weights, buffers, modes, ``requires_grad``,
    ``.grad``, hooks and the torch, numpy and ``random`` RNG states.

    Parameters
    ----------
    model : nn.Module
        A torch model with at least one piecewise-linear activation (ReLU, LeakyReLU, ...).
    x : torch.Tensor
        A non-empty batch of finite inputs, batch dimension first, in the model's dtype and on
        its device.
    y : torch.Tensor, optional
        Targets, one row per input: integer class indices (cross-entropy) or values shaped like
        the output (mean squared error). None: gradients of the sum of the outputs.
    loss : {"cross_entropy", "mse"} or callable, optional
        Overrides the choice made from ``y``; a callable gets ``(output, y)`` (``y`` may be None)
        and returns a scalar tensor.

    Returns
    -------
    Profile

    Raises
    ------
    InvalidInputError
        ``model`` is not a module; ``x`` is not a non-empty finite real tensor, does not match
        the model's dtype or device, or has a shape the model does not accept; ``y`` or
        ``loss`` do not fit.
    UnsupportedNetworkError
        The forward pass calls no piecewise-linear activation (the message lists what it
        calls), or returns something other than a tensor while ``loss`` is None.

    Notes
    -----
    Naming rule. Activation calls are intercepted as in :mod:`reluthe.probes.capture`
    (modules, ``F.relu`` in ``forward``, in-place and tensor-method forms), and every torch call
    of the pass is followed (:func:`reluthe.probes.capture.recording` with ``sources``). A row
    is named by the path of the module that computed the activation's input: the module owning
    a parameter or buffer that the last such operation used. So ``F.relu(self.fc1(x))`` is
    ``fc1``; the first ``ReLU`` of ``nn.Sequential(nn.Linear(...), nn.ReLU(), ...)`` is ``0``
    (``fc1`` for a Sequential built from ``OrderedDict(fc1=...)``); a ReLU after a BatchNorm is
    named after the BatchNorm. Operations without parameters in between (dropout, reshapes,
    additions) pass on the name of their first named input. An activation of a tensor that no
    module computed (the model's input) is named ``input``. A name that comes again (a module
    applied twice, an activation of an activation) gets ``#2``, ``#3``, ...: ``fc1#2``.

    Columns, over the ``n`` inputs of the batch (a call's *units* are the entries of one slice
    along its first dimension, one input's worth for batch-first tensors, as in
    :mod:`reluthe.probes.sparsity`):

    * ``zero_fraction``: share of (input, unit) pairs whose output is exactly 0;
    * ``negative_fraction``: share whose pre-activation is < 0;
    * ``dead_units`` / ``dead_fraction``: units whose output is 0 on every input of this batch;
    * ``grad_norm_in`` / ``grad_norm_out``: Frobenius norm over the batch of the gradient of
      the loss with respect to the activation's input (pre-activation) and output (NaN where
      no gradient reaches the call). Gradients are taken with ``torch.autograd.grad`` (the
      model's ``.grad`` is not touched): of the cross-entropy for integer targets ``y``, of the
      mean squared error for floating targets, of ``loss(output, y)`` for a callable, and of
      the *sum of the outputs* when ``y`` is None.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.eye(2))
    ...     _ = net[0].bias.copy_(torch.tensor([0.0, -100.0]))   # unit 1 is dead on small inputs
    >>> row = profile(net, torch.tensor([[1.0, 1.0], [-1.0, 2.0]])).rows[0]
    >>> row.layer, row.zero_fraction, row.dead_units
    ('0', 0.75, 1)
    """
    func = "profile"
    check_model_batch(model, x, func)
    loss, loss_name = _resolve_loss(loss, y, x, func)
    with untouched(model), torch.enable_grad():
        xx = x.detach().clone()
        if xx.is_floating_point():
            xx.requires_grad_(True)
        with forward_errors(model, x, func), \
                recording(grads=True, sources=module_sources(model)) as calls:
            out = model(xx)
        _check_piecewise_linear(calls, model, func)
        value = _scalar_loss(out, y, loss, func)
        wrt = [xx] if xx.requires_grad else [p for p in model.parameters() if p.requires_grad]
        if value.requires_grad and wrt:
            torch.autograd.grad(value, wrt, allow_unused=True)
    rows = tuple(_row(c, name) for c, name in zip(calls, _layer_names(calls)))
    return Profile(rows, len(x), loss_name, float(value.detach()))
