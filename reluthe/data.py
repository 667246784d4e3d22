"""Offline datasets: MNIST-1D, scikit-learn digits and synthetic tasks with known structure.

Nothing here downloads. ``load(name, seed=..., **options)`` returns a :class:`Dataset` of torch
tensors. MNIST-1D is generated from the ``mnist1d`` package's templates and cached on disk
(atomically) under ``$RELUTHE_CACHE`` (default ``~/.cache/reluthe``). Names that would need a
download (``mnist``, ``fashion_mnist``, ``cifar10``) raise :class:`DatasetUnavailableError`
unless the files are already on disk.

Examples
--------
>>> from reluthe import data
>>> ds = data.load("spirals", seed=0, n_samples=200)
>>> tuple(ds.x_train.shape), ds.n_classes
((150, 2), 2)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from reluthe._validate import check_choice, check_positive_float, check_positive_int, check_seed
from reluthe.errors import DatasetUnavailableError, InvalidInputError

__all__ = ["Dataset", "load", "DATASETS", "cache_dir"]

_OFFLINE = ("mnist1d", "digits", "spirals", "teacher", "gaussian_mixture")
_DOWNLOAD = ("mnist", "fashion_mnist", "cifar10")
DATASETS = _OFFLINE + _DOWNLOAD


@dataclass(frozen=True)
class Dataset:
    """A train/test split as torch tensors.

    Attributes
    ----------
    name : str
    x_train, y_train, x_test, y_test : torch.Tensor
        Inputs are float32 of shape ``(n, d)`` (images keep ``(n, c, h, w)``); labels are int64
        for classification, float32 ``(n, k)`` for regression.
    n_classes : int or None
        Number of classes; ``None`` for regression.
    seed : int
        The seed the data were generated or split with.
    options : dict
        The options the dataset was built with.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int | None
    seed: int
    options: dict = field(default_factory=dict)

    @property
    def task(self) -> str:
        """"classification" or "regression"."""
        return "regression" if self.n_classes is None else "classification"

    @property
    def input_dim(self) -> int:
        """Number of input features (product of the non-batch dimensions)."""
        return int(np.prod(self.x_train.shape[1:]))

    def to(self, device: str | torch.device) -> Dataset:
        """A copy with all tensors on ``device``."""
        return Dataset(self.name, self.x_train.to(device), self.y_train.to(device),
                       self.x_test.to(device), self.y_test.to(device), self.n_classes, self.seed,
                       dict(self.options))


def cache_dir() -> Path:
    """Directory of the on-disk data cache (``$RELUTHE_CACHE`` or ``~/.cache/reluthe``)."""
    return Path(os.environ.get("RELUTHE_CACHE", Path.home() / ".cache" / "reluthe"))


def _atomic_savez(path: Path, **arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _split(name, x, y, xt, yt, n_classes, seed, options) -> Dataset:
    to_y = (lambda a: torch.as_tensor(a, dtype=torch.int64)) if n_classes else (
        lambda a: torch.as_tensor(a, dtype=torch.float32))
    return Dataset(name, torch.as_tensor(x, dtype=torch.float32), to_y(y),
                   torch.as_tensor(xt, dtype=torch.float32), to_y(yt), n_classes, seed, options)


def _unknown_options(name: str, options: dict, allowed: tuple[str, ...]) -> None:
    extra = sorted(set(options) - set(allowed))
    if extra:
        raise InvalidInputError(
            f"Unknown option(s) {extra} for dataset {name!r}; accepted options are {list(allowed)}."
        )


def _mnist1d(seed: int, length: int = 40, num_samples: int = 5000) -> Dataset:
    length = check_positive_int(length, param="length", func="load('mnist1d')", minimum=12)
    num_samples = check_positive_int(num_samples, param="num_samples", func="load('mnist1d')",
                                     minimum=20)
    options = {"length": length, "num_samples": num_samples}
    key = hashlib.sha256(json.dumps({"seed": seed, **options}, sort_keys=True).encode()).hexdigest()
    path = cache_dir() / f"mnist1d-{key[:16]}.npz"
    if path.exists():
        with np.load(path) as z:
            return _split("mnist1d", z["x"], z["y"], z["x_test"], z["y_test"], 10, seed, options)
    import random

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("DISPLAY"):
        matplotlib.use("Agg")  # mnist1d imports pyplot; a headless machine needs Agg
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed, args.final_seq_length, args.num_samples = seed, length, num_samples
    np_state, py_state = np.random.get_state(), random.getstate()
    try:  # make_dataset seeds the global RNGs: restore them so the caller's state is untouched
        d = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = {k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}
    _atomic_savez(path, **arrays)
    return _split("mnist1d", arrays["x"], arrays["y"], arrays["x_test"], arrays["y_test"], 10,
                  seed, options)


def _digits(seed: int, test_size: float = 0.25) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    test_size = check_positive_float(test_size, param="test_size", func="load('digits')")
    if test_size >= 1:
        raise InvalidInputError(f"The 'test_size' option of load('digits') must be in (0, 1). "
                                f"Got {test_size!r} instead.")
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)
    return _split("digits", xtr, ytr, xte, yte, 10, seed, {"test_size": test_size})


def _spirals(seed: int, n_samples: int = 1000, n_classes: int = 2, noise: float = 0.05,
             turns: float = 1.5, test_fraction: float = 0.25) -> Dataset:
    f = "load('spirals')"
    n = check_positive_int(n_samples, param="n_samples", func=f, minimum=8)
    k = check_positive_int(n_classes, param="n_classes", func=f, minimum=2)
    noise = check_positive_float(noise, param="noise", func=f, allow_zero=True)
    turns = check_positive_float(turns, param="turns", func=f)
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    r = rng.uniform(0.05, 1.0, size=n)
    angle = 2 * np.pi * (turns * r + labels / k)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1) + noise * rng.standard_normal((n, 2))
    perm = rng.permutation(n)
    x, labels = x[perm], labels[perm]
    n_test = int(round(n * test_fraction))
    opts = {"n_samples": n, "n_classes": k, "noise": noise, "turns": turns}
    return _split("spirals", x[n_test:], labels[n_test:], x[:n_test], labels[:n_test], k, seed,
                  opts)


def _teacher(seed: int, input_dim: int = 10, widths: tuple = (32, 32), output_dim: int = 1,
             n_samples: int = 2000, n_classes: int | None = None, noise: float = 0.0,
             test_fraction: float = 0.25) -> Dataset:
    """Targets from a random He-initialised ReLU teacher MLP; classes by argmax if n_classes."""
    f = "load('teacher')"
    d = check_positive_int(input_dim, param="input_dim", func=f)
    n = check_positive_int(n_samples, param="n_samples", func=f, minimum=8)
    widths = tuple(check_positive_int(w, param="widths", func=f) for w in widths)
    out = check_positive_int(n_classes, param="n_classes", func=f, minimum=2) if n_classes else (
        check_positive_int(output_dim, param="output_dim", func=f))
    noise = check_positive_float(noise, param="noise", func=f, allow_zero=True)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    h = x
    dims = (d, *widths, out)
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        h = h @ (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)) + 0.1 * rng.standard_normal(b)
        if i < len(dims) - 2:
            h = np.maximum(h, 0.0)
    y = h.argmax(1) if n_classes else h + noise * rng.standard_normal(h.shape)
    n_test = int(round(n * test_fraction))
    opts = {"input_dim": d, "widths": list(widths), "output_dim": out, "n_samples": n,
            "n_classes": n_classes, "noise": noise}
    return _split("teacher", x[n_test:], y[n_test:], x[:n_test], y[:n_test], n_classes, seed, opts)


def _gaussian_mixture(seed: int, k: int = 8, n_samples: int = 2000, radius: float = 2.0,
                      std: float = 0.02, test_fraction: float = 0.25) -> Dataset:
    """k 2-D Gaussians with equal weight on a circle; the label is the mode index."""
    f = "load('gaussian_mixture')"
    k = check_positive_int(k, param="k", func=f, minimum=2)
    n = check_positive_int(n_samples, param="n_samples", func=f, minimum=k)
    radius = check_positive_float(radius, param="radius", func=f)
    std = check_positive_float(std, param="std", func=f)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, size=n)
    angles = 2 * np.pi * np.arange(k) / k
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], 1)
    x = centers[labels] + std * rng.standard_normal((n, 2))
    n_test = int(round(n * test_fraction))
    opts = {"k": k, "n_samples": n, "radius": radius, "std": std}
    return _split("gaussian_mixture", x[n_test:], labels[n_test:], x[:n_test], labels[:n_test], k,
                  seed, opts)


def _download_only(name: str, seed: int, root: str | None = None) -> Dataset:
    try:
        import torchvision  # noqa: F401
    except ImportError as exc:
        raise DatasetUnavailableError(
            f"Dataset {name!r} needs torchvision and a download, and reluthe never downloads at "
            f"run time. Use one of the offline datasets {list(_OFFLINE)}, or install torchvision "
            f"and place the files under root=... beforehand."
        ) from exc
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST,
           "cifar10": datasets.CIFAR10}[name]
    root = root or str(cache_dir() / "torchvision")
    try:
        train, test = cls(root, train=True, download=False), cls(root, train=False, download=False)
    except RuntimeError as exc:
        raise DatasetUnavailableError(
            f"Dataset {name!r} is not on disk under {root!r} and reluthe does not download it. "
            f"Offline datasets: {list(_OFFLINE)}."
        ) from exc

    def arrays(ds):
        x = np.asarray(ds.data, dtype=np.float32) / 255.0
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
        return x, np.asarray(ds.targets)

    (x, y), (xt, yt) = arrays(train), arrays(test)
    return _split(name, x, y, xt, yt, 10, seed, {"root": root})


_LOADERS = {"mnist1d": _mnist1d, "digits": _digits, "spirals": _spirals, "teacher": _teacher,
            "gaussian_mixture": _gaussian_mixture, "mnist": _download_only,
            "fashion_mnist": _download_only, "cifar10": _download_only}


def load(name: str, seed: int = 0, **options) -> Dataset:
    """Load a dataset by name, offline.

    Parameters
    ----------
    name : str
        One of ``mnist1d`` (options ``length=40``, ``num_samples=5000``), ``digits``
        (``test_size=0.25``), ``spirals`` (``n_samples``, ``n_classes``, ``noise``, ``turns``),
        ``teacher`` (``input_dim``, ``widths``, ``output_dim``, ``n_samples``, ``n_classes``,
        ``noise``), ``gaussian_mixture`` (``k``, ``n_samples``, ``radius``, ``std``); or one that
        needs a download (``mnist``, ``fashion_mnist``, ``cifar10``; option ``root``).
    seed : int
        Generation / split seed. Same seed, same tensors. The global RNGs are not touched.

    Returns
    -------
    Dataset

    Raises
    ------
    InvalidInputError
        Unknown name or option, or an option out of its domain.
    DatasetUnavailableError
        A download-only dataset that is not on disk.

    Examples
    --------
    >>> from reluthe.data import load
    >>> ds = load("digits", seed=0)
    >>> tuple(ds.x_train.shape), tuple(ds.x_test.shape)
    ((1347, 64), (450, 64))
    """
    check_choice(name, DATASETS, param="name", func="reluthe.data.load")
    seed = check_seed(seed, func="reluthe.data.load")
    loader = _LOADERS[name]
    import inspect

    allowed = tuple(p for p in inspect.signature(loader).parameters if p not in ("seed", "name"))
    _unknown_options(name, options, allowed)
    if loader is _download_only:
        return loader(name, seed, **options)
    return loader(seed, **options)
