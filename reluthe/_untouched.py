"""Run code on a caller's torch model and leave the model, its mode and every global RNG as found.

:func:`untouched` is the guard behind STYLE item 10 ("never mutate the caller's model, mode or
RNG"); every public function of reluthe that takes a torch module runs its work inside it.

Semantics (the same for every probe)
------------------------------------
* The model is measured **in the mode the caller left it in**; nothing switches it to eval mode.
  A train-mode ``Dropout`` is active and draws from the global torch RNG, but inside a fork of
  it (``torch.random.fork_rng`` over the CPU generator and every CUDA device the model lives
  on), so the caller's random stream continues afterwards exactly as if the probe had not run.
  A train-mode ``BatchNorm`` normalises with the batch's statistics; the running statistics and
  ``num_batches_tracked`` that the forward pass updates are put back.
* On exit, whether the block returned or raised: every module's ``training`` flag; every
  parameter and buffer (the same tensor objects, with their values, dtype and device; a
  parameter or buffer added, removed or replaced is put back); every parameter's
  ``requires_grad`` and ``.grad`` (object and value); the module hook dictionaries
  (``_forward_hooks``, ``_forward_pre_hooks``, ``_backward_hooks``, ... of every module, the
  tensor hooks of every parameter, and torch's global module hooks), so hooks a probe registered
  are gone and the caller's own hooks are still there; the states of ``torch``'s CPU generator
  and of the model's CUDA devices, of ``numpy.random`` and of ``random``.
* A value is written back only where it differs from the value recorded on entry, so a tensor
  that nothing changed keeps its autograd version counter.
* Nested guards on the same model (a probe calling another probe) snapshot once.

The guard costs one copy of the parameters, buffers and gradients on entry.

Examples
--------
>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Dropout(0.5)).train()
>>> rng = torch.get_rng_state()
>>> with untouched(net):
...     _ = net(torch.randn(4, 2))
...     _ = net.eval()                         # a careless probe
...     int(net[1].num_batches_tracked)
1
>>> net.training, int(net[1].num_batches_tracked), torch.equal(rng, torch.get_rng_state())
(True, 0, True)
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import numpy as np
import torch
from torch import nn

__all__ = ["untouched", "cuda_devices"]

# hook dictionaries of an nn.Module (those missing in an older torch are skipped)
_MODULE_HOOKS = (
    "_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
    "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks",
    "_backward_pre_hooks", "_state_dict_hooks", "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks",
)
_GLOBAL_HOOKS = (
    "_global_forward_hooks", "_global_forward_hooks_always_called",
    "_global_forward_hooks_with_kwargs", "_global_forward_pre_hooks",
    "_global_backward_hooks", "_global_backward_pre_hooks", "_global_module_registration_hooks",
    "_global_parameter_registration_hooks", "_global_buffer_registration_hooks",
)
_TENSOR_HOOKS = ("_backward_hooks", "_post_accumulate_grad_hooks")

_active = threading.local()
_MISSING = object()


def cuda_devices(model: nn.Module) -> list[int]:
    """Indices of the CUDA devices holding a parameter or buffer of ``model`` (sorted)."""
    return sorted({t.device.index if t.device.index is not None else torch.cuda.current_device()
                   for t in (*model.parameters(), *model.buffers()) if t.device.type == "cuda"})


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype or a.device != b.device:
        return False
    if a.is_floating_point() or a.is_complex():
        return bool(torch.isclose(a, b, rtol=0.0, atol=0.0, equal_nan=True).all())
    return torch.equal(a, b)


def _restore_value(t: torch.Tensor, saved: torch.Tensor) -> None:
    if _same(t, saved):
        return
    with torch.no_grad():
        if t.shape == saved.shape and t.dtype == saved.dtype and t.device == saved.device:
            t.copy_(saved)
        else:  # the tensor was converted (module.to(...) swaps .data): give back the original
            t.data = saved


def _clone(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.detach().clone()


class _Snapshot:
    """Everything :func:`untouched` restores, recorded on entry."""

    def __init__(self, model: nn.Module):
        self.modules = list(model.modules())
        self.training = [m.training for m in self.modules]
        self.module_dicts = [dict(m._modules) for m in self.modules]
        self.param_dicts = [dict(m._parameters) for m in self.modules]
        self.buffer_dicts = [dict(m._buffers) for m in self.modules]
        self.hooks = [{name: dict(d) for name in _MODULE_HOOKS
                       if (d := getattr(m, name, None)) is not None} for m in self.modules]
        self.full_backward = [getattr(m, "_is_full_backward_hook", _MISSING) for m in self.modules]
        self.params = list({id(p): p for p in model.parameters()}.values())
        self.param_values = [p.detach().clone() for p in self.params]
        self.requires_grad = [p.requires_grad for p in self.params]
        self.grads = [p.grad for p in self.params]
        self.grad_values = [_clone(p.grad) for p in self.params]
        self.tensor_hooks = [{name: (None if (d := getattr(p, name, None)) is None else d.copy())
                              for name in _TENSOR_HOOKS} for p in self.params]
        self.buffers = list({id(b): b for b in model.buffers()}.values())
        self.buffer_values = [b.detach().clone() for b in self.buffers]
        from torch.nn.modules import module as _module
        self.global_hooks = {name: dict(d) for name in _GLOBAL_HOOKS
                             if (d := getattr(_module, name, None)) is not None}
        self.global_full_backward = getattr(_module, "_global_is_full_backward_hook", _MISSING)
        self.numpy_rng = np.random.get_state()
        self.random_rng = random.getstate()

    def restore(self) -> None:
        for m, flag in zip(self.modules, self.training):
            if m.training != flag:
                m.training = flag
        for m, children, params, buffers in zip(self.modules, self.module_dicts,
                                                self.param_dicts, self.buffer_dicts):
            _restore_dict(m._modules, children)
            _restore_dict(m._parameters, params)
            _restore_dict(m._buffers, buffers)
        for m, hooks, full in zip(self.modules, self.hooks, self.full_backward):
            for name, saved in hooks.items():
                _restore_dict(getattr(m, name), saved)
            if full is not _MISSING and getattr(m, "_is_full_backward_hook", _MISSING) is not full:
                m._is_full_backward_hook = full
        for p, value, req, grad, grad_value, hooks in zip(
                self.params, self.param_values, self.requires_grad, self.grads,
                self.grad_values, self.tensor_hooks):
            _restore_value(p, value)
            if p.requires_grad != req:
                p.requires_grad_(req)
            if p.grad is not grad:
                p.grad = grad
            if grad is not None:
                _restore_value(grad, grad_value)
            for name, saved in hooks.items():
                current = getattr(p, name, None)
                if current is not None:  # in place: autograd holds on to this very dict
                    _restore_dict(current, saved or {})
                elif saved:
                    setattr(p, name, type(saved)(saved))
        for b, value in zip(self.buffers, self.buffer_values):
            _restore_value(b, value)
        from torch.nn.modules import module as _module
        for name, saved in self.global_hooks.items():
            _restore_dict(getattr(_module, name), saved)
        if self.global_full_backward is not _MISSING:
            _module._global_is_full_backward_hook = self.global_full_backward
        np.random.set_state(self.numpy_rng)
        random.setstate(self.random_rng)


def _restore_dict(current: dict, saved: dict) -> None:
    if current.keys() != saved.keys() or any(current[k] is not v for k, v in saved.items()):
        current.clear()
        current.update(saved)


@contextmanager
def untouched(model: nn.Module, *, seed: int | None = None) -> Iterator[nn.Module]:
    """Run the block on ``model``, then restore its state, its mode and the global RNGs.

    See the module docstring for what is restored. The model keeps its train/eval mode inside
    the block; randomness drawn inside the block comes from forked generators.

    Parameters
    ----------
    model : nn.Module
        The caller's model.
    seed : int, optional
        Seed the forked torch generators (CPU and the model's CUDA devices) on entry, so that
        what the model draws (dropout masks) is reproducible; ``None`` continues from the
        caller's current state (inside the fork).

    Yields
    ------
    nn.Module
        ``model`` itself.
    """
    active = getattr(_active, "ids", None)
    if active is None:
        active = _active.ids = set()
    if id(model) in active:  # an outer guard already records and restores everything
        if seed is not None:
            _seed(seed, cuda_devices(model))
        yield model
        return
    devices = cuda_devices(model)
    with ExitStack() as stack:
        stack.enter_context(torch.random.fork_rng(devices=devices))
        snap = _Snapshot(model)
        stack.callback(snap.restore)
        active.add(id(model))
        stack.callback(active.discard, id(model))
        if seed is not None:
            _seed(seed, devices)
        yield model


def _seed(seed: int, devices: list[int]) -> None:
    """Seed the CPU generator and those of ``devices`` (not ``torch.manual_seed``, which would
    also reseed, lazily, every other CUDA device outside the fork)."""
    torch.default_generator.manual_seed(seed)
    for d in devices:
        torch.cuda.default_generators[d].manual_seed(seed)
