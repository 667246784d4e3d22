"""Measurements on real torch models that research code can call on its own networks.

Each probe is a plain function in a submodule (``reluthe.probes.capture``, ``.sparsity``,
``.gradients``, ``.speed``, ...). Probes never change the caller's model, its train/eval mode or
the global RNG.
"""
