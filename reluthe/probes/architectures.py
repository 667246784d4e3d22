"""Pieces for probing architectures beyond MLPs: sequence tasks, GAN mode coverage, PCA baseline.

* :func:`adding_problem` — the adding problem of Hochreiter & Schmidhuber (1997) as used by
  Le, Jaitly & Hinton (2015, §4.1) for ReLU RNNs: a sequence of (value, marker) pairs, two
  markers, the target is the sum of the two marked values.
* :func:`rnn_divergence` — which runs of a recurrent model diverged: non-finite loss, an
  exploding hidden state, or a loss far above that of the trivial predictor.
* :func:`mode_coverage` — for samples of a generator against the known modes of a 2-D Gaussian
  mixture: the share of high-quality samples (within ``n_sigma`` standard deviations of some
  mode) and the number of modes holding at least ``min_share`` of all samples that way
  (Metz et al. 2017, Unrolled GANs; Srivastava et al. 2017, VEEGAN).
* :func:`pca_reconstruction_error` — closed-form PCA (numpy SVD) reconstruction error on held
  out data: what a linear autoencoder with the same bottleneck can at best reach
  (Baldi & Hornik 1989).

Examples
--------
>>> x, y = adding_problem(3, 10, seed=0)
>>> tuple(x.shape), tuple(y.shape)
((3, 10, 2), (3, 1))
>>> bool(((x[..., 0] * x[..., 1]).sum(1, keepdim=True) == y).all())
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from reluthe._validate import (
    check_finite_array,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from reluthe.errors import InvalidInputError

__all__ = ["adding_problem", "rnn_divergence", "ModeCoverage", "mode_coverage", "ring_centers",
           "pca_reconstruction_error"]


def adding_problem(n: int, length: int, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences of the adding problem and their targets.

    Each of the ``n`` sequences has ``length`` steps of two inputs: a value drawn from U(0, 1)
    and a marker that is 1 at exactly two steps (one drawn uniformly from the first half
    ``[0, length // 2)``, one from the second half ``[length // 2, length)``) and 0 elsewhere.
    The target is the sum of the two marked values; predicting the constant 1 gives a mean
    squared error of 1/6 (two independent U(0, 1) variances of 1/12).

    Parameters
    ----------
    n : int
        Number of sequences (>= 1).
    length : int
        Sequence length (>= 2).
    seed : int
        Seeds a private ``torch.Generator``; the global RNG is untouched.

    Returns
    -------
    x : Tensor (n, length, 2), float32
        ``x[..., 0]`` the values, ``x[..., 1]`` the markers.
    y : Tensor (n, 1), float32

    Examples
    --------
    >>> x, y = adding_problem(4, 6, seed=1)
    >>> x[..., 1].sum(1).tolist()
    [2.0, 2.0, 2.0, 2.0]
    """
    n = check_positive_int(n, param="n", func="adding_problem")
    length = check_positive_int(length, param="length", func="adding_problem", minimum=2)
    seed = check_seed(seed, func="adding_problem")
    gen = torch.Generator().manual_seed(seed)
    values = torch.rand(n, length, generator=gen)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=gen)
    second = torch.randint(half, length, (n,), generator=gen)
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)
    return torch.stack([values, markers], -1), y


def rnn_divergence(loss, hidden_max, *, trivial_loss: float, h_limit: float = 1e3,
                   loss_factor: float = 10.0) -> np.ndarray:
    """Which runs diverged: non-finite loss, exploding hidden state or exploding loss.

    A run counts as diverged when its loss is NaN/inf, when the largest absolute hidden-state
    entry seen (``hidden_max``) exceeds ``h_limit`` or is non-finite, or when its loss exceeds
    ``loss_factor`` times the loss of the trivial predictor (a constant output).

    Parameters
    ----------
    loss, hidden_max : array-like (K,)
        Per-run loss on evaluation data and max |h_t| over time, batch and units.
    trivial_loss : float
        Loss of the best constant predictor (e.g. the target variance for MSE, ln C for
        cross-entropy over C balanced classes).
    h_limit, loss_factor : float
        Thresholds (conventions, recorded by callers).

    Returns
    -------
    np.ndarray of bool, shape (K,)

    Examples
    --------
    >>> rnn_divergence([0.1, float("nan"), 5.0, 0.1], [2.0, 1.0, 1.0, 1e5], trivial_loss=0.2)
    array([False,  True,  True,  True])
    """
    func = "rnn_divergence"
    trivial_loss = check_positive_float(trivial_loss, param="trivial_loss", func=func)
    h_limit = check_positive_float(h_limit, param="h_limit", func=func)
    loss_factor = check_positive_float(loss_factor, param="loss_factor", func=func)
    loss = np.asarray(loss, dtype=np.float64).ravel()
    hmax = np.asarray(hidden_max, dtype=np.float64).ravel()
    if loss.shape != hmax.shape:
        raise InvalidInputError(f"The 'loss' and 'hidden_max' parameters of {func} must have the "
                                f"same length. Got {loss.size} and {hmax.size} instead.")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(loss) | ~np.isfinite(hmax)
        return bad | (hmax > h_limit) | (loss > loss_factor * trivial_loss)


@dataclass(frozen=True)
class ModeCoverage:
    """Mode coverage of generated 2-D samples.

    Attributes
    ----------
    counts : tuple of int
        Samples within ``n_sigma · std`` of each mode.
    high_quality : float
        Share of all samples within ``n_sigma · std`` of some mode.
    modes_covered : int
        Modes holding at least ``min_share`` of all samples within the radius.
    n_samples, n_sigma, std, min_share : the sample size and the conventions used.
    finite : bool
        False when some sample was NaN/inf (such samples count as low quality).
    """

    counts: tuple[int, ...]
    high_quality: float
    modes_covered: int
    n_samples: int
    n_sigma: float
    std: float
    min_share: float
    finite: bool

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        d = asdict(self)
        d["counts"] = list(self.counts)
        return d


def ring_centers(k: int = 8, radius: float = 2.0) -> np.ndarray:
    """Centres (k, 2) of ``k`` modes evenly spaced on a circle, as in
    ``reluthe.data.load("gaussian_mixture")``.

    Examples
    --------
    >>> ring_centers(4, 1.0).round(6).tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [-0.0, -1.0]]
    """
    k = check_positive_int(k, param="k", func="ring_centers")
    radius = check_positive_float(radius, param="radius", func="ring_centers")
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], 1)


def mode_coverage(samples, centers, std: float, *, n_sigma: float = 3.0,
                  min_share: float | None = None) -> ModeCoverage:
    """Share of high-quality samples and number of covered modes of a 2-D mixture.

    A sample is *high quality* when it lies within ``n_sigma · std`` of its nearest centre
    (Euclidean distance). A mode is *covered* when at least ``min_share`` of all samples are
    high-quality samples of that mode; the default ``min_share`` is a quarter of the fair share,
    ``1 / (4 k)`` for ``k`` modes.

    Parameters
    ----------
    samples : array-like (n, d)
        Generated samples; NaN/inf rows count as low quality.
    centers : array-like (k, d)
        The true mode centres.
    std : float
        The modes' standard deviation.
    n_sigma : float
        Radius of a mode in standard deviations (3 by convention).
    min_share : float, optional
        Share of all samples a mode must hold to count as covered.

    Returns
    -------
    ModeCoverage

    Examples
    --------
    >>> c = ring_centers(8, 2.0)
    >>> r = mode_coverage(np.repeat(c[:3], 10, axis=0), c, std=0.02)
    >>> r.modes_covered, r.high_quality
    (3, 1.0)
    """
    func = "mode_coverage"
    centers = check_finite_array(centers, param="centers", func=func, ndim=2)
    if hasattr(samples, "detach"):
        samples = samples.detach().cpu().numpy()
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != centers.shape[1] or len(x) == 0:
        raise InvalidInputError(f"The 'samples' parameter of {func} must have shape (n >= 1, "
                                f"{centers.shape[1]}). Got shape {x.shape} instead.")
    std = check_positive_float(std, param="std", func=func)
    n_sigma = check_positive_float(n_sigma, param="n_sigma", func=func)
    k = len(centers)
    if min_share is None:
        min_share = 1.0 / (4 * k)
    min_share = check_positive_float(min_share, param="min_share", func=func)
    finite = np.isfinite(x).all(1)
    d2 = ((np.where(finite[:, None], x, 0.0)[:, None, :] - centers[None]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    good = finite & (d2[np.arange(len(x)), nearest] <= (n_sigma * std) ** 2)
    counts = np.bincount(nearest[good], minlength=k)
    return ModeCoverage(tuple(int(c) for c in counts), float(good.mean()),
                        int((counts >= min_share * len(x)).sum()), len(x), n_sigma, std,
                        float(min_share), bool(finite.all()))


def pca_reconstruction_error(x_train, x_test, n_components: int) -> float:
    """Mean squared test reconstruction error of PCA fitted on ``x_train`` (closed form).

    The principal subspace is spanned by the top ``n_components`` right singular vectors of the
    centred training matrix (float64 SVD); test points are centred with the training mean,
    projected and mapped back. The error is averaged over test points and features, the same
    normalisation as ``torch.nn.functional.mse_loss``. By Eckart–Young no rank-``n_components``
    affine map fits the training data better, so a linear autoencoder with that bottleneck
    approaches this error (Baldi & Hornik 1989).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((200, 2)) @ np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]])
    >>> pca_reconstruction_error(x[:150], x[150:], 2) < 1e-20
    True
    """
    func = "pca_reconstruction_error"
    xtr = check_finite_array(x_train, param="x_train", func=func, ndim=2)
    xte = check_finite_array(x_test, param="x_test", func=func, ndim=2)
    if xtr.shape[1] != xte.shape[1]:
        raise InvalidInputError(f"The 'x_test' parameter of {func} must have {xtr.shape[1]} "
                                f"features like x_train. Got {xte.shape[1]} instead.")
    q = check_positive_int(n_components, param="n_components", func=func)
    if q > min(xtr.shape):
        raise InvalidInputError(f"The 'n_components' parameter of {func} must be <= "
                                f"min(x_train.shape) = {min(xtr.shape)}. Got {q} instead.")
    mean = xtr.mean(0)
    _, _, vt = np.linalg.svd(xtr - mean, full_matrices=False)
    basis = vt[:q]
    centred = xte - mean
    recon = centred @ basis.T @ basis
    return float(((centred - recon) ** 2).mean())
