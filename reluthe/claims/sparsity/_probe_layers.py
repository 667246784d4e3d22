"""Per-layer reads of a trained arm for claims C03 and C08, and their seed-clustered estimates.

* :func:`layer_probes`: a linear probe (closed-form ridge classifier,
  :func:`reluthe.probes.generalization.linear_probe`) on every hidden layer of every member at
  its best-validation weights, fitted on the training split, its ridge penalty chosen per member
  and layer on the validation split from :data:`PROBE_ALPHAS`, scored on the test split;
* :func:`near_zero_fraction`: the share of (input, unit) pairs with ``|h| < eps · RMS(h)`` per
  layer, a sparsity that every activation can have (exact zeros are ReLU's alone, up to float
  underflow);
* :func:`rows_est` / :func:`paired_est`: means over an arm's (data seed × model seed) members,
  or of paired differences between two arms, with a cluster-bootstrap interval whose clusters
  are the data seeds (the members of one data seed share its training, validation and test
  draw); with a single data seed, the model seeds.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from reluthe.errors import InvalidInputError
from reluthe.probes.generalization import linear_probe
from reluthe.stats import Estimate, cluster_bootstrap_ci

__all__ = ["PROBE_ALPHAS", "NEAR_ZERO_EPS", "layer_probes", "input_probe", "near_zero_fraction",
           "member_key", "clusters", "cluster_est", "rows_est", "paired_est"]

PROBE_ALPHAS = (0.1, 1.0, 10.0)  # ridge penalties a probe chooses from on validation
NEAR_ZERO_EPS = 0.05  # near zero: |h| < NEAR_ZERO_EPS × the layer's root-mean-square output


def _probe_scores(train, y_train, test, y_test, n_classes: int) -> np.ndarray:
    """Probe test accuracy of every member for every alpha: (len(PROBE_ALPHAS), K)."""
    return np.stack([linear_probe(train, y_train, test, y_test, alpha=a, n_classes=n_classes)
                     .test_acc.reshape(-1) for a in PROBE_ALPHAS])


def _chosen(train, val, test, ds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validation accuracy, chosen alpha and test accuracy per member for one feature set."""
    val_acc = _probe_scores(train, ds.y_train, val, ds.y_val, ds.n_classes)
    test_acc = _probe_scores(train, ds.y_train, test, ds.y_test, ds.n_classes)
    best = val_acc.argmax(0)  # ties: the smallest alpha
    k = np.arange(val_acc.shape[1])
    return val_acc[best, k], np.asarray(PROBE_ALPHAS)[best], test_acc[best, k]


def layer_probes(result, ds) -> dict[str, np.ndarray]:
    """Probe every hidden layer of every member of ``result`` at its best-validation weights.

    Parameters
    ----------
    result : reluthe.train.TrainResult
        Trained with a validation split (``best_val_weights`` set).
    ds : reluthe.data.Dataset
        The dataset it was trained on (with its validation split).

    Returns
    -------
    dict
        ``probe_val``, ``probe_alpha``, ``probe_test``: arrays (K, n_hidden_layers).
    """
    if ds.x_val is None or len(ds.x_val) == 0:
        raise InvalidInputError("layer_probes needs a dataset with a validation split; got "
                                f"{ds.name} without one.")
    feats = [result.hidden(x.reshape(len(x), -1), at="best_val")
             for x in (ds.x_train, ds.x_val, ds.x_test)]
    per_layer = [_chosen(tr, va, te, ds) for tr, va, te in zip(*feats)]
    return {name: np.stack([p[i] for p in per_layer], 1)
            for i, name in enumerate(("probe_val", "probe_alpha", "probe_test"))}


def input_probe(ds) -> float:
    """Test accuracy of the same probe on the raw inputs (alpha chosen on validation)."""
    x = [torch.as_tensor(v).reshape(len(v), -1).double()[None]
         for v in (ds.x_train, ds.x_val, ds.x_test)]
    _, _, test = _chosen(*x, ds)
    return float(test[0])


def near_zero_fraction(hidden: list[torch.Tensor], eps: float = NEAR_ZERO_EPS) -> np.ndarray:
    """Share of (input, unit) pairs with ``|h| < eps · RMS`` per member and layer: (K, L).

    ``hidden`` is a list of (K, N, h) post-activations (e.g. ``TrainResult.hidden``); the RMS is
    each member's over all inputs and units of the layer, so the threshold scales with the
    layer's output (a bounded tanh and an unbounded ReLU are judged alike).
    """
    out = []
    for h in hidden:
        h = h.double()
        rms = h.pow(2).mean((-2, -1), keepdim=True).sqrt()
        out.append((h.abs() < eps * rms).double().mean((-2, -1)).numpy())
    return np.stack(out, 1)


def member_key(row: dict) -> tuple[int, int]:
    """The (data seed, model seed) of a record row: the unit of pairing between arms."""
    return int(row["data_seed"]), int(row["seed"])


def clusters(keys: list[tuple[int, int]]) -> list[int]:
    """The cluster of each member (data seed, model seed): its data seed, or its model seed
    when all members share one data seed (quick runs, the default Glorot-style arm of C03)."""
    if len({k[0] for k in keys}) > 1:
        return [k[0] for k in keys]
    return [k[1] for k in keys]


def cluster_est(values, labels, seed: int, confidence: float = 0.95) -> Estimate:
    """Mean of ``values`` with a percentile cluster-bootstrap interval over cluster ``labels``.

    NaN values are dropped first. Percentile (not BCa): with three clusters BCa's jackknife
    rests on three values, and the percentile interval stays inside the values' range (inside
    [0, 1] for proportions). No interval with fewer than two clusters.
    """
    v = np.asarray([math.nan if x is None else float(x) for x in values], dtype=float)
    c = np.asarray(list(labels))
    ok = np.isfinite(v)
    if not ok.any():
        return Estimate(math.nan, None, None, 0, confidence, "cluster bootstrap (percentile)")
    return cluster_bootstrap_ci(lambda x: float(np.mean(x)), [v[ok]], c[ok], seed=seed,
                                confidence=confidence, method="percentile")


def rows_est(rows: list[dict], field, seed: int, confidence: float = 0.95) -> Estimate:
    """:func:`cluster_est` of ``field(row)`` over record ``rows`` (clusters: :func:`clusters`)."""
    return cluster_est([field(r) for r in rows], clusters([member_key(r) for r in rows]), seed,
                       confidence)


def paired_est(a: list[dict], b: list[dict], field, seed: int,
               confidence: float = 0.95) -> Estimate:
    """Mean paired difference ``a − b`` of ``field(row)`` over the members both arms share.

    ``a`` and ``b`` are record rows; members pair by :func:`member_key` (same data draw, same
    init and batch order); clusters as in :func:`clusters`.
    """
    other = {member_key(r): field(r) for r in b}
    mine = {member_key(r): field(r) for r in a}
    keys = [k for k in mine if k in other]
    return cluster_est([mine[k] - other[k] for k in keys], clusters(keys), seed, confidence)
