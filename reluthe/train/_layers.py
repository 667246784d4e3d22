"""Stacked layers: the one stacked init and the pieces of every stacked forward pass.

K models of one shape are one model whose parameters carry a leading member dimension K: a
linear layer is ``W`` (K, out, in) and ``b`` (K, out), applied with one batched matmul
(:func:`stacked_affine`); a convolution is one grouped convolution (:func:`grouped_conv`);
members may differ in their activation (:class:`MemberActivation`). Every stacked weight of the
package is drawn by :func:`stacked_linear` with the rules of :func:`reluthe.models.init_linear_`,
member k from one generator seeded by its model seed (:func:`member_generators`) that draws its
layers in the order of construction.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from reluthe._validate import _fmt, check_device, check_int_sequence, check_positive_int
from reluthe.errors import InvalidInputError
from reluthe.models import activation_fn, init_linear_

Seed = int | torch.Generator


def _check_seeds(seeds, func: str) -> Sequence[Seed]:
    """Raise unless ``seeds`` is a non-empty list or tuple of non-negative ints or generators."""
    ok = isinstance(seeds, list | tuple) and len(seeds) > 0 and all(
        isinstance(s, torch.Generator) or (isinstance(s, numbers.Integral)
                                           and not isinstance(s, bool) and s >= 0)
        for s in seeds)
    if not ok:
        raise InvalidInputError(f"The 'seeds' parameter of {func} must be a non-empty list or "
                                f"tuple of non-negative integers or torch.Generator objects, one "
                                f"per member. Got {_fmt(seeds)} instead.")
    return seeds


def member_generators(seeds: Sequence[Seed]) -> list[torch.Generator]:
    """One generator per member: ``torch.Generator().manual_seed(s)`` for an int ``s``, a
    ``torch.Generator`` as it stands.

    The one seeding rule of the stacked models: member k draws its whole model, layer after
    layer in the order of construction, from one generator seeded by its model seed; passing
    these generators to :func:`stacked_linear`, :func:`stacked_conv` or
    :func:`stacked_mlp_init` in turn advances them.

    Examples
    --------
    >>> g = member_generators([3, 3])
    >>> torch.equal(torch.rand(2, generator=g[0]), torch.rand(2, generator=g[1]))
    True
    """
    return [s if isinstance(s, torch.Generator) else torch.Generator().manual_seed(int(s))
            for s in seeds]


def stacked_linear(seeds: Sequence[Seed], fan_out: int, fan_in: int, *,
                   init: str | Sequence[str] = "default",
                   device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Initial weights (K, out, in) and biases (K, out) of K stacked linear layers.

    Member k is drawn with :func:`reluthe.models.init_linear_` from its own generator, so it
    does not depend on the other members.

    Parameters
    ----------
    seeds : sequence of int or torch.Generator
        Member k's randomness (:func:`member_generators`): an int ``s`` starts a fresh generator
        at ``s`` (the first layer of a model with seed ``s``); a ``torch.Generator`` is drawn
        from where it stands (and advanced), so one generator per member, passed to every layer
        in turn, draws each member's whole model (as :func:`stacked_mlp_init` does).
    fan_out, fan_in : int
    init : str or sequence of str
        One of :data:`reluthe.models.INITS` for all members (``default``: torch's
        ``nn.Linear`` rule), or one per member.
    device : str or torch.device

    Returns
    -------
    (torch.Tensor, torch.Tensor)

    Examples
    --------
    >>> w, b = stacked_linear([0, 1, 0], 4, 3)
    >>> w.shape, b.shape, torch.equal(w[0], w[2]), torch.equal(w[0], w[1])
    (torch.Size([3, 4, 3]), torch.Size([3, 4]), True, False)
    """
    func = "stacked_linear"
    _check_seeds(seeds, func)
    fan_out = check_positive_int(fan_out, param="fan_out", func=func)
    fan_in = check_positive_int(fan_in, param="fan_in", func=func)
    device = check_device(device, func=func)
    inits = [init] * len(seeds) if isinstance(init, str) else (
        list(init) if isinstance(init, list | tuple) else None)
    if inits is None or len(inits) != len(seeds):
        raise InvalidInputError(f"The 'init' parameter of stacked_linear must be one init name or "
                                f"one per member ({len(seeds)}). Got {init!r} instead.")
    w, b = torch.empty(len(seeds), fan_out, fan_in), torch.empty(len(seeds), fan_out)
    for k, (gen, name) in enumerate(zip(member_generators(seeds), inits)):
        init_linear_(w[k], b[k], name, gen)
    return w.to(device), b.to(device)


def stacked_mlp_init(widths: Sequence[int], seeds: Sequence[Seed], *,
                     init: str | Sequence[str] = "default",
                     device: str | torch.device = "cpu") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Stacked (W, b) of every layer of ``mlp(widths, init=init[k], seed=seeds[k])``.

    Member k draws its layers in order from one generator (:func:`member_generators`), so with
    int seeds its weights equal those of :func:`reluthe.models.mlp` with that seed, bit for bit.

    Parameters
    ----------
    widths : sequence of int
        ``[input, hidden..., output]``.
    seeds : sequence of int or torch.Generator
        One seed per member, or one generator per member to continue (e.g. a GAN's
        discriminator drawn after its generator).
    init : str or sequence of str
        As in :func:`stacked_linear`.
    device : str or torch.device

    Returns
    -------
    list of (W (K, out, in), b (K, out))

    Examples
    --------
    >>> from reluthe.models import mlp
    >>> layers = stacked_mlp_init([3, 8, 2], [4, 9], init="he")
    >>> torch.equal(layers[1][0][1], mlp([3, 8, 2], init="he", seed=9)[2].weight)
    True
    """
    widths = check_int_sequence(widths, param="widths", func="stacked_mlp_init")
    gens = member_generators(_check_seeds(seeds, "stacked_mlp_init"))
    return [stacked_linear(gens, b, a, init=init, device=device)
            for a, b in zip(widths[:-1], widths[1:])]


def stacked_conv(seeds: Sequence[Seed], c_out: int, c_in: int, kernel: tuple[int, ...], *,
                 device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Initial weights (K, c_out, c_in, *kernel) and biases (K, c_out) of K convolutions.

    torch's default rule, U(±1/√fan_in) with fan_in = c_in·prod(kernel): the weights of
    :func:`stacked_linear` with ``fan_in`` inputs, reshaped.

    Parameters
    ----------
    seeds : sequence of int or torch.Generator
        As in :func:`stacked_linear`.
    c_out, c_in : int
    kernel : tuple of int
        One entry per spatial dimension.
    device : str or torch.device

    Examples
    --------
    >>> w, b = stacked_conv([0, 1], 4, 2, (3,))
    >>> w.shape, b.shape
    (torch.Size([2, 4, 2, 3]), torch.Size([2, 4]))
    """
    func = "stacked_conv"
    c_out = check_positive_int(c_out, param="c_out", func=func)
    c_in = check_positive_int(c_in, param="c_in", func=func)
    kernel = check_int_sequence(kernel, param="kernel", func=func, min_len=1)
    w, b = stacked_linear(seeds, c_out, c_in * math.prod(kernel), device=device)
    return w.view(len(seeds), c_out, c_in, *kernel), b


def stacked_affine(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Apply K stacked linear layers: ``h @ W[k].T + b[k]`` for every member k.

    Parameters
    ----------
    h : torch.Tensor
        Inputs (N, in) shared by the members, or (K, N, in), one set per member.
    w, b : torch.Tensor
        Weights (K, out, in) and biases (K, out).

    Returns
    -------
    torch.Tensor, shape (K, N, out)

    Examples
    --------
    >>> w, b = torch.ones(2, 1, 3), torch.tensor([[0.0], [1.0]])
    >>> stacked_affine(torch.ones(4, 3), w, b)[:, 0].flatten().tolist()
    [3.0, 4.0]
    """
    if h.dim() == 2:
        return torch.matmul(h, w.transpose(1, 2)) + b[:, None, :]
    return torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))


def stacked_mlp(weights: Sequence[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor,
                act: Callable[[torch.Tensor], torch.Tensor], *,
                out_act: Callable[[torch.Tensor], torch.Tensor] | None = None,
                dropout: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, list]:
    """Forward pass of K stacked MLPs: ``act`` after every layer but the last.

    Parameters
    ----------
    weights : sequence of (W (K, out, in), b (K, out))
    x : torch.Tensor
        (N, in) shared or (K, N, in) per member.
    act : callable
        The hidden activation (a :class:`MemberActivation` for one per member).
    out_act : callable, optional
        Applied after the last layer.
    dropout : torch.Tensor, optional
        Per-member dropout probabilities (K,) after every hidden activation, drawn from
        ``generator`` (inverted dropout, as ``nn.Dropout`` in training mode).
    generator : torch.Generator, optional

    Returns
    -------
    outputs : torch.Tensor (K, N, out)
    hidden : list of torch.Tensor (K, N, h), post-activation (before dropout), one per hidden layer

    Examples
    --------
    >>> layers = stacked_mlp_init([2, 5, 3], [0, 1])
    >>> out, hidden = stacked_mlp(layers, torch.ones(7, 2), torch.relu)
    >>> out.shape, [h.shape for h in hidden]
    (torch.Size([2, 7, 3]), [torch.Size([2, 7, 5])])
    """
    hs, h, last = [], x, len(weights) - 1
    for i, (w, b) in enumerate(weights):
        h = stacked_affine(h, w, b)
        if i < last:
            h = act(h)
            hs.append(h)
            if dropout is not None:
                keep = 1.0 - dropout[:, None, None]
                mask = torch.rand(h.shape, generator=generator, device=h.device) < keep
                h = h * mask / keep
    return (h if out_act is None else out_act(h)), hs


class MemberActivation:
    """Apply member ``k``'s activation to its slice of a tensor whose ``dim`` holds K blocks.

    Parameters
    ----------
    names : sequence of str
        ``names[k]`` is member k's activation (a name of :data:`reluthe.models.ACTIVATIONS`);
        members with the same activation should be contiguous (runs are applied in one call).
    params : dict, optional
        Maps an activation name to its parameters (e.g. ``{"leaky_relu": {"alpha": 0.2}}``).

    Examples
    --------
    >>> act = MemberActivation(["relu", "relu", "tanh"])
    >>> act(torch.tensor([[-1.0], [2.0], [0.0]])).flatten().tolist()
    [0.0, 2.0, 0.0]
    """

    def __init__(self, names: Sequence[str], params: dict | None = None):
        params = params or {}
        self.names = list(names)
        self.runs: list[tuple[int, Callable]] = []  # (number of members, function)
        start = 0
        for k in range(1, len(self.names) + 1):
            if k == len(self.names) or self.names[k] != self.names[start]:
                name = self.names[start]
                self.runs.append((k - start, activation_fn(name, **params.get(name, {}))))
                start = k

    def __call__(self, h: torch.Tensor, dim: int = 0) -> torch.Tensor:
        """``h`` with member k's activation applied to the k-th of K equal blocks of ``dim``."""
        if len(self.runs) == 1:
            return self.runs[0][1](h)
        block = h.shape[dim] // len(self.names)
        parts = h.split([n * block for n, _ in self.runs], dim=dim)
        return torch.cat([fn(p) for (_, fn), p in zip(self.runs, parts)], dim=dim)


def to_grouped(x: torch.Tensor) -> torch.Tensor:
    """Per-member inputs (K, B, C, *spatial) as (B, K·C, *spatial), the layout of
    :func:`grouped_conv`.

    Examples
    --------
    >>> to_grouped(torch.zeros(3, 2, 4, 5)).shape
    torch.Size([2, 12, 5])
    """
    k, b, c = x.shape[:3]
    return x.transpose(0, 1).reshape(b, k * c, *x.shape[3:])


def from_grouped(h: torch.Tensor, k: int) -> torch.Tensor:
    """Grouped features (B, K·C, *spatial) as (K, B, C·prod(spatial)), flattened per member.

    Examples
    --------
    >>> from_grouped(torch.zeros(2, 12, 5), 3).shape
    torch.Size([3, 2, 20])
    """
    b = h.shape[0]
    return h.reshape(b, k, -1).transpose(0, 1)


def grouped_conv(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor, stride: int,
                 padding: int) -> torch.Tensor:
    """Member-wise convolution: one ``conv1d``/``conv2d`` call with ``groups=K``.

    Parameters
    ----------
    h : torch.Tensor
        Grouped input (B, K·c_in, *spatial) (:func:`to_grouped`).
    w, b : torch.Tensor
        Stacked weights (K, c_out, c_in, *kernel) and biases (K, c_out)
        (:func:`stacked_conv`).
    stride, padding : int

    Returns
    -------
    torch.Tensor, shape (B, K·c_out, *spatial_out)

    Examples
    --------
    >>> w, b = stacked_conv([0, 1], 4, 1, (3,))
    >>> x = torch.linspace(-1, 1, 80).view(2, 5, 1, 8)  # K=2, batch 5, 1 channel, length 8
    >>> out = grouped_conv(to_grouped(x), w, b, stride=1, padding=1)
    >>> alone = torch.nn.functional.conv1d(x[1], w[1], b[1], padding=1)
    >>> out.shape, torch.allclose(out[:, 4:], alone)
    (torch.Size([5, 8, 8]), True)
    """
    k = w.shape[0]
    conv = F.conv1d if w.dim() == 4 else F.conv2d
    return conv(h, w.reshape(-1, *w.shape[2:]), b.reshape(-1), stride=stride, padding=padding,
                groups=k)
