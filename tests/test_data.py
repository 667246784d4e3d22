"""reluthe.data: offline datasets, determinism, cache atomicity and every error."""

from __future__ import annotations

import random

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
