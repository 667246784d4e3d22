"""Capture the outputs of activation functions during a forward pass, however they are called.

Module hooks miss ``F.relu`` inside ``forward`` and see in-place ReLU outputs only after later
layers may have changed them. :func:`capture_activations` instead intercepts the functional calls
themselves with a ``TorchFunctionMode``, so ``nn.ReLU()``, ``nn.ReLU(inplace=True)``, ``F.relu``,
``torch.relu``, ``x.relu()``, ``torch.relu_`` and the other activations in ``ACTIVATION_FUNCS``
(every torch callable of every row of :data:`reluthe.activations.TABLE`) are all recorded, in call
order, as detached copies, under the row's name: ``nn.GELU(approximate="tanh")`` is
``gelu_tanh``; ``nn.ReLU6`` and ``F.hardtanh(x, 0, 6)`` are ``relu6``. The identity calls no
torch function, so nothing records it.

Examples
--------
>>> import torch, torch.nn.functional as F
>>> from torch import nn
>>> class Net(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc1, self.fc2 = nn.Linear(3, 4), nn.Linear(4, 2)
...     def forward(self, x):
...         return self.fc2(F.relu(self.fc1(x)))
>>> acts = capture_activations(Net(), torch.randn(5, 3))
>>> [(a.name, tuple(a.output.shape)) for a in acts]
[('relu', (5, 4))]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from reluthe import activations as table
from reluthe._untouched import untouched
from reluthe._validate import _fmt, check_bool
from reluthe.errors import InvalidInputError, ReluTheError

__all__ = ["Capture", "capture_activations", "recording", "module_sources",
           "check_model_batch", "ACTIVATION_FUNCS"]


def _activation_funcs() -> dict:
    funcs: dict = {}
    for row in table.TABLE:  # a callable shared by rows (F.gelu) keeps the first row's name
        for fn in row.torch_callables():
            funcs.setdefault(fn, row.name)
    return funcs


ACTIVATION_FUNCS: dict = _activation_funcs()
"""Every torch callable of a row of :data:`reluthe.activations.TABLE` → the row's name."""
# F.relu and friends dispatch to these torch-level ops too; record only the outermost call.


def _variants() -> dict[str, list]:
    """Rows whose calls ACTIVATION_FUNCS names after another row (``gelu_tanh`` calls ``F.gelu``,
    ``nn.ReLU6`` calls ``F.hardtanh``), by that row's name."""
    out: dict[str, list] = {}
    for row in table.TABLE:
        if row.special_case_of:
            out.setdefault(row.special_case_of[0], []).append(row)
        elif row.torch_function and ACTIVATION_FUNCS[row.torch_callables()[0]] != row.name:
            out.setdefault(ACTIVATION_FUNCS[row.torch_callables()[0]], []).append(row)
    return out


_VARIANTS = _variants()


def _is_call_of(row: table.ActivationSpec, name: str, args: tuple, kwargs: dict) -> bool:
    if row.special_case_of:
        values = table.spec(name).torch_call_values(args, kwargs)
        return all(values[k] == float(v) for k, v in row.special_case_of[1])
    return all(kwargs.get(k) == v for k, v in row.torch_options)


def _variant(name: str, args: tuple, kwargs: dict) -> str:
    """The row that a call of ``name``'s torch function computes (``name`` unless a variant's
    options or parameter values match)."""
    return next((row.name for row in _VARIANTS.get(name, ())
                 if _is_call_of(row, name, args, kwargs)), name)


@dataclass(frozen=True)
class Capture:
    """One activation call: its function name, its input (pre-activation) and output.

    ``grad`` is the gradient of the loss with respect to the input and ``out_grad`` with respect
    to the output, available after a backward pass when the call was recorded with
    ``recording(grads=True)``; otherwise ``None``. ``source`` names the module that computed the
    input when the call was recorded with ``recording(sources=...)`` (see :func:`recording`);
    otherwise ``None``.
    """

    name: str
    input: torch.Tensor
    output: torch.Tensor
    _grad: list = field(default_factory=list, repr=False, compare=False)
    _out_grad: list = field(default_factory=list, repr=False, compare=False)
    source: str | None = None

    @property
    def grad(self) -> torch.Tensor | None:
        return self._grad[0] if self._grad else None

    @property
    def out_grad(self) -> torch.Tensor | None:
        return self._out_grad[0] if self._out_grad else None


def module_sources(model: nn.Module) -> dict[int, str]:
    """``id`` of every parameter and buffer of ``model`` -> the path of the module holding it
    (``"fc1"`` for ``fc1.weight``; a tensor held by the root module is named by itself)."""
    named = (*model.named_parameters(), *model.named_buffers())
    return {id(t): name.rpartition(".")[0] or name for name, t in reversed(named)}


def _tensors(tree) -> list[torch.Tensor]:
    """The tensors in nested tuples, lists and dicts (a call's arguments or results)."""
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (list, tuple)):
        return [t for item in tree for t in _tensors(item)]
    return []


def _hook(tensor: torch.Tensor, box: list) -> None:
    tensor.register_hook(lambda g, box=box: box.append(g.detach().clone()))


class _Recorder(TorchFunctionMode):
    def __init__(self, funcs, grads, sources):
        super().__init__()
        self.funcs = funcs
        self.grads = grads
        self.sources = sources
        self.records: list[Capture] = []
        self._made: dict[int, tuple[str, torch.Tensor]] = {}  # tensor id -> (source, tensor)
        self._depth = 0

    def _source(self, args, kwargs) -> str | None:
        """The module whose parameter or buffer the call uses, else the source of its first
        tensor input that has one."""
        tensors = _tensors((args, kwargs))
        own = next((self.sources[id(t)] for t in tensors if id(t) in self.sources), None)
        if own is not None:
            return own
        return next((self._made[id(t)][0] for t in tensors if id(t) in self._made), None)

    def _mark(self, out, source: str | None) -> None:
        if source is not None:  # the tensor is kept so that its id is not reused meanwhile
            self._made.update((id(t), (source, t)) for t in _tensors(out))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = self.funcs.get(func)
        if self._depth or (name is None and self.sources is None):
            return func(*args, **kwargs)
        if name is None:
            out = func(*args, **kwargs)
            self._mark(out, self._source(args, kwargs))
            return out
        self._depth += 1  # nested activation calls and the bookkeeping are not recorded
        try:
            z = args[0]
            source = None if self.sources is None else self._source(args[:1], {})
            box: list = []
            if self.grads and z.requires_grad:
                # registered before an in-place op, the hook gets ∂loss/∂(z before the op)
                _hook(z, box)
            pre = z.detach().clone()
            out = func(*args, **kwargs)
            out_box: list = []
            if self.grads and out.requires_grad:
                _hook(out, out_box)
            name = _variant(name, args, kwargs)
            self.records.append(Capture(name, pre, out.detach().clone(), box, out_box, source))
            self._mark(out, source)
        finally:
            self._depth -= 1
        return out


@contextmanager
def recording(*, grads: bool = False, funcs: dict | None = None,
              sources: dict | None = None) -> Iterator[list[Capture]]:
    """Record every activation call made inside the ``with`` block.

    Yields the list that fills with :class:`Capture` records in call order. With ``grads=True``
    each record's ``grad`` (with respect to the call's input) and ``out_grad`` (its output) are
    filled by the next backward pass through that call.

    With ``sources`` (a map from tensor ids to names, as :func:`module_sources` makes), every
    torch call inside the block is followed, not only the activations: a call that uses one of
    those tensors (a module's weight, a BatchNorm's running mean) names its outputs after it,
    any other call passes on the name of its first named tensor input (dropout, reshapes,
    additions), and each record's ``source`` is the name its input carries (``None`` for an
    input that no named tensor produced, such as the model's own input).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    >>> with recording(grads=True, sources=module_sources(net)) as calls:
    ...     out = net(torch.ones(4, 2))
    >>> out.sum().backward()
    >>> calls[0].grad.shape, calls[0].out_grad.shape, calls[0].source
    (torch.Size([4, 3]), torch.Size([4, 3]), '0')
    """
    recorder = _Recorder(funcs or ACTIVATION_FUNCS, grads, sources)
    with recorder:
        yield recorder.records


def check_model_batch(model, x, func: str) -> None:
    """Raise InvalidInputError unless ``model`` is an ``nn.Module`` and ``x`` a non-empty,
    finite tensor with a batch dimension (the inputs every probe takes)."""
    if not isinstance(model, nn.Module):
        raise InvalidInputError(f"The 'model' parameter of {func} must be a torch.nn.Module. "
                                f"Got {type(model).__name__} instead.")
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or len(x) == 0:
        raise InvalidInputError(f"The 'x' parameter of {func} must be a non-empty torch.Tensor "
                                f"with a batch dimension. Got {type(x).__name__} instead.")
    if x.is_complex() or x.dtype == torch.bool:
        raise InvalidInputError(f"The 'x' parameter of {func} must be a tensor of a real dtype "
                                f"(float, or integer ids for a model that embeds them). Got "
                                f"dtype {x.dtype} instead.")
    if x.device.type == "meta":
        raise InvalidInputError(f"The 'x' parameter of {func} must be a tensor with values. Got "
                                f"a tensor on the 'meta' device (no data).")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise InvalidInputError(f"The 'x' parameter of {func} must be finite. Got NaN/inf.")


def check_funcs(funcs, func: str) -> dict | None:
    """Return ``funcs`` if it is None or a dict of callables (or tensor method names) to
    names; raise InvalidInputError otherwise."""
    if funcs is None:
        return None
    if not isinstance(funcs, dict) or not all(
            (callable(k) or isinstance(k, str)) and isinstance(v, str) for k, v in funcs.items()):
        raise InvalidInputError(f"The 'funcs' parameter of {func} must be None or a dict of "
                                f"torch callables to names (like ACTIVATION_FUNCS). Got "
                                f"{_fmt(funcs)} instead.")
    return funcs


def _model_tensor(model):
    return next((t for t in model.parameters() if t.is_floating_point()), None)


@contextmanager
def forward_errors(model, x, func: str):
    """Turn the error of a forward pass whose input does not fit the model into a named
    InvalidInputError: another dtype or device (torch's "expected ... same dtype/device"), or
    another shape (torch's "mat1 and mat2 shapes cannot be multiplied", "expected 4D input")."""
    try:
        yield
    except ReluTheError:
        raise
    except (RuntimeError, TypeError, ValueError, IndexError) as exc:
        ref = _model_tensor(model)
        if ref is not None and (ref.dtype != x.dtype or ref.device != x.device):
            raise InvalidInputError(f"The 'x' parameter of {func} must match the model: dtype "
                                    f"{ref.dtype} on {ref.device}. Got dtype {x.dtype} on "
                                    f"{x.device} instead (convert with x.to(...)); torch "
                                    f"said: {exc}") from exc
        if isinstance(exc, TypeError):
            raise
        raise InvalidInputError(f"The 'x' parameter of {func} must be a batch the model "
                                f"accepts (batch dimension first, then one input's shape). "
                                f"The model failed on x of shape {tuple(x.shape)}: "
                                f"{type(exc).__name__}: {exc}") from exc


def run_capture(model, x, grad: bool, funcs, func: str) -> list[Capture]:
    """:func:`capture_activations` after validation, with errors named after ``func``."""
    ctx = torch.enable_grad() if grad else torch.no_grad()
    with forward_errors(model, x, func), untouched(model), ctx, \
            recording(funcs=funcs) as calls:
        model(x)
    return calls


def capture_activations(model: nn.Module, x: torch.Tensor, *, grad: bool = False,
                        funcs: dict | None = None) -> list[Capture]:
    """Run ``model(x)`` once and return every activation call it made, in order.

    The model runs in the train/eval mode the caller left it in and is left exactly as it was
    (:func:`reluthe._untouched.untouched`): in train mode, dropout is active but draws from a
    fork of the global RNG (the caller's random stream is not advanced), and BatchNorm uses the
    batch's statistics while its running statistics and ``num_batches_tracked`` are restored
    afterwards. Parameters, ``requires_grad``, ``.grad``, hooks, and the torch, numpy and
    ``random`` RNG states are unchanged; the caller's own hooks fire during the pass as in any
    forward pass.

    Parameters
    ----------
    model : nn.Module
        Any torch model, measured in its current train/eval mode.
    x : torch.Tensor
        A batch of inputs.
    grad : bool
        Run with autograd enabled (default: under ``torch.no_grad``).
    funcs : dict, optional
        Map of callables to names to intercept (default ``ACTIVATION_FUNCS``).

    Returns
    -------
    list of Capture

    Raises
    ------
    InvalidInputError
        ``model`` is not a module; ``x`` is not a non-empty finite tensor of a real dtype with
        values, or does not match the model's dtype or device; ``grad`` is not a bool;
        ``funcs`` is not a dict of callables to names.
    """
    func = "capture_activations"
    check_model_batch(model, x, func)
    grad = check_bool(grad, param="grad", func=func)
    funcs = check_funcs(funcs, func)
    return run_capture(model, x, grad, funcs, func)
