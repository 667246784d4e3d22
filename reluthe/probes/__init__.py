"""Measurements on real torch models that research code can call on its own networks.

Each probe is a plain function in a submodule (``reluthe.probes.capture``, ``.sparsity``,
``.gradients``, ``.speed``, ...); every public name of a submodule (its ``__all__``) is also a
name of this package, imported on first use (``reluthe.probes.gradient_flow`` imports
``reluthe.probes.gradients``), except :func:`profile`, the one-call table, which is imported
with the package. Probes never change the caller's model, its train/eval mode or the global RNG:
every probe that takes a model runs inside :func:`reluthe._untouched.untouched`. A model is
measured in the mode the caller left it in (train-mode dropout is active and draws from a fork
of the global RNG; train-mode BatchNorm uses batch statistics and its running statistics are put
back), and afterwards its weights, buffers, modes, ``requires_grad``, ``.grad``, hooks and the
torch, numpy and ``random`` RNG states are as before.

Every probe result's ``to_dict()`` is a table: its lists have one entry per row and its other
values are scalars, so ``pandas.DataFrame(result.to_dict())`` works.

Examples
--------
>>> import torch
>>> from reluthe import probes
>>> from reluthe.models import mlp
>>> p = probes.profile(mlp([3, 8, 2], seed=0), torch.ones(4, 3))
>>> [r.layer for r in p.rows], probes.gradient_flow.__module__
(['0'], 'reluthe.probes.gradients')
"""

from __future__ import annotations

import importlib

# ``profile`` is imported here so that the function, not its submodule of the same name, is
# ``reluthe.probes.profile`` (importing a submodule binds its name on the package).
from reluthe.probes.profile import Profile, ProfileRow, profile

_LAZY = {
    "capture": ("Capture", "capture_activations", "recording", "module_sources",
                "check_model_batch", "ACTIVATION_FUNCS"),
    "sparsity": ("SparsityProfile", "sparsity_profile", "sparsity_stats", "stacked_forward",
                 "stacked_sparsity"),
    "gradients": ("GradientFlow", "gradient_flow"),
    "dead": ("DeadNetworkEstimate", "dead_network_mc", "dead_network_theory", "clopper_pearson",
             "dead_unit_share", "dying_units"),
    "speed": ("TimingResult", "time_activations", "time_training_steps", "training_step_tasks"),
    "generalization": ("ProbeResult", "linear_probe", "generalization_gap", "ensemble_accuracy",
                       "chord_segments", "random_segments", "rotated_segments",
                       "SegmentCrossings", "segment_crossings", "region_density"),
    "architectures": ("adding_problem", "rnn_divergence", "ModeCoverage", "mode_coverage",
                      "ring_centers", "pca_reconstruction_error"),
    "jacobian": ("jacobian_norms",),
}
"""Submodule -> its ``__all__`` (a test checks that they agree)."""

_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = ["Profile", "ProfileRow", "profile", *_WHERE]


def __getattr__(name: str):
    if name in _LAZY:  # a submodule not imported yet
        return importlib.import_module(f"reluthe.probes.{name}")
    if name in _WHERE:
        value = getattr(importlib.import_module(f"reluthe.probes.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'reluthe.probes' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
