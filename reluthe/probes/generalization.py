"""Generalization probes: linear probes of hidden features, gaps, ensembles, region density.

* :func:`linear_probe`: how linearly decodable the labels are from a layer's features, measured
  by a closed-form ridge classifier (the estimator of ``sklearn.linear_model.RidgeClassifier``:
  targets in {-1, +1}, centred features, unpenalised intercept, prediction by argmax), fitted on
  training features and scored on held-out features. Deterministic, so it needs no seed, and
  batched over stacked models (features ``(K, N, h)``). Cf. Alain & Bengio 2016, "Understanding
  intermediate layers using linear classifier probes".
* :func:`generalization_gap`: final train minus test accuracy (classification) or test minus
  train loss (regression) of every member of a :class:`reluthe.train.TrainResult`.
* :func:`ensemble_accuracy`: accuracy of the average of members' softmax outputs.
* :func:`region_density`: activation-region boundaries crossed per unit length along segments,
  counted exactly with :func:`reluthe.regions.count_on_line`; :func:`chord_segments` and
  :func:`random_segments` build the segments (between data points, or from random points in
  random directions with matched lengths); :func:`rotated_segments` turns segments about the
  origin at random (same lengths and distances to the origin, off the data), and
  :func:`segment_crossings` splits the exact counts by hidden layer (Hanin & Rolnick 2019's
  boundaries per unit length per neuron). Cf. Novak et al. 2018, "Sensitivity and
  generalization in neural networks" (transition density along trajectories through data) and
  Humayun, Balestriero & Baraniuk 2024, "Deep networks always grok" (regions migrate away from
  the training points late in training).

Examples
--------
>>> import torch
>>> f_train = torch.tensor([[0.0], [1.0], [4.0], [5.0]])
>>> r = linear_probe(f_train, torch.tensor([0, 0, 1, 1]), torch.tensor([[0.5], [4.5]]),
...                  torch.tensor([0, 1]))
>>> float(r.train_acc), float(r.test_acc)
(1.0, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from reluthe._validate import (
    check_finite_array,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from reluthe.errors import InvalidInputError

__all__ = ["ProbeResult", "linear_probe", "generalization_gap", "ensemble_accuracy",
           "chord_segments", "random_segments", "rotated_segments", "SegmentCrossings",
           "segment_crossings", "region_density"]


@dataclass(frozen=True)
class ProbeResult:
    """Accuracies of a linear probe; arrays have the leading (model) shape of the features.

    Attributes
    ----------
    train_acc, test_acc : np.ndarray
    alpha : float
        The ridge penalty used.
    """

    train_acc: np.ndarray
    test_acc: np.ndarray
    alpha: float

    def to_dict(self) -> dict:
        """JSON-ready table: one row per model (``member``: its index in the leading shape, a
        tuple; ``()`` for a single model), so ``pandas.DataFrame(result.to_dict())`` is the
        table; ``alpha`` is a scalar.

        Examples
        --------
        >>> import numpy as np
        >>> ProbeResult(np.array([0.5, 1.0]), np.array([0.25, 0.75]), 1.0).to_dict()
        {'member': [(0,), (1,)], 'train_acc': [0.5, 1.0], 'test_acc': [0.25, 0.75], 'alpha': 1.0}
        """
        train, test = np.asarray(self.train_acc), np.asarray(self.test_acc)
        return {"member": list(np.ndindex(train.shape)),
                "train_acc": [float(v) for v in train.ravel()],
                "test_acc": [float(v) for v in test.ravel()], "alpha": self.alpha}


def _features(f, name: str, func: str) -> torch.Tensor:
    if not isinstance(f, torch.Tensor) or f.dim() < 2:
        raise InvalidInputError(f"The {name!r} parameter of {func} must be a torch.Tensor of shape "
                                f"(..., N, features). Got {type(f).__name__} of shape "
                                f"{tuple(getattr(f, 'shape', ()))} instead.")
    if not torch.isfinite(f).all():
        raise InvalidInputError(f"The {name!r} parameter of {func} must be finite; got NaN/inf.")
    return f.double()


def _labels(y, n: int, name: str, func: str) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or len(y) != n or y.is_floating_point():
        raise InvalidInputError(f"The {name!r} parameter of {func} must be an integer tensor of "
                                f"shape ({n},). Got {type(y).__name__} of shape "
                                f"{tuple(getattr(y, 'shape', ()))} instead.")
    if n and int(y.min()) < 0:
        raise InvalidInputError(f"The {name!r} parameter of {func} must hold class indices >= 0.")
    return y.long()


def linear_probe(train_features: torch.Tensor, y_train: torch.Tensor,
                 test_features: torch.Tensor, y_test: torch.Tensor, *, alpha: float = 1.0,
                 n_classes: int | None = None) -> ProbeResult:
    """Train/test accuracy of a ridge classifier fitted on frozen features.

    Solves ``min_W ||Xc W - Y||^2 + alpha ||W||^2`` in float64 with ``Xc`` the centred training
    features and ``Y`` the labels coded in {-1, +1}; the intercept is the centring term (not
    penalised). This is exactly ``sklearn.linear_model.RidgeClassifier(alpha=alpha)``.

    Parameters
    ----------
    train_features, test_features : torch.Tensor
        Shapes ``(..., N_train, h)`` and ``(..., N_test, h)`` with the same leading shape (one
        probe per leading index, e.g. per stacked model).
    y_train, y_test : torch.Tensor
        Integer class labels, shapes ``(N_train,)`` and ``(N_test,)``.
    alpha : float
        Ridge penalty (> 0).
    n_classes : int, optional
        Number of classes (default: ``max label + 1``).

    Returns
    -------
    ProbeResult

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[[0.0, 1.0], [1.0, 0.0], [0.0, 1.2], [1.1, 0.0]]])   # 1 model
    >>> y = torch.tensor([0, 1, 0, 1])
    >>> linear_probe(x, y, x, y).test_acc.tolist()
    [1.0]
    """
    func = "linear_probe"
    xtr = _features(train_features, "train_features", func)
    xte = _features(test_features, "test_features", func)
    if xtr.shape[:-2] != xte.shape[:-2] or xtr.shape[-1] != xte.shape[-1]:
        raise InvalidInputError(f"The 'train_features' and 'test_features' parameters of {func} "
                                f"must share leading and feature dimensions. Got "
                                f"{tuple(xtr.shape)} and {tuple(xte.shape)} instead.")
    ytr = _labels(y_train, xtr.shape[-2], "y_train", func)
    yte = _labels(y_test, xte.shape[-2], "y_test", func)
    alpha = check_positive_float(alpha, param="alpha", func=func)
    k = int(max(int(ytr.max()), int(yte.max())) + 1) if n_classes is None else (
        check_positive_int(n_classes, param="n_classes", func=func, minimum=2))
    targets = -torch.ones(len(ytr), k, dtype=torch.float64)
    targets[torch.arange(len(ytr)), ytr] = 1.0
    mean_x = xtr.mean(-2, keepdim=True)
    xc = xtr - mean_x
    h = xtr.shape[-1]
    gram = xc.transpose(-1, -2) @ xc + alpha * torch.eye(h, dtype=torch.float64)
    coef = torch.linalg.solve(gram, xc.transpose(-1, -2) @ (targets - targets.mean(0)))
    intercept = targets.mean(0) - (mean_x @ coef).squeeze(-2)

    def acc(x, y):
        scores = x @ coef + intercept[..., None, :]
        return (scores.argmax(-1) == y).double().mean(-1).numpy()

    return ProbeResult(acc(xtr, ytr), acc(xte, yte), alpha)


def generalization_gap(result) -> np.ndarray:
    """Final generalization gap of every member of a :class:`reluthe.train.TrainResult`.

    Classification: train accuracy minus test accuracy (positive: the model does better on the
    data it was trained on). Regression: test loss minus train loss.

    Examples
    --------
    >>> from reluthe import data
    >>> from reluthe.train import Recipe, train_mlps
    >>> r = train_mlps(data.load("digits"), [64, 16, 10], seeds=[0, 1],
    ...                recipes=Recipe(steps=30, eval_every=30))
    >>> generalization_gap(r).shape
    (2,)
    """
    for name in ("train_acc", "test_acc", "train_loss", "test_loss"):
        if not hasattr(result, name):
            raise InvalidInputError(f"The 'result' parameter of generalization_gap must be a "
                                    f"reluthe.train.TrainResult. Got {type(result).__name__}.")
    if np.isnan(result.test_acc[:, -1]).all():
        return np.asarray(result.test_loss[:, -1] - result.train_loss[:, -1], dtype=np.float64)
    return np.asarray(result.train_acc[:, -1] - result.test_acc[:, -1], dtype=np.float64)


def ensemble_accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of the ensemble that averages the members' softmax probabilities.

    Parameters
    ----------
    logits : torch.Tensor
        Shape ``(K, N, classes)``: K members' outputs on the same N inputs.
    y : torch.Tensor
        Integer labels ``(N,)``.

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[[2.0, 0.0], [0.0, 1.0]], [[0.0, 5.0], [0.0, 3.0]]])
    >>> ensemble_accuracy(logits, torch.tensor([1, 1]))
    1.0
    """
    func = "ensemble_accuracy"
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3:
        raise InvalidInputError(f"The 'logits' parameter of {func} must be a tensor of shape "
                                f"(K, N, classes). Got {tuple(getattr(logits, 'shape', ()))}.")
    y = _labels(y, logits.shape[1], "y", func)
    probs = torch.softmax(logits.double(), -1).mean(0)
    return float((probs.argmax(-1) == y).double().mean())


def chord_segments(x, n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` segments between random pairs of distinct rows of ``x`` (start, end arrays).

    Examples
    --------
    >>> s, e = chord_segments(np.eye(4), 3, seed=0)
    >>> s.shape, bool((s != e).any(1).all())
    ((3, 4), True)
    """
    func = "chord_segments"
    x = check_finite_array(x, param="x", func=func, ndim=2)
    n = check_positive_int(n, param="n", func=func)
    rng = np.random.default_rng(check_seed(seed, func=func))
    if len(x) < 2:
        raise InvalidInputError(f"The 'x' parameter of {func} needs at least 2 rows. Got "
                                f"{len(x)}.")
    i = rng.integers(0, len(x), size=n)
    j = (i + rng.integers(1, len(x), size=n)) % len(x)  # j != i
    return x[i], x[j]


def random_segments(x, lengths, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Segments from random points in uniformly random directions, of the given ``lengths``.

    The start points are drawn from a Gaussian with the per-feature mean and standard deviation
    of ``x`` (same location and scale as the data, none of its structure).

    Examples
    --------
    >>> s, e = random_segments(np.random.default_rng(0).normal(size=(50, 3)), [1.0, 2.0], seed=0)
    >>> np.linalg.norm(e - s, axis=1).round(6).tolist()
    [1.0, 2.0]
    """
    func = "random_segments"
    x = check_finite_array(x, param="x", func=func, ndim=2)
    lengths = check_finite_array(lengths, param="lengths", func=func, ndim=1)
    if (lengths <= 0).any():
        raise InvalidInputError(f"The 'lengths' parameter of {func} must be > 0.")
    rng = np.random.default_rng(check_seed(seed, func=func))
    starts = x.mean(0) + x.std(0) * rng.standard_normal((len(lengths), x.shape[1]))
    d = rng.standard_normal((len(lengths), x.shape[1]))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return starts, starts + lengths[:, None] * d


def _segment_ends(starts, ends, func: str) -> tuple[np.ndarray, np.ndarray]:
    """``starts`` and ``ends`` as finite float arrays of one shape ``(n, d)``, else a named
    error."""
    starts = check_finite_array(starts, param="starts", func=func, ndim=2)
    ends = check_finite_array(ends, param="ends", func=func, ndim=2)
    if starts.shape != ends.shape:
        raise InvalidInputError(f"The 'starts' and 'ends' parameters of {func} must have the same "
                                f"shape. Got {starts.shape} and {ends.shape} instead.")
    return starts, ends


def rotated_segments(starts, ends, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each segment turned about the origin by its own uniformly random rotation.

    Segment ``i`` is mapped to ``(Q_i a_i, Q_i b_i)`` with ``Q_i`` a Haar-random orthogonal
    matrix (QR of a Gaussian matrix, signs fixed by ``diag(R)``; Mezzadri 2007). A rotation
    keeps the length, both end points' norms and the angle between them, hence the distance to
    the origin of every point of the segment: the geometry a network with an isotropic
    first-layer init sees, without the segment's relation to the data (the geometry-matched
    control of claim C13).

    Examples
    --------
    >>> a, b = np.random.default_rng(0).normal(size=(2, 5, 4))
    >>> ra, rb = rotated_segments(a, b, seed=1)
    >>> bool(np.allclose(np.linalg.norm(ra, axis=1), np.linalg.norm(a, axis=1)))
    True
    >>> bool(np.allclose(np.einsum("ij,ij->i", ra, rb), np.einsum("ij,ij->i", a, b)))
    True
    """
    func = "rotated_segments"
    starts, ends = _segment_ends(starts, ends, func)
    rng = np.random.default_rng(check_seed(seed, func=func))
    d = starts.shape[1]
    out_s, out_e = np.empty_like(starts), np.empty_like(ends)
    for i in range(len(starts)):
        q, r = np.linalg.qr(rng.standard_normal((d, d)))
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
        out_s[i], out_e[i] = q @ starts[i], q @ ends[i]
    return out_s, out_e


@dataclass(frozen=True)
class SegmentCrossings:
    """Activation-region boundaries crossed by segments, in total and per hidden layer.

    Attributes
    ----------
    lengths : np.ndarray, shape (n,)
        Euclidean length of every segment.
    boundaries : np.ndarray of int, shape (n,)
        Boundaries crossed (activation regions on the segment minus 1).
    layer_boundaries : np.ndarray of int, shape (n, n_layers)
        Boundaries at which units of each hidden layer change state (a boundary where units of
        several layers flip together counts once in each of them).
    widths : tuple of int
        Widths of the hidden layers.
    """

    lengths: np.ndarray
    boundaries: np.ndarray
    layer_boundaries: np.ndarray
    widths: tuple[int, ...]

    @property
    def density(self) -> np.ndarray:
        """Boundaries per unit length of every segment, shape (n,)."""
        return self.boundaries / self.lengths

    @property
    def density_per_neuron(self) -> np.ndarray:
        """Hanin & Rolnick's density: layer-l boundaries per unit length per neuron of layer l,
        shape (n, n_layers)."""
        return self.layer_boundaries / self.lengths[:, None] / np.asarray(self.widths)[None]


def segment_crossings(net, starts, ends) -> SegmentCrossings:
    """Exact region boundaries crossed by each segment, in total and per hidden layer.

    Every segment is cut by :func:`reluthe.regions.count_on_line` (exact in float64); the
    hidden layers whose units change state between consecutive regions give the per-layer
    counts. Cf. Hanin & Rolnick 2019, "Complexity of linear regions in deep networks": at
    initialisation the number of boundaries per unit length grows like the number of neurons,
    so boundaries per unit length per neuron is comparable across widths and depths.

    Parameters
    ----------
    net : torch.nn.Module or list of (W, b)
        A piecewise-linear network accepted by :mod:`reluthe.regions`.
    starts, ends : array-like, shape (n, input_dim)

    Returns
    -------
    SegmentCrossings

    Examples
    --------
    >>> net = [(np.array([[1.0], [1.0]]), np.array([0.0, -1.0])), (np.ones((1, 2)), np.zeros(1))]
    >>> c = segment_crossings(net, [[-1.0]], [[3.0]])     # kinks at 0 and 1
    >>> c.boundaries.tolist(), c.layer_boundaries.tolist(), c.density_per_neuron.tolist()
    ([2], [[2]], [[0.25]])
    """
    from reluthe import regions
    from reluthe.nets import as_plnet

    func = "segment_crossings"
    starts, ends = _segment_ends(starts, ends, func)
    pl = as_plnet(net, func=func)
    widths = tuple(width for width, _ in pl.pattern_layout)     # max-pools: one part each
    edges = np.cumsum((0, *widths))
    lengths = np.linalg.norm(ends - starts, axis=1)
    boundaries = np.empty(len(starts), dtype=np.int64)
    layers = np.empty((len(starts), len(widths)), dtype=np.int64)
    for i, (a, b) in enumerate(zip(starts, ends)):
        res = regions.count_on_line(pl, a, b)
        flips = np.diff(np.asarray(res.patterns), axis=0) != 0  # (count - 1, n_units)
        boundaries[i] = res.count - 1
        layers[i] = [flips[:, lo:hi].any(1).sum() for lo, hi in zip(edges[:-1], edges[1:])]
    return SegmentCrossings(lengths, boundaries, layers, widths)


def region_density(net, starts, ends) -> np.ndarray:
    """Activation-region boundaries crossed per unit length along each segment.

    For segment ``i`` this is ``(count_i - 1) / |end_i - start_i|`` with ``count_i`` the number
    of activation regions (:func:`reluthe.regions.count_on_line`, exact in float64) that the
    segment crosses (:attr:`SegmentCrossings.density` of :func:`segment_crossings`).

    Parameters
    ----------
    net : torch.nn.Module or list of (W, b)
        A piecewise-linear network accepted by :mod:`reluthe.regions`.
    starts, ends : array-like, shape (n, input_dim)

    Returns
    -------
    np.ndarray, shape (n,)

    Examples
    --------
    >>> net = [(np.array([[1.0], [1.0]]), np.array([0.0, -1.0])), (np.ones((1, 2)), np.zeros(1))]
    >>> region_density(net, [[-1.0]], [[3.0]]).tolist()      # kinks at 0 and 1: 2 per 4 units
    [0.5]
    """
    return segment_crossings(net, starts, ends).density
