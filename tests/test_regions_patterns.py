"""count_patterns: distinct patterns among points, chunked and bit-packed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reluthe import InvalidInputError, regions
from reluthe.models import mlp
from reluthe.nets import as_plnet


def test_counts_distinct_patterns_whatever_the_chunk_size():
    net = mlp([3, 20, 20, 20, 1], seed=0)
    pts = np.random.default_rng(0).uniform(-1, 1, size=(20_000, 3))
    states = as_plnet(net).states(pts)
    expected = len(np.unique(states, axis=0))
    for chunk in (7, 1000, 1 << 20):
        n = regions.count_patterns(net, pts, chunk_size=chunk)
        assert n == expected and isinstance(n, int)
    assert regions.count_patterns(net, torch.tensor(pts)) == expected
    assert regions.count_patterns(net, pts[:0]) == 0
    codes = regions.pattern_codes(net, pts[:50])
    assert codes.shape == (50, 9) and len(np.unique(codes, axis=0)) == len(
        np.unique(states[:50], axis=0))


def test_a_lower_bound_on_the_exact_count():
    net = mlp([2, 16, 16, 1], init="he", seed=1)
    plane = regions.count_on_plane(net, np.zeros(2), np.array([1.0, 0]), np.array([0, 1.0]))
    pts = np.random.default_rng(1).uniform(-1, 1, size=(50_000, 2))
    assert regions.count_patterns(net, pts) <= plane.count


def test_three_state_units_are_told_apart():
    net = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.ReLU6())
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.fill_(0.0)
    assert regions.count_patterns(net, np.array([[-1.0], [3.0], [7.0], [8.0]])) == 3


@pytest.mark.parametrize("points, match", [
    (np.zeros((4, 3)), "shape \\(n, 2\\)"),
    (np.array([[0.0, np.nan]]), "finite"),
])
def test_bad_points(points, match):
    with pytest.raises(InvalidInputError, match=match):
        regions.count_patterns(mlp([2, 4, 1]), points)


def test_hash_collisions_fall_back_to_an_exact_count(monkeypatch):
    from reluthe.regions import _patterns

    words = np.random.default_rng(0).integers(0, 3, size=(500, 3)).astype(np.uint64)
    expected = len(np.unique(words, axis=0))
    assert _patterns._distinct_rows(words) == expected
    monkeypatch.setattr(_patterns, "_mix", lambda x: x * np.uint64(0))  # every hash collides
    assert _patterns._distinct_rows(words) == expected
