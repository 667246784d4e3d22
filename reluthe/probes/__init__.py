"""Measurements on real torch models that research code can call on its own networks.

Each probe is a plain function in a submodule (``reluthe.probes.capture``, ``.sparsity``,
``.gradients``, ``.speed``, ...). Probes never change the caller's model, its train/eval mode or
the global RNG: every probe that takes a model runs inside :func:`reluthe._untouched.untouched`.
A model is measured in the mode the caller left it in (train-mode dropout is active and draws from
a fork of the global RNG; train-mode BatchNorm uses batch statistics and its running statistics
are put back), and afterwards its weights, buffers, modes, ``requires_grad``, ``.grad``, hooks and
the torch, numpy and ``random`` RNG states are as before.
"""
