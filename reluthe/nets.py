"""Networks as chains of affine maps and piecewise-linear activations, in float64.

The region engine (:mod:`reluthe.regions`) works on a :class:`PLNet`: a tuple of hidden layers
``z = W h + b, h' = act(z)`` followed by an optional output affine map that is *not* part of the
activation pattern. :func:`as_plnet` builds one from

* a list of ``(W, b)`` pairs (numpy arrays or tensors, ``W`` of shape ``(out, in)``): ReLU between
  the pairs, none after the last pair (the last pair is the output layer);
* a ``torch.nn.Module``: traced with ``torch.fx.symbolic_trace`` so that functional calls in
  ``forward`` (``F.relu``, ``torch.relu``, ``x.relu()``, ``F.leaky_relu``, ``F.hardtanh``,
  ``F.relu6``, ``torch.clamp``, ``torch.flatten``, ``x.view``/``x.reshape``) are seen in their real
  order. ``nn.Sequential`` and modules such as the article's ``MyModel`` (``fc1``, ``fc2``, ``fc3``
  with ``F.relu`` between them in ``forward``) work alike. The forward pass has one input; each
  operation reads one tensor, or is the sum or difference of two tensors of the same shape
  (residual connections ``x + f(x)``, projection shortcuts ``proj(x) + f(x)``); scalar affine
  operations (``2 * x``, ``x * 2``, ``x / 2``, ``x + 1``, ``x - 1``, ``1 - x``, ``-x``) are
  affine steps like a ``Linear``;
* a :class:`PLNet` (returned unchanged).

Supported modules: ``Linear``; the piecewise-linear activations of
:data:`reluthe.activations.TABLE`: ``ReLU`` (also ``inplace=True``), ``LeakyReLU`` (any slope),
``Hardtanh`` and ``ReLU6`` (two kinks: a unit has three states), ``Identity``; ``PReLU`` with one
shared slope (``num_parameters=1``, or per-channel slopes that are all equal); ``Flatten``,
``Unflatten``; ``Dropout`` variants (as the identity, whatever the mode); ``BatchNorm1d/2d`` in eval
mode (folded into the affine map); ``Conv1d``, ``Conv2d``, ``AvgPool1d``, ``AvgPool2d`` (as dense
affine maps; they need ``input_shape``). Consecutive affine operations are composed into one.

A trailing ``Softmax``, ``LogSoftmax`` or ``Sigmoid`` (module, ``F.``/``torch.`` function or
tensor method) as the *last* operation of ``forward`` is accepted as the network's output
transform: it is recorded in :attr:`PLNet.output_transform` and is not part of the PLNet's
arithmetic. The activation regions (of the hidden layers) are unchanged by it, and
:meth:`PLNet.forward` returns the affine output *before* it (the logits), on which argmax
(softmax) and the sign (sigmoid) give the same decisions.

**Residual connections.** Every value is kept as an affine map of the current hidden vector. An
activation makes a new hidden layer whose units (its :attr:`PLLayer.width`, the activation
pattern) are the activated value, followed by *pass-through* units (:attr:`PLLayer.passthrough`:
linear, slope 1 in every state, no kinks, not in the pattern) that carry the values read again
later (the skip stream) past it. ``y = x + W2 relu(W1 x + b1) + b2`` followed by
``relu(W3 y + b3)`` becomes a layer with output ``[relu(W1 x + b1); x]`` and a next layer
reading ``W3 (x + W2 h + b2) + b3`` from both parts: the same function and the same activation
regions, counted exactly by every engine of :mod:`reluthe.regions`.

**Max-pooling.** ``MaxPool1d``, ``MaxPool2d``, ``F.max_pool1d``, ``F.max_pool2d`` and
``torch.amax``/``x.amax`` over the units of one sample (any window shape, stride, padding,
dilation: the windows are read by probing the operation) make pooled units ``o = max(v_i, i in
window o)``. The PLNet computes the max exactly by a tournament of ReLU layers
``max(a, b) = a + relu(b - a)`` (:class:`MaxPool`, in :attr:`PLNet.pools`); the state of a
pooled unit in the activation pattern (:meth:`PLNet.pattern`, :attr:`PLNet.pattern_layout`) is
the position of its argmax in its window, the first on ties as in torch. :meth:`PLNet.states`
gives the engine's unit states (the tournament's comparisons). Region functions that do not
merge the tournament's cells refuse such a net by name.

Anything else (``MaxPool3d``, ``GELU``, ``BatchNorm`` in train mode, concatenation, ...) raises
:class:`~reluthe.errors.UnsupportedNetworkError` naming the module, saying what to do instead and
listing what is supported.

The caller's model is never changed: parameters are copied (never written), its ``training`` flags
are left alone (a train-mode model is converted as it is: dropout as the identity, BatchNorm
refused), and tracing runs inside :func:`reluthe._untouched.untouched`, which restores weights,
buffers, modes, ``requires_grad``, ``.grad``, hooks and the torch, numpy and ``random`` RNG states.
Every function of :mod:`reluthe.regions` that accepts a torch module converts it here.
Importing this module does not import torch; converting a module does.

Examples
--------
>>> import numpy as np
>>> from reluthe.nets import as_plnet
>>> net = as_plnet([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
>>> net.widths, net.input_dim, net.output_dim
((2,), 2, 1)
>>> net.forward(np.array([[1.0, -2.0]]))
array([[1.]])
>>> net.states(np.array([[1.0, -2.0]]))
array([[1, 0]], dtype=int8)

A residual block: the skip stream ``x`` rides past the first layer as pass-through units.

>>> import torch
>>> class Block(torch.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.a, self.b = torch.nn.Linear(3, 4), torch.nn.Linear(4, 3)
...     def forward(self, x):
...         return torch.relu(x + self.b(torch.relu(self.a(x))))
>>> res = as_plnet(Block())
>>> res.widths, [layer.passthrough for layer in res.layers]
((4, 3), [3, 0])

A max-pool over pairs: two ReLU units, then one pooled unit whose state is its argmax.

>>> import torch.nn.functional as F
>>> class Pool(torch.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.a = torch.nn.Linear(1, 2)
...     def forward(self, x):
...         return F.max_pool1d(torch.relu(self.a(x)), 2)
>>> pool = as_plnet(Pool())
>>> pool.pattern_layout, pool.pattern(np.array([[0.5]])).shape
(((2, 1), (1, 1)), (1, 3))
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from reluthe import activations as table
from reluthe._validate import _fmt, check_real_array
from reluthe.errors import InvalidInputError, UnsupportedNetworkError

__all__ = ["Activation", "MaxPool", "PLLayer", "PLNet", "as_plnet", "from_torch", "from_pairs",
           "SUPPORTED"]

_PL_TABLE = tuple(row for row in table.TABLE if row.piecewise_linear)
SUPPORTED = (
    f"modules: Linear, {', '.join(r.torch_module for r in _PL_TABLE)} (the piecewise-linear "
    "activations of reluthe.activations.TABLE; inplace too), PReLU (one shared slope), "
    "Flatten, Unflatten, "
    "Dropout/Dropout1d/Dropout2d/AlphaDropout (as identity), BatchNorm1d/BatchNorm2d "
    "(eval mode), Conv1d, Conv2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d (with "
    "input_shape); functions in forward: F.max_pool1d, F.max_pool2d, torch.amax/x.amax (over "
    "the units of one sample), "
    f"{', '.join('F.' + r.torch_function for r in _PL_TABLE if r.torch_function)} (and their "
    "torch.*, x.*() and in-place forms, e.g. torch.relu, x.relu()), torch.clamp/x.clamp "
    "(constant bounds), torch.flatten, x.flatten(), x.view(...), x.reshape(...), F.dropout, "
    "scalar affine operations (2 * x, x * 2, x / 2, x + 1, x - 1, 1 - x, -x; also torch.mul/add/"
    "sub/div/neg and their methods); sums and differences of two tensors of the same shape "
    "(residual connections x + f(x)); as the last operation only: Softmax, LogSoftmax, Sigmoid "
    "(module, F./torch. function or method: the output transform)"
)


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Activation:
    """An elementwise continuous piecewise-linear function with kinks at ``breakpoints``.

    On piece ``j`` (``breakpoints[j-1] < z <= breakpoints[j]``) the value is
    ``slopes[j] * z + offsets[j]``. The *state* of a unit is the number of breakpoints strictly
    below its pre-activation: ReLU and LeakyReLU have states 0 (``z <= 0``) and 1 (``z > 0``, "on");
    Hardtanh and ReLU6 have states 0, 1, 2.

    Examples
    --------
    >>> import numpy as np
    >>> relu6 = Activation.relu6()
    >>> relu6(np.array([-1.0, 3.0, 7.0])), relu6.states(np.array([-1.0, 3.0, 7.0]))
    (array([0., 3., 6.]), array([0, 1, 2], dtype=int8))
    """

    name: str
    breakpoints: tuple[float, ...]
    slopes: tuple[float, ...]
    offsets: tuple[float, ...]

    def __post_init__(self):
        bp = self.breakpoints
        if len(self.slopes) != len(bp) + 1 or len(self.offsets) != len(bp) + 1:
            raise InvalidInputError(f"Activation {self.name!r} needs len(breakpoints)+1 slopes and "
                                    f"offsets. Got {len(bp)} breakpoints, {len(self.slopes)} "
                                    f"slopes, {len(self.offsets)} offsets.")
        values = (*bp, *self.slopes, *self.offsets)
        if not all(math.isfinite(v) for v in values) or any(b >= a for a, b in
                                                             zip(bp[1:], bp[:-1])):
            raise InvalidInputError(f"Activation {self.name!r} needs finite, strictly increasing "
                                    f"breakpoints and finite slopes. Got breakpoints {bp}, "
                                    f"slopes {self.slopes}.")

    @classmethod
    def relu(cls) -> Activation:
        return cls("relu", (0.0,), (0.0, 1.0), (0.0, 0.0))

    @classmethod
    def leaky_relu(cls, negative_slope: float = 0.01) -> Activation:
        return cls(f"leaky_relu({negative_slope:g})", (0.0,), (float(negative_slope), 1.0),
                   (0.0, 0.0))

    @classmethod
    def prelu(cls, slope: float) -> Activation:
        """``nn.PReLU`` with one slope: leaky ReLU with a learned ``slope``."""
        return cls(f"prelu({slope:g})", (0.0,), (float(slope), 1.0), (0.0, 0.0))

    @classmethod
    def hardtanh(cls, min_val: float = -1.0, max_val: float = 1.0) -> Activation:
        lo, hi = float(min_val), float(max_val)
        return cls(f"hardtanh({lo:g},{hi:g})", (lo, hi), (0.0, 1.0, 0.0), (lo, 0.0, hi))

    @classmethod
    def relu6(cls) -> Activation:
        return cls("relu6", (0.0, 6.0), (0.0, 1.0, 0.0), (0.0, 0.0, 6.0))

    @classmethod
    def clamp(cls, min_val: float | None, max_val: float | None) -> Activation:
        if min_val is not None and max_val is not None:
            act = cls.hardtanh(min_val, max_val)
            return cls(f"clamp({min_val:g},{max_val:g})", act.breakpoints, act.slopes,
                       act.offsets)
        if min_val is not None:
            return cls(f"clamp(min={min_val:g})", (float(min_val),), (0.0, 1.0),
                       (float(min_val), 0.0))
        return cls(f"clamp(max={max_val:g})", (float(max_val),), (1.0, 0.0), (0.0, float(max_val)))

    @property
    def n_states(self) -> int:
        return len(self.breakpoints) + 1

    def states(self, z: np.ndarray) -> np.ndarray:
        """The state (number of breakpoints strictly below ``z``) of every entry, as int8."""
        out = np.zeros(np.shape(z), dtype=np.int8)
        for bp in self.breakpoints:
            out += z > bp
        return out

    def __call__(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        if len(self.breakpoints) == 1:
            (bp,), (s0, s1), (c0, c1) = self.breakpoints, self.slopes, self.offsets
            if (bp, s0, s1, c0, c1) == (0.0, 0.0, 1.0, 0.0, 0.0):
                return np.maximum(z, 0.0)
            return np.where(z > bp, s1 * z + c1, s0 * z + c0)
        slopes = np.asarray(self.slopes)
        offsets = np.asarray(self.offsets)
        piece = self.states(z)
        return slopes[piece] * z + offsets[piece]


@dataclass(frozen=True, eq=False)
class PLLayer:
    """A hidden layer ``h' = [activation(z[:width]); z[width:]]`` with ``z = weight @ h + bias``.

    The first :attr:`width` rows are the layer's units (their states make the activation
    pattern); the last ``passthrough`` rows are *pass-through* units, linear (slope 1 in every
    state, no kinks, not part of the pattern), which carry values past the layer: the skip
    stream of a residual connection ``x + f(x)``. ``source`` says where the layer came from.

    Examples
    --------
    >>> import numpy as np
    >>> layer = PLLayer(np.eye(2), np.zeros(2), Activation.relu(), passthrough=1)
    >>> layer.width, layer.out_dim, layer.apply(np.array([[-1.0, -2.0]]))
    (1, 2, array([[ 0., -2.]]))
    """

    weight: np.ndarray
    bias: np.ndarray
    activation: Activation
    source: str = ""
    passthrough: int = 0

    def __post_init__(self):
        if not 0 <= self.passthrough < self.weight.shape[0]:
            raise InvalidInputError(
                f"The 'passthrough' parameter of PLLayer must be an int in [0, "
                f"{self.weight.shape[0]}) (fewer than the weight's {self.weight.shape[0]} "
                f"rows: a layer has at least one unit). Got {_fmt(self.passthrough)} instead.")

    @property
    def width(self) -> int:
        """Number of units (pass-through units excluded)."""
        return int(self.weight.shape[0]) - self.passthrough

    @property
    def out_dim(self) -> int:
        """Length of the layer's output: units and pass-through units."""
        return int(self.weight.shape[0])

    def apply(self, z: np.ndarray, lo: int = 0) -> np.ndarray:
        """Outputs of rows ``lo:lo + z.shape[1]`` from their pre-activations ``z`` (n, k):
        the activation on units, the identity on pass-through units (a new array)."""
        cut = min(max(self.width - lo, 0), z.shape[1])
        if cut == z.shape[1]:
            return self.activation(z)
        out = np.array(z, dtype=np.float64)
        out[:, :cut] = self.activation(z[:, :cut])
        return out


@dataclass(frozen=True, eq=False)
class MaxPool:
    """Max-pooled units ``o = max(v_i, i in window o)`` run as a tournament of ReLU layers.

    A max-pool over values ``v`` (affine maps of the hidden vector) is computed exactly by
    hidden layers of the :class:`PLNet` itself: each layer pairs neighbouring candidates of
    every window and computes ``max(a, b) = a + relu(b - a)`` (``b`` wins only when strictly
    larger, so ties go to the first candidate, as in torch), the candidates ``a`` riding along
    as pass-through units, until one winner per window is left. Those ``len(levels)`` layers
    start at ``PLNet.layers[first]``; their units' states are engine states, not the pattern:
    the *state of a pooled unit* is the position of its argmax in its window (the first one on
    ties), read from them by :meth:`argmax`. Cells of the tournament with the same argmax
    are one activation region (``{argmax = i}`` is convex: the intersection of ``v_i >= v_j``).

    Slots are candidates: ``0 .. position.size - 1`` the window entries (``position``: their
    place in their window), later ones the winners of pairs. ``levels[l]`` holds the
    ``(left, right, new)`` slot ids of the pairs of tournament layer ``l`` (its unit ``j`` is
    pair ``j``); ``final`` the winning slot of every pooled unit; ``sizes`` the window sizes.

    Examples
    --------
    >>> import numpy as np
    >>> pool = MaxPool(0, np.array([3]), ((np.array([0]), np.array([1]), np.array([3])),
    ...                                    (np.array([3]), np.array([2]), np.array([4]))),
    ...                np.array([4]), np.array([0, 1, 2]), "max over 3")
    >>> pool.argmax([np.array([[1], [0]]), np.array([[0], [1]])]).tolist()
    [[1], [2]]
    """

    first: int
    sizes: np.ndarray
    levels: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    final: np.ndarray
    position: np.ndarray
    source: str = ""

    @property
    def width(self) -> int:
        """Number of pooled units."""
        return int(self.sizes.size)

    @property
    def n_states(self) -> int:
        """States of a pooled unit: the largest window size."""
        return int(self.sizes.max())

    @property
    def layer_ids(self) -> range:
        """Indices of its tournament layers in :attr:`PLNet.layers`."""
        return range(self.first, self.first + len(self.levels))

    def owners(self) -> list[np.ndarray]:
        """The pooled unit that every unit of every tournament layer belongs to."""
        owner = np.zeros(int(self.levels[-1][2].max()) + 1, dtype=np.int64)
        owner[:self.position.size] = np.repeat(np.arange(self.width), self.sizes)
        out = []
        for left, _, new in self.levels:
            owner[new] = owner[left]
            out.append(owner[left])
        return out

    def argmax(self, states: Sequence[np.ndarray]) -> np.ndarray:
        """Argmax positions (int8, ``(n, width)``) from the states of the tournament layers."""
        n = states[0].shape[0]
        n_slots = int(self.levels[-1][2].max()) + 1
        win = np.zeros((n, n_slots), dtype=np.int16)
        win[:, :self.position.size] = self.position
        for (left, right, new), s in zip(self.levels, states):
            win[:, new] = np.where(np.asarray(s) > 0, win[:, right], win[:, left])
        return win[:, self.final].astype(np.int8)


@dataclass(frozen=True, eq=False)
class PLNet:
    """A piecewise-linear network in float64: hidden ``layers`` then an optional ``output`` map.

    The activation pattern of an input is the tuple of states of every hidden unit (layer by layer);
    the output map is not part of it. ``output_transform`` names a trailing ``"softmax"``,
    ``"log_softmax"`` or ``"sigmoid"`` of the torch model it was converted from (``None``: none);
    it is recorded, not applied: :meth:`forward` returns the affine output before it.

    Examples
    --------
    >>> import numpy as np
    >>> net = as_plnet([(np.array([[1.0], [-1.0]]), np.array([0.0, 1.0])),
    ...                 (np.array([[1.0, 1.0]]), np.array([0.0]))])
    >>> net.states(np.array([[0.5], [2.0]]))
    array([[1, 1],
           [1, 0]], dtype=int8)
    """

    layers: tuple[PLLayer, ...]
    output: tuple[np.ndarray, np.ndarray] | None
    input_dim: int
    input_shape: tuple[int, ...] = field(default=())
    output_transform: str | None = None
    pools: tuple[MaxPool, ...] = ()

    @property
    def widths(self) -> tuple[int, ...]:
        """Widths of the hidden layers."""
        return tuple(layer.width for layer in self.layers)

    @property
    def n_units(self) -> int:
        return int(sum(self.widths))

    @property
    def output_dim(self) -> int:
        if self.output is not None:
            return int(self.output[0].shape[0])
        return self.layers[-1].out_dim if self.layers else self.input_dim

    @property
    def unit_ids(self) -> list[tuple[int, int]]:
        """``(layer, index)`` of every hidden unit, in pattern order."""
        return [(i, j) for i, layer in enumerate(self.layers) for j in range(layer.width)]

    def _check_points(self, x, func: str, param: str = "x") -> np.ndarray:
        x = check_real_array(x, param=param, func=func)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise InvalidInputError(
                f"The {param!r} parameter of {func} must have shape (n, {self.input_dim}) to "
                f"match the network's input dimension. Got shape {x.shape} instead.")
        return x

    def preactivations(self, x) -> list[np.ndarray]:
        """Pre-activations ``z`` of every hidden layer at points ``x`` (``(n, input_dim)``)."""
        h = self._check_points(x, "PLNet.preactivations")
        out = []
        for layer in self.layers:
            z = h @ layer.weight.T + layer.bias
            out.append(z[:, :layer.width])
            h = layer.apply(z)
        return out

    def forward(self, x) -> np.ndarray:
        """The network's affine output at points ``x`` (float64): for a model converted with a
        trailing softmax, log-softmax or sigmoid (:attr:`output_transform`), the values *before*
        it (the logits)."""
        h = self._check_points(x, "PLNet.forward")
        for layer in self.layers:
            h = layer.apply(h @ layer.weight.T + layer.bias)
        if self.output is not None:
            h = h @ self.output[0].T + self.output[1]
        return h

    def states(self, x) -> np.ndarray:
        """State of every unit of every hidden layer at points ``x``: int8 (n, n_units); the
        activation pattern unless the net has max-pools (then see :meth:`pattern`)."""
        h = self._check_points(x, "PLNet.states")
        cols = []
        for layer in self.layers:
            z = h @ layer.weight.T + layer.bias
            cols.append(layer.activation.states(z[:, :layer.width]))
            h = layer.apply(z)
        if not cols:
            return np.zeros((h.shape[0], 0), dtype=np.int8)
        return np.concatenate(cols, axis=1)

    def _pattern_parts(self) -> list[tuple[int, object]]:
        """``(layer index, layer or MaxPool)`` of every part of the pattern, in order: a layer
        outside any tournament, or a max-pool (at its first tournament layer)."""
        inside = {li: pool for pool in self.pools for li in pool.layer_ids}
        return [(li, inside.get(li, layer)) for li, layer in enumerate(self.layers)
                if li not in inside or inside[li].first == li]

    @property
    def state_layout(self) -> tuple[tuple[int, int], ...]:
        """``(units, kinks)`` of every hidden layer: the layout of the engines' packed unit
        states (:meth:`states`; tournament layers of a max-pool included)."""
        return tuple((layer.width, len(layer.activation.breakpoints)) for layer in self.layers)

    @property
    def pattern_layout(self) -> tuple[tuple[int, int], ...]:
        """``(units, states - 1)`` of every part of the activation pattern: a hidden layer
        (states - 1 = its kinks) or a max-pool (states = its largest window)."""
        return tuple((part.width, part.n_states - 1 if isinstance(part, MaxPool)
                      else len(part.activation.breakpoints)) for _, part in self._pattern_parts())

    @property
    def pooled(self) -> np.ndarray:
        """Boolean mask over the activation pattern's units: True where a unit is a max-pool's
        (its state is the argmax position in its window, not on/off)."""
        return np.concatenate([np.full(part.width, isinstance(part, MaxPool))
                               for _, part in self._pattern_parts()] or [np.zeros(0, bool)])

    def pattern_states(self, states: np.ndarray) -> np.ndarray:
        """The activation pattern (int8) from engine :meth:`states`: the same without
        max-pools; the tournament layers of a max-pool replaced by its argmax positions."""
        if not self.pools:
            return states
        starts = np.cumsum([0, *self.widths])
        cols = []
        for li, part in self._pattern_parts():
            if isinstance(part, MaxPool):
                cols.append(part.argmax([states[:, starts[i]:starts[i + 1]]
                                         for i in part.layer_ids]))
            else:
                cols.append(states[:, starts[li]:starts[li + 1]])
        return np.concatenate(cols, axis=1)

    def pattern_units(self, units: np.ndarray) -> np.ndarray:
        """``(part, unit)`` in the activation pattern (:attr:`pattern_layout`) of engine units
        ``(layer, unit)`` (an ``(n, 2)`` array): a tournament unit belongs to its pooled unit."""
        units = np.asarray(units, dtype=np.int64).reshape(-1, 2)
        if not self.pools:
            return units
        part_of = np.zeros(self.n_units, dtype=np.int64)     # by engine unit, layer-major
        unit_of = np.zeros(self.n_units, dtype=np.int64)
        starts = np.cumsum([0, *self.widths])
        for k, (li, part) in enumerate(self._pattern_parts()):
            pairs = (zip(part.layer_ids, part.owners()) if isinstance(part, MaxPool)
                     else [(li, np.arange(part.width))])
            for i, owner in pairs:
                part_of[starts[i]:starts[i + 1]], unit_of[starts[i]:starts[i + 1]] = k, owner
        flat = starts[units[:, 0]] + units[:, 1]
        return np.stack([part_of[flat], unit_of[flat]], axis=1)

    def pattern(self, x) -> np.ndarray:
        """Activation pattern at points ``x``: the state of every hidden unit, a max-pooled
        unit's state being the position of its argmax in its window (:class:`MaxPool`);
        equal to :meth:`states` for a network without max-pools."""
        return self.pattern_states(self.states(x))

    def restrict(self, origin, basis) -> PLNet:
        """The network on the affine subspace ``x = origin + basis @ t`` (``basis``: (d, k))."""
        origin = np.asarray(origin, dtype=np.float64)
        basis = np.asarray(basis, dtype=np.float64)
        if self.layers:
            first = self.layers[0]
            new_first = PLLayer(_readonly(first.weight @ basis),
                                _readonly(first.weight @ origin + first.bias),
                                first.activation, first.source, first.passthrough)
            layers, output = (new_first, *self.layers[1:]), self.output
        elif self.output is not None:
            w, b = self.output
            layers, output = (), (_readonly(w @ basis), _readonly(w @ origin + b))
        else:
            layers, output = (), (_readonly(basis), _readonly(origin))
        k = int(basis.shape[1])
        return replace(self, layers=layers, output=output, input_dim=k, input_shape=(k,))


# ----------------------------------------------------------------------------- building blocks

def _assemble(steps, start, result, input_dim: int, input_shape: tuple[int, ...],
              output_transform: str | None = None) -> PLNet:
    """Compose steps on named values into a PLNet: ``start`` is the input, ``result`` the output.

    Steps: ``("affine", out, inp, W, b, src)``, ``("scale", out, inp, s, c, src)`` (``s h + c``),
    ``("sum", out, a, b, alpha, src)`` (``a + alpha b``), ``("alias", out, inp)`` and
    ``("act", out, inp, Activation, src, carried)``. Every value is kept as an affine map of the
    current hidden vector; an activation makes a new layer whose units are ``inp`` and whose
    pass-through units carry the values ``carried`` (those needed later: skip connections)."""
    layers: list[PLLayer] = []
    pools: list[MaxPool] = []
    values = {start: (np.eye(input_dim), np.zeros(input_dim), ())}
    for kind, out, *rest in steps:
        if kind == "affine":
            inp, sw, sb, src = rest
            w, b, sources = values[inp]
            values[out] = (sw @ w, sw @ b + sb, (*sources, src))
        elif kind == "scale":
            inp, scale, shift, src = rest
            w, b, sources = values[inp]
            values[out] = (scale * w, scale * b + shift, (*sources, src))
        elif kind == "sum":
            a, other, alpha, src = rest
            (wa, ba, sa), (wb, bb, sb) = values[a], values[other]
            if wa.shape != wb.shape:
                raise _unsupported(f"Operation {src} of tensors of {ba.size} and {bb.size} "
                                   f"values per sample (broadcasting)", _SUM_INSTEAD)
            values[out] = (wa + alpha * wb, ba + alpha * bb, (*sa, *sb, src))
        elif kind == "alias":
            values[out] = values[rest[0]]
        elif kind == "maxpool":
            inp, windows, src, carried = rest
            values = _tournament(values, out, inp, windows, src, carried, layers, pools)
        else:
            inp, act, src, carried = rest
            kept = [values[c] for c in carried]
            layers.append(_new_layer(values[inp], kept, act, src))
            values = _after_layer(layers[-1], out, {c: v[1].size for c, v in zip(carried, kept)})
    w, b, sources = values[result]
    last = layers[-1] if layers else None
    plain = not sources and (last is None or (last.passthrough == 0 and w.shape[0] == w.shape[1]
                                              and np.array_equal(w, np.eye(w.shape[0]))
                                              and not b.any()))
    output = None if plain else (_readonly(w), _readonly(b))
    return PLNet(tuple(layers), output, int(input_dim), tuple(input_shape), output_transform,
                 tuple(pools))


def _tournament(values: dict, out, inp, windows: list, src: str, carried: tuple,
                layers: list, pools: list) -> dict:
    """Append the ReLU layers computing ``max`` of ``values[inp]`` over every window (index
    arrays, one per pooled unit, in order) to ``layers`` and their :class:`MaxPool` to
    ``pools``; return the values after them (``out``: the pooled units; ``carried``)."""
    w, b, sources = values[inp]
    flat = np.concatenate(windows)
    groups, slot = [], 0                       # the live slot ids of every window, in order
    for win in windows:
        groups.append(list(range(slot, slot + len(win))))
        slot += len(win)
    rows = dict(enumerate(zip(w[flat], b[flat])))          # live slot id -> (row, bias)
    kept = {c: values[c] for c in carried}
    levels, first = [], len(layers)
    while any(len(g) > 1 for g in groups):
        pairs = [(g[i], g[i + 1]) for g in groups for i in range(0, len(g) - 1, 2)]
        single = [g[-1] for g in groups if len(g) % 2]
        left = [rows[a] for a, _ in pairs] + [rows[c] for c in single]
        unit_w = np.array([rows[r][0] - rows[a][0] for a, r in pairs])
        unit_b = np.array([rows[r][1] - rows[a][1] for a, r in pairs])
        layer = _new_layer((unit_w, unit_b, sources),
                           [(np.array([r for r, _ in left]), np.array([c for _, c in left]), ()),
                            *kept.values()], Activation.relu(),
                           f"{src} (max-pool tournament {len(levels) + 1})")
        layers.append(layer)
        n_pairs, eye = len(pairs), np.eye(layer.out_dim)
        new = dict(zip(pairs, range(slot, slot + n_pairs)))
        levels.append(tuple(np.array(v, dtype=np.int64) for v in
                            ([a for a, _ in pairs], [r for _, r in pairs], list(new.values()))))
        slot += n_pairs
        rows = {new[p]: (eye[j] + eye[n_pairs + j], 0.0) for j, p in enumerate(pairs)}
        rows.update({c: (eye[2 * n_pairs + j], 0.0) for j, c in enumerate(single)})
        groups = [[new[(g[i], g[i + 1])] for i in range(0, len(g) - 1, 2)]
                  + ([g[-1]] if len(g) % 2 else []) for g in groups]
        row = n_pairs + len(left)
        for c, (_, kept_b, _) in kept.items():
            kept[c] = (eye[row:row + kept_b.size], np.zeros(kept_b.size), ())
            row += kept_b.size
        sources = ()
    final = np.array([g[0] for g in groups], dtype=np.int64)
    positions = np.concatenate([np.arange(len(win)) for win in windows])
    if levels:
        pools.append(MaxPool(first, np.array([len(win) for win in windows]), tuple(levels),
                             final, positions, src))
    result = dict(kept)
    result[out] = (np.array([rows[f][0] for f in final]),
                   np.array([rows[f][1] for f in final], dtype=np.float64), sources)
    return result


def _new_layer(value, kept: list, act: Activation, src: str) -> PLLayer:
    """A layer with units ``act(value)`` and pass-through units for the values ``kept``."""
    w, b, sources = value
    n_pass = sum(v[1].size for v in kept)
    label = " -> ".join([*sources, src]) + (f" (+ {n_pass} pass-through)" if n_pass else "")
    return PLLayer(_readonly(np.vstack([w, *(v[0] for v in kept)])),
                   _readonly(np.concatenate([b, *(v[1] for v in kept)])), act, label, n_pass)


def _after_layer(layer: PLLayer, out, carried: dict) -> dict:
    """The values after ``layer`` as maps of its output: ``out`` (its units) and the values
    ``carried`` (id: length; its pass-through units, in order)."""
    eye = np.eye(layer.out_dim)
    values = {out: (eye[:layer.width], np.zeros(layer.width), ())}
    row = layer.width
    for value_id, size in carried.items():
        values[value_id] = (eye[row:row + size], np.zeros(size), ())
        row += size
    return values


def from_pairs(pairs: Sequence, *, func: str = "reluthe.nets.from_pairs") -> PLNet:
    """A PLNet from ``[(W1, b1), ..., (WL, bL)]``: ReLU between pairs, none after the last.

    Examples
    --------
    >>> import numpy as np
    >>> net = from_pairs([(np.ones((3, 2)), np.zeros(3)), (np.ones((1, 3)), np.zeros(1))])
    >>> net.widths, net.output is not None
    ((3,), True)
    """
    if not isinstance(pairs, (list, tuple)):
        raise InvalidInputError(f"The 'net' parameter of {func} must be a list or tuple of "
                                f"(W, b) pairs. Got {_fmt(pairs)} (a {type(pairs).__name__}) "
                                f"instead.")
    if len(pairs) == 0:
        raise InvalidInputError(f"The 'net' parameter of {func} must contain at least one (W, b) "
                                f"pair. Got an empty sequence instead.")
    steps = []
    prev_out = None
    input_dim = None
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InvalidInputError(f"The 'net' parameter of {func} must be a list of (W, b) "
                                    f"pairs. Item {i} is {_fmt(pair)}.")
        w = check_real_array(pair[0], param=f"net[{i}][0] (W)", func=func, ndim=2)
        b = check_real_array(pair[1], param=f"net[{i}][1] (b)", func=func, ndim=1)
        if b.shape[0] != w.shape[0]:
            raise InvalidInputError(f"In the 'net' parameter of {func}, pair {i} has W of shape "
                                    f"{w.shape} (out, in) but b of shape {b.shape}; b must have "
                                    f"shape ({w.shape[0]},).")
        if prev_out is not None and w.shape[1] != prev_out:
            raise InvalidInputError(f"In the 'net' parameter of {func}, pair {i} has W of shape "
                                    f"{w.shape} but the previous layer has {prev_out} outputs; "
                                    f"W must have {prev_out} columns.")
        if input_dim is None:
            input_dim = w.shape[1]
        prev_out = w.shape[0]
        steps.append(("affine", 2 * i + 1, 2 * i, w, b, f"pair {i}"))
        if i < len(pairs) - 1:
            steps.append(("act", 2 * i + 2, 2 * i + 1, Activation.relu(), "relu", ()))
    return _assemble(steps, 0, 2 * len(pairs) - 1, int(input_dim), (int(input_dim),))


def as_plnet(net, input_shape: Sequence[int] | None = None, *,
             func: str = "reluthe.nets.as_plnet") -> PLNet:
    """Convert ``net`` (PLNet, list of ``(W, b)`` pairs, or torch module) to a :class:`PLNet`.

    Parameters
    ----------
    net : PLNet, sequence of (W, b), or torch.nn.Module
        The network. See the module docstring for what is supported.
    input_shape : sequence of int, optional
        Shape of one input without the batch dimension; needed when the first operation is a
        convolution or pooling (e.g. ``(1, 8, 8)``). Inputs are flattened in C order.
    func : str
        Name used in error messages.

    Raises
    ------
    UnsupportedNetworkError
        A module or operation that is not piecewise linear (or not supported).
    InvalidInputError
        NaN/inf weights, inconsistent shapes, or a missing ``input_shape``.
    """
    if isinstance(net, PLNet):
        return net
    if isinstance(net, (list, tuple)):
        return from_pairs(net, func=func)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        torch = None
    if torch is not None and isinstance(net, torch.nn.Module):
        return from_torch(net, input_shape=input_shape, func=func)
    raise InvalidInputError(f"The 'net' parameter of {func} must be a torch.nn.Module, a list of "
                            f"(W, b) pairs or a reluthe.nets.PLNet. Got {_fmt(net)} instead.")


# ----------------------------------------------------------------------------- torch conversion

def _tensor_to_numpy(t, what: str, func: str) -> np.ndarray:
    if t.is_complex() or not (t.is_floating_point() or t.dtype.is_signed):
        raise InvalidInputError(f"The 'net' parameter of {func} must have real floating-point "
                                f"parameters. {what} has dtype {t.dtype}.")
    if t.device.type == "meta":
        raise InvalidInputError(f"The 'net' parameter of {func} must have parameters with "
                                f"values. {what} is on the 'meta' device (no data); load the "
                                f"weights first (e.g. module.to_empty(device='cpu') and a "
                                f"state dict).")
    arr = t.detach().to(device="cpu").double().numpy().copy()
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"The 'net' parameter of {func} must have finite parameters. "
                                f"{what} contains NaN/inf.")
    return arr


_GENERIC_INSTEAD = ("replace it by a supported module, or pass the network as a list of (W, b) "
                    "pairs or a reluthe.nets.PLNet.")
_MAXPOOL_INSTEAD = ("use nn.MaxPool1d/2d (or F.max_pool1d/2d, torch.amax over units), or "
                    "average pooling (nn.AvgPool1d/2d with the same kernel_size and stride), to "
                    "count regions exactly; to measure the model as it is, use "
                    "reluthe.probes.profile or reluthe.probes.capture_activations on samples.")
_NOT_PL_INSTEAD = ("the region engine needs piecewise-linear activations: use ReLU, LeakyReLU, "
                   "PReLU or Hardtanh instead (Softmax, LogSoftmax and Sigmoid are accepted as "
                   "the last operation of forward only); reluthe.probes.profile measures any "
                   "model on samples.")
_NORM_INSTEAD = ("it divides by each input's own statistics, which is not affine: use "
                 "BatchNorm1d/2d in eval mode, or remove it.")
_CHAIN_INSTEAD = ("write forward with operations that each read one tensor "
                  "(Linear/Conv/pooling/normalisation layers, piecewise-linear activations, "
                  "scalar affine operations such as 2 * x, x + 1, -x) and sums or differences "
                  "of two tensors of the same shape (residual connections x + f(x)), every "
                  "value used; concatenation, products of tensors and several outputs are not "
                  "supported.")
_SUM_INSTEAD = ("add tensors of the same shape (a residual connection x + f(x) where f keeps "
                "the shape, or a projection: proj(x) + f(x)).")

# what to do instead, by module class name (the MRO is searched, nearest class first)
_INSTEAD = {
    **dict.fromkeys(("MaxPool3d", "AdaptiveMaxPool1d",
                     "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "FractionalMaxPool2d",
                     "LPPool1d", "LPPool2d"), _MAXPOOL_INSTEAD),
    **dict.fromkeys(("LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
                     "LocalResponseNorm", "RMSNorm"), _NORM_INSTEAD),
    **dict.fromkeys(("GELU", "SiLU", "Mish", "ELU", "CELU", "SELU", "Tanh", "Softplus",
                     "Softsign", "Tanhshrink", "Hardswish", "Hardsigmoid", "LogSigmoid",
                     "Sigmoid", "Softmax", "LogSoftmax", "Softmin", "GLU", "RReLU"),
                    _NOT_PL_INSTEAD),
    **dict.fromkeys(("RNN", "LSTM", "GRU", "MultiheadAttention", "Transformer",
                     "TransformerEncoder", "TransformerEncoderLayer", "Embedding"),
                    "it is not a feed-forward piecewise-linear layer; regions are defined for "
                    "chains of affine maps and piecewise-linear activations only."),
}


def _instead_for(module) -> str:
    return next((_INSTEAD[c.__name__] for c in type(module).__mro__ if c.__name__ in _INSTEAD),
                _GENERIC_INSTEAD)


def _unsupported(what: str, instead: str = _GENERIC_INSTEAD) -> UnsupportedNetworkError:
    return UnsupportedNetworkError(f"{what} is not supported by reluthe.nets (the region engine "
                                   f"needs affine maps, piecewise-linear activations "
                                   f"and sums of them). Instead: {instead} Supported {SUPPORTED}.")


class _Tracker:
    """Walks a traced forward pass, tracking the per-sample tensor shape, and records steps."""

    def __init__(self, root, input_shape, func):
        self.root = root
        self.shape = tuple(input_shape) if input_shape is not None else None
        self.input_shape = self.shape
        self.func = func
        self.steps: list[tuple] = []
        self.output_transform: str | None = None
        self.inp = self.out = None         # the fx nodes the current step reads and defines
        self.live: tuple = ()              # the values still needed after the current step
        self.n_steps = 0                   # steps recorded before the current one

    def begin(self, node, inp, shape, live: tuple):
        """Start the step defining ``node`` from ``inp`` (per-sample shape ``shape``)."""
        self.inp, self.out, self.shape, self.live = inp, node, shape, live
        self.n_steps = len(self.steps)

    def end(self) -> tuple[int, ...] | None:
        """Finish the step (an alias of its input if it recorded nothing); its output shape."""
        if len(self.steps) == self.n_steps:
            self.steps.append(("alias", self.out, self.inp))
        return self.shape

    def _record(self, kind: str, *payload):
        self.steps.append((kind, self.out, self.inp, *payload))
        self.inp = self.out                # a further step of the same node reads this one

    def need_shape(self, what: str) -> tuple[int, ...]:
        if self.shape is None:
            raise InvalidInputError(f"An input shape is needed to convert {what} into a dense "
                                    f"affine map ({self.func} got none). Convert the model with "
                                    f"reluthe.nets.from_torch(model, input_shape=(1, 8, 8)) (the "
                                    f"shape of one input) and pass the result.")
        return self.shape

    def act(self, activation: Activation, src: str):
        self._record("act", activation, src, self.live)

    def affine(self, w: np.ndarray, b: np.ndarray, out_shape: tuple[int, ...], src: str):
        self._record("affine", w, b, src)
        self.shape = tuple(int(s) for s in out_shape)

    def reshape(self, new_shape: tuple[int, ...]):
        self.shape = tuple(int(s) for s in new_shape)

    def scale(self, scale: float, shift: float, src: str):
        self._record("scale", scale, shift, src)

    def maxpool(self, call, src: str):
        """Record the max-pool ``call`` (a function of a float64 batch): its windows are read by
        probing it with one raised input per sample, then checked on random inputs."""
        import torch

        shape = self.need_shape(src)
        n = int(np.prod(shape))
        probe = 2.0 * torch.eye(n, dtype=torch.float64) - 1.0
        check = torch.from_numpy(np.random.default_rng(0).standard_normal((3, n)))
        with torch.no_grad():
            try:
                hits, out = (call(t.reshape(-1, *shape)) for t in (probe, check))
            except (RuntimeError, ValueError, IndexError, TypeError) as exc:
                raise InvalidInputError(
                    f"The 'input_shape' parameter of {self.func} does not fit the network: "
                    f"{src} cannot take a sample of shape {shape} (the shape reached from "
                    f"input_shape={self.input_shape}): {exc}.") from exc
        if not isinstance(hits, torch.Tensor) or hits.shape[0] != n or out.shape[0] != 3:
            raise _unsupported(f"{src}, which reduces over the batch or returns indices,",
                               "pool over the dimensions of one sample (dim=1 or -1, not 0), "
                               "without return_indices.")
        windows = [np.flatnonzero(col) for col in (hits.reshape(n, -1) > 0).numpy().T]
        flat = check.numpy()
        expect = np.array([[row[win].max() if win.size else np.nan for win in windows]
                           for row in flat])
        if not np.allclose(expect, out.reshape(3, -1).numpy(), rtol=0, atol=1e-12):
            raise _unsupported(f"{src}, which is not a maximum over fixed windows of the "
                               f"input,", _CHAIN_INSTEAD)
        self._record("maxpool", windows, src, self.live)
        self.shape = tuple(int(s) for s in hits.shape[1:])

    def probe(self, module, src: str):
        """Dense affine map of ``module`` (on a float64 copy in eval mode) at the tracked shape."""
        import torch

        shape = self.need_shape(src)
        n = int(np.prod(shape))
        clone = copy.deepcopy(module).to(dtype=torch.float64).eval()
        basis = torch.cat([torch.zeros(1, n, dtype=torch.float64),
                           torch.eye(n, dtype=torch.float64)]).reshape(n + 1, *shape)
        with torch.no_grad():
            try:
                out = clone(basis)
            except (RuntimeError, ValueError, IndexError) as exc:
                raise InvalidInputError(
                    f"The 'input_shape' parameter of {self.func} does not fit the network: "
                    f"{src} cannot take a sample of shape {shape} (the shape reached from "
                    f"input_shape={self.input_shape}): {exc}. Pass the shape of one input "
                    f"without the batch dimension.") from exc
        out_shape = tuple(out.shape[1:])
        out = out.reshape(n + 1, -1).numpy()
        b = out[0].copy()
        w = (out[1:] - b).T.copy()
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise InvalidInputError(f"The 'net' parameter of {self.func} must have finite "
                                    f"parameters. {src} produced NaN/inf.")
        self.affine(w, b, out_shape, src)


# nets.Activation of every piecewise-linear row of reluthe.activations.TABLE, keyed by name, from
# the row's parameters in order; None: no layer (the identity)
_PL_BUILDERS = {
    "relu": Activation.relu,
    "leaky_relu": Activation.leaky_relu,
    "hardtanh": Activation.hardtanh,
    "relu6": Activation.relu6,
    "identity": None,
}


def _pl_module_row(module) -> table.ActivationSpec | None:
    """The piecewise-linear row whose torch module ``module`` is (the nearest class in its MRO:
    ``ReLU6`` is a ``Hardtanh``)."""
    by_class = {row.torch_module_class(): row for row in _PL_TABLE}
    return next((by_class[c] for c in type(module).__mro__ if c in by_class), None)


def _pl_function_row(target) -> table.ActivationSpec | None:
    """The piecewise-linear row of an fx call target: a torch callable or a tensor method name."""
    import torch

    if isinstance(target, str):
        target = getattr(torch.Tensor, target, None)
    return next((row for row in _PL_TABLE if target in row.torch_callables()), None)


def _pl_step(tracker: _Tracker, row: table.ActivationSpec, values: list, src: str):
    build = _PL_BUILDERS[row.name]
    if build is not None:
        tracker.act(build(*(float(v) for v in values)), src)


def _module_step(tracker: _Tracker, module, name: str):
    from torch import nn

    src = f"{name} ({type(module).__name__})"
    func = tracker.func
    if isinstance(module, nn.Linear):
        w = _tensor_to_numpy(module.weight, f"{src}.weight", func)
        b = (_tensor_to_numpy(module.bias, f"{src}.bias", func) if module.bias is not None
             else np.zeros(w.shape[0]))
        shape = tracker.shape
        if shape is not None and len(shape) > 1:
            tracker.probe(module, src)
            return
        if shape is not None and shape[-1] != w.shape[1]:
            raise InvalidInputError(f"The 'net' parameter of {func}: {src} expects "
                                    f"{w.shape[1]} inputs but receives shape {shape}.")
        tracker.affine(w, b, (w.shape[0],), src)
    elif (row := _pl_module_row(module)) is not None:
        _pl_step(tracker, row, [getattr(module, p.torch) for p in row.params if p.torch], src)
    elif isinstance(module, nn.PReLU):
        slopes = _tensor_to_numpy(module.weight, f"{src}.weight", func)
        if np.unique(slopes).size > 1:
            raise _unsupported(
                f"{src} with per-channel slopes ({np.unique(slopes).size} different values, "
                f"num_parameters={module.num_parameters})",
                "a PLNet layer applies one activation to all its units, so per-channel slopes "
                "cannot be expressed: use nn.PReLU() (num_parameters=1, one shared slope) or "
                "nn.LeakyReLU(negative_slope).")
        tracker.act(Activation.prelu(float(slopes.flat[0])), src)
    elif isinstance(module, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
                             nn.AlphaDropout, nn.FeatureAlphaDropout)):
        return
    elif isinstance(module, nn.Flatten):
        shape = tracker.need_shape(src)
        full = (1, *shape)
        start = module.start_dim % len(full)
        end = module.end_dim % len(full)
        if start == 0:
            raise _unsupported(f"{src} with start_dim=0 (flattens the batch)",
                               "use nn.Flatten() (start_dim=1), which keeps the batch.")
        flat = (*full[:start], int(np.prod(full[start:end + 1])), *full[end + 1:])
        tracker.reshape(flat[1:])
    elif isinstance(module, nn.Unflatten):
        tracker.probe(module, src)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if module.training or not module.track_running_stats or module.running_mean is None:
            raise _unsupported(f"{src} in train mode (or without running statistics): its "
                               f"output depends on the batch, and BatchNorm in that state",
                               "call model.eval() first (reluthe never changes your model's "
                               "mode), with track_running_stats=True.")
        tracker.probe(module, src)
    elif isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)):
        clone = copy.deepcopy(module)
        tracker.maxpool(clone, src)
    elif isinstance(module, (nn.Conv1d, nn.Conv2d, nn.AvgPool1d, nn.AvgPool2d)):
        for pname, param in module.named_parameters():
            _tensor_to_numpy(param, f"{src}.{pname}", func)
        tracker.probe(module, src)
    else:
        raise _unsupported(f"Module {src}", _instead_for(module))


def _const_arg(value, what: str):
    """An argument of a pooling call that must not be a tensor of the forward pass."""
    import torch.fx

    if isinstance(value, torch.fx.Node):
        raise _unsupported(f"{what} with a non-constant argument",
                           "pass Python numbers (kernel_size, stride, dim), not tensors.")
    return value


def _const(value, what: str):
    if isinstance(value, numbers.Real) or value is None:
        return value
    raise _unsupported(f"{what} with a non-constant argument",
                       "pass a Python number (a constant of the model's code), not a tensor.")


@functools.cache
def _scalar_ops() -> dict:
    """fx call targets of the scalar affine operations -> ``"mul"``, ``"div"``, ``"add"``,
    ``"sub"`` or ``"neg"`` (operators, torch functions and tensor method names)."""
    import torch

    ops = {"mul": (operator.mul, torch.mul, torch.multiply),
           "div": (operator.truediv, torch.div, torch.divide, torch.true_divide),
           "add": (operator.add, torch.add), "sub": (operator.sub, torch.sub, torch.subtract),
           "neg": (operator.neg, torch.neg, torch.negative)}
    out = {}
    for op, targets in ops.items():
        out.update(dict.fromkeys(targets, op))
        for method in {t.__name__ for t in targets if hasattr(torch.Tensor, t.__name__)}:
            out.update({method: op, f"{method}_": op})
    return out


def _scalar_affine(node, current, src: str) -> tuple[float, float] | None:
    """``(s, c)`` when ``node`` computes ``s * previous + c`` with constant numbers, None when it
    is not a scalar arithmetic operation."""
    op = _scalar_ops().get(node.target) if node.op in ("call_function", "call_method") else None
    if op is None:
        return None
    if op == "neg":
        return -1.0, 0.0
    args = list(node.args)
    if len(args) < 2 and "other" in node.kwargs:
        args.append(node.kwargs["other"])
    extra = set(node.kwargs) - {"other", "alpha"}
    if len(args) != 2 or extra or not any(a is current for a in args):
        return None
    first = args[0] is current
    value = args[1] if first else args[0]
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or \
            not math.isfinite(value):
        raise _unsupported(f"Operation {src} with a non-constant or non-finite operand",
                           "use a finite Python number as the other operand (x * 2, x + 1); "
                           "products and sums of two tensors are not affine steps.")
    value = float(value) * float(node.kwargs.get("alpha", 1.0))
    if op == "mul":
        return value, 0.0
    if op == "add":
        return 1.0, value
    if op == "sub":
        return (1.0, -value) if first else (-1.0, value)
    if not first or value == 0.0:
        what = "division by zero" if first else "a number divided by the tensor"
        raise _unsupported(f"Operation {src} ({what})",
                           "only division of the tensor by a nonzero number (x / 2) is affine.")
    return 1.0 / value, 0.0


_TRANSFORMS = ("softmax", "log_softmax", "sigmoid")


def _output_transform(graph_module, node) -> tuple[str, object, str] | None:
    """``(name, dim, label)`` when ``node`` is a softmax, log-softmax or sigmoid (module,
    function or method; ``dim`` None for sigmoid; ``label`` the class or function name), else
    None."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    if node.op == "call_module":
        module = graph_module.get_submodule(node.target)
        for cls, name in ((nn.Softmax, "softmax"), (nn.LogSoftmax, "log_softmax"),
                          (nn.Sigmoid, "sigmoid")):
            if type(module) is cls:
                return name, getattr(module, "dim", None), cls.__name__
        return None
    functions = {F.softmax: "softmax", torch.softmax: "softmax", F.log_softmax: "log_softmax",
                 torch.log_softmax: "log_softmax", torch.sigmoid: "sigmoid",
                 F.sigmoid: "sigmoid", torch.special.expit: "sigmoid"}
    if node.op == "call_function" and node.target in functions:
        name = functions[node.target]
    elif node.op == "call_method" and node.target in _TRANSFORMS:
        name = node.target
    else:
        return None
    dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
    return name, (None if name == "sigmoid" else dim), getattr(node.target, "__name__",
                                                               str(node.target))


def _transform_step(tracker: _Tracker, node, name: str, dim, label: str) -> None:
    src = f"{node.name} ({label})"
    last = node.next.op == "output" and node.next.args[0] is node
    if not last:
        raise _unsupported(f"{src} before the last operation of forward",
                           f"{name} is accepted only as the last operation (the output "
                           f"transform); elsewhere it is not piecewise linear: "
                           f"{_NOT_PL_INSTEAD}")
    shape = tracker.shape
    if name != "sigmoid" and (dim not in (None, 1, -1) or (shape is not None and len(shape) != 1)):
        raise _unsupported(f"{src} over dim={dim} of per-input outputs of shape {shape}",
                           f"flatten the output first and apply {name} over the units "
                           f"(dim=1 or -1).")
    tracker.output_transform = name


def _function_step(tracker: _Tracker, target, args, kwargs, name: str):
    import torch
    import torch.nn.functional as F

    src = f"{name} ({getattr(target, '__name__', target)})"
    if (row := _pl_function_row(target)) is not None:
        values = row.torch_call_values(args, kwargs).values()
        _pl_step(tracker, row, [_const(v, src) for v in values], src)
    elif target in (torch.clamp, torch.clip, "clamp", "clip", "clamp_", "clip_"):
        lo = _const(kwargs.get("min", args[1] if len(args) > 1 else None), src)
        hi = _const(kwargs.get("max", args[2] if len(args) > 2 else None), src)
        if lo is None and hi is None:
            return
        tracker.act(Activation.clamp(lo, hi), src)
    elif target in (F.dropout, "dropout", torch.nn.functional.alpha_dropout):
        return
    elif target in (F.max_pool1d, F.max_pool2d, torch.max_pool1d, torch.max_pool2d,
                    torch.amax, "amax"):
        rest = [_const_arg(a, src) for a in args[1:]]
        kw = {k: _const_arg(v, src) for k, v in kwargs.items()}
        fn = target if callable(target) else getattr(torch.Tensor, target)
        tracker.maxpool(lambda t: fn(t, *rest, **kw), src)
    elif target in (torch.flatten, "flatten"):
        start = kwargs.get("start_dim", args[1] if len(args) > 1 else 0)
        end = kwargs.get("end_dim", args[2] if len(args) > 2 else -1)
        shape = tracker.need_shape(src)
        full = (1, *shape)
        start, end = int(start) % len(full), int(end) % len(full)
        if start == 0:
            raise _unsupported(f"{src} with start_dim=0 (flattens the batch)")
        flat = (*full[:start], int(np.prod(full[start:end + 1])), *full[end + 1:])
        tracker.reshape(flat[1:])
    elif target in ("view", "reshape", torch.reshape):
        dims = list(args[1:]) if len(args) > 1 else list(kwargs.get("shape", ()))
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = list(dims[0])
        if not dims:
            raise _unsupported(f"{src} without a shape")
        shape = tracker.need_shape(src)
        rest = []
        for d in dims[1:]:
            if not isinstance(d, numbers.Integral):
                raise _unsupported(f"{src} with a non-constant non-batch dimension")
            rest.append(int(d))
        try:
            new_shape = np.empty((1, *shape)).reshape(1, *rest).shape[1:]
        except ValueError as exc:
            raise InvalidInputError(f"{src} cannot reshape a sample of shape {shape} to "
                                    f"{tuple(rest)}.") from exc
        tracker.reshape(new_shape)
    elif target in ("contiguous", "clone", "float", "double", "detach"):
        return
    else:
        raise _unsupported(f"Operation {src}")


def from_torch(module, input_shape: Sequence[int] | None = None, *,
               func: str = "reluthe.nets.from_torch") -> PLNet:
    """Convert a torch module into a :class:`PLNet` (float64) without changing it.

    The forward pass is traced with ``torch.fx.symbolic_trace``; if tracing fails (data-dependent
    control flow, ...) an :class:`~reluthe.errors.UnsupportedNetworkError` explains why. The
    module is converted in the mode the caller left it in and is left as it was, error or not
    (:func:`reluthe._untouched.untouched`).

    Parameters
    ----------
    module : torch.nn.Module
        The network, e.g. an ``nn.Sequential`` or the article's ``MyModel``.
    input_shape : sequence of int, optional
        Per-sample input shape; inferred from the first ``Linear`` when omitted.
    func : str
        Name used in error messages.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> import torch.nn.functional as F
    >>> class MyModel(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1, self.fc2, self.fc3 = nn.Linear(4, 6), nn.Linear(6, 5), nn.Linear(5, 2)
    ...     def forward(self, x):
    ...         return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
    >>> net = from_torch(MyModel())
    >>> net.widths, net.input_dim, net.output_dim
    ((6, 5), 4, 2)
    """
    import torch
    import torch.fx

    if not isinstance(module, torch.nn.Module):
        raise InvalidInputError(f"The 'module' parameter of {func} must be a torch.nn.Module. "
                                f"Got {_fmt(module)} instead.")
    if input_shape is not None:
        if (not isinstance(input_shape, (tuple, list)) or not input_shape
                or not all(isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_))
                           and s > 0 for s in input_shape)):
            raise InvalidInputError(f"The 'input_shape' parameter of {func} must be a non-empty "
                                    f"tuple of positive ints (without the batch dimension). Got "
                                    f"{_fmt(input_shape)} instead.")
        input_shape = tuple(int(s) for s in input_shape)
    _check_tensors(module, func)
    from reluthe._untouched import untouched

    with untouched(module):
        try:
            graph_module = torch.fx.symbolic_trace(module)
        except Exception as exc:  # noqa: BLE001 - any tracing failure is reported the same way
            raise UnsupportedNetworkError(
                f"Could not trace {type(module).__name__}.forward with torch.fx "
                f"({type(exc).__name__}: {exc}). reluthe needs a forward pass that is a fixed "
                f"chain of operations. Supported {SUPPORTED}.") from exc
        tracker = _Tracker(module, input_shape, func)
        start, result = _walk_graph(graph_module, tracker)
    if tracker.steps and input_shape is None:
        first = next((s for s in tracker.steps if s[0] == "affine"), None)
        if first is None:
            raise InvalidInputError(f"The 'input_shape' parameter of {func} is needed: the "
                                    f"network has no Linear layer to infer it from.")
    in_dim = _input_dim(tracker, input_shape)
    return _assemble(tracker.steps, start, result, in_dim, input_shape or (in_dim,),
                     tracker.output_transform)


def _check_tensors(module, func: str):
    """Refuse parameters and buffers without values (``meta``) or of a complex dtype before
    anything touches them."""
    import itertools

    for name, t in itertools.chain(module.named_parameters(), module.named_buffers()):
        if t.device.type == "meta":
            raise InvalidInputError(f"The 'module' parameter of {func} must have parameters "
                                    f"and buffers with values. {name} is on the 'meta' device "
                                    f"(no data); load the weights first (e.g. "
                                    f"module.to_empty(device='cpu') and a state dict).")
        if t.is_complex():
            raise InvalidInputError(f"The 'module' parameter of {func} must have real "
                                    f"parameters (a float dtype). {name} has dtype {t.dtype}.")


def _input_dim(tracker: _Tracker, input_shape) -> int:
    if input_shape is not None:
        return int(np.prod(input_shape))
    for step in tracker.steps:
        if step[0] == "affine":
            return int(step[3].shape[1])
    raise InvalidInputError("The 'input_shape' parameter is needed: the network has no affine "
                            "layer to infer the input dimension from.")


def _tensor_inputs(node, size_nodes: set) -> list:
    """The tensor nodes ``node`` reads (arguments and keyword arguments, sizes excluded)."""
    import torch.fx

    found = [a for a in (*node.args, *node.kwargs.values()) if isinstance(a, torch.fx.Node)]
    return [a for a in found if a not in size_nodes]


def _sum_of_two(node, inputs: list, shapes: dict, src: str) -> tuple | None:
    """``(a, b, alpha)`` when ``node`` computes the tensor sum ``a + alpha b`` of two values
    (``x + f(x)``, ``x - f(x)``, ``torch.add(x, y, alpha=2)``), else None."""
    op = _scalar_ops().get(node.target) if node.op in ("call_function", "call_method") else None
    if op not in ("add", "sub") or len(inputs) != 2 or list(node.args[:2]) != inputs:
        return None
    if set(node.kwargs) - {"alpha"} or not isinstance(node.kwargs.get("alpha", 1), numbers.Real):
        return None
    a, b = inputs
    if None not in (shapes[a], shapes[b]) and shapes[a] != shapes[b]:
        raise _unsupported(f"Operation {src} of tensors of per-sample shapes {shapes[a]} and "
                           f"{shapes[b]} (broadcasting)", _SUM_INSTEAD)
    alpha = float(node.kwargs.get("alpha", 1))
    return a, b, (alpha if op == "add" else -alpha)


def _live(order: list, visited: set, node) -> tuple:
    """The values computed so far (``order``) that a node not yet visited, other than
    ``node``, still reads: the values a layer made at ``node`` must carry."""
    return tuple(m for m in order
                 if any(u is not node and u not in visited for u in m.users))


def _walk_graph(graph_module, tracker: _Tracker):
    """Record the steps of the traced graph in ``tracker``; return the input and output
    nodes. Each operation reads one value (or two, for a sum); values read again later (skip
    connections) are carried through the layers made in between."""
    start = None
    shapes: dict = {}                  # per-sample shape of every tensor value (None: unknown)
    order: list = []                   # the tensor values, in graph order
    visited: set = set()
    size_nodes: set = set()
    for node in graph_module.graph.nodes:
        visited.add(node)
        if node.op == "placeholder":
            if start is not None:
                raise _unsupported(f"A forward with more than one input ({node.name})",
                                   "give forward one tensor input (concatenate inputs "
                                   "beforehand).")
            start = node
            shapes[node] = tracker.shape
            order.append(node)
            continue
        if node.op == "output":
            result = node.args[0]
            if result not in shapes:
                raise _unsupported("A forward whose output is not one tensor (tuple outputs)",
                                   "return one tensor, the result of the last operation.")
            unused = [m.name for m in order if not m.users]
            if unused:
                raise _unsupported(f"A forward that computes values it does not use "
                                   f"({', '.join(unused)})", _CHAIN_INSTEAD)
            return start, result
        if node.op == "get_attr":
            raise _unsupported(f"A forward that uses a parameter or buffer directly "
                               f"({node.target})",
                               "wrap it in a module (nn.Linear, nn.PReLU, ...) and call that "
                               "module in forward.")
        raw = _tensor_inputs(node, set())
        if raw and (raw[0] in shapes and (node.op == "call_method" and node.target in (
                "size", "dim") or node.op == "call_function" and node.target is getattr)
                or raw[0] in size_nodes and node.op == "call_function"
                and node.target is operator.getitem):
            size_nodes.add(node)
            continue
        inputs = [a for a in raw if a not in size_nodes]
        src = f"{node.name} ({getattr(node.target, '__name__', node.target)})"
        if any(a not in shapes for a in inputs):
            raise _unsupported(f"Operation {src}, which reads a value that is not a tensor "
                               f"of the forward pass,", _CHAIN_INSTEAD)
        live = _live(order, visited, node)
        if (pair := _sum_of_two(node, inputs, shapes, src)) is not None:
            a, b, alpha = pair
            tracker.steps.append(("sum", node, a, b, alpha, src))
            shapes[node] = shapes[a] if shapes[a] is not None else shapes[b]
            order.append(node)
            continue
        scalar = _scalar_affine(node, inputs[0], src) if len(inputs) == 1 else None
        if len(inputs) != 1 or (scalar is None and node.args and node.args[0] is not inputs[0]):
            raise _unsupported(f"Operation {src}, which neither takes one tensor as its "
                               f"first input nor adds or subtracts two tensors,",
                               _CHAIN_INSTEAD)
        tracker.begin(node, inputs[0], shapes[inputs[0]], live)
        transform = _output_transform(graph_module, node)
        if scalar is not None:
            tracker.scale(*scalar, src)
        elif transform is not None:
            _transform_step(tracker, node, *transform)
        elif node.op == "call_module":
            _module_step(tracker, graph_module.get_submodule(node.target), node.target)
        elif node.op in ("call_function", "call_method"):
            _function_step(tracker, node.target, node.args, node.kwargs, node.name)
        else:  # pragma: no cover - fx has no other node kinds
            raise _unsupported(f"fx node kind {node.op}")
        shapes[node] = tracker.end()
        order.append(node)
    raise _unsupported("A traced graph without output")  # pragma: no cover
