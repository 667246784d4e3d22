"""count_on_line: hand-built nets with known breakpoints, kinked activations, bad input."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
import torch
from torch import nn

from reluthe import InvalidInputError, RegionLimitError, regions
from reluthe.nets import as_plnet


def test_hand_built_net_has_known_breakpoints_and_linear_pieces():
    # h1 = relu(x), h2 = relu(x - 1), h3 = relu(-x - 1); output ignores h3
    w1 = np.array([[1.0], [1.0], [-1.0]])
    b1 = np.array([0.0, -1.0, -1.0])
    res = regions.count_on_line([(w1, b1), (np.array([[1.0, -2.0, 0.0]]), np.zeros(1))],
                                [-3.0], [3.0])
    assert res.count == 4
    np.testing.assert_allclose(res.breakpoints, [1 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(res.points[:, 0], [-1.0, 0.0, 1.0])
    assert res.patterns.tolist() == [[0, 0, 1], [0, 0, 0], [1, 0, 0], [1, 1, 0]]
    assert res.linear_count == 3          # the kink of h3 at x = -1 is invisible in the output
    np.testing.assert_allclose(res.sizes, [1 / 3, 1 / 6, 1 / 6, 1 / 3])
    np.testing.assert_allclose(res.lengths, 6 * res.sizes)
    np.testing.assert_allclose(res.intervals[:, 0], [0, 1 / 3, 1 / 2, 2 / 3])
    assert res.smallest_size == pytest.approx(1 / 6)
    assert nx.is_isomorphic(res.graph, nx.path_graph(4))
    assert [res.graph.edges[i, i + 1]["neuron"] for i in range(3)] == [(0, 2), (0, 0), (0, 1)]
    assert json.loads(json.dumps(res.to_dict()))["breakpoints"] == res.breakpoints.tolist()


def test_hardtanh_unit_has_three_states_on_a_line():
    model = nn.Sequential(nn.Linear(1, 1), nn.Hardtanh(-1.0, 1.0), nn.Linear(1, 1))
    with torch.no_grad():
        model[0].weight.fill_(2.0)
        model[0].bias.fill_(0.0)
    res = regions.count_on_line(model, [-1.0], [1.0])
    assert res.count == 3 and res.patterns.ravel().tolist() == [0, 1, 2]
    np.testing.assert_allclose(res.breakpoints, [0.25, 0.75])


def test_line_on_a_deep_net_agrees_with_dense_sampling():
    rng = np.random.default_rng(0)
    pairs = [(rng.normal(size=(16, 4)), rng.normal(size=16))] + [
        (rng.normal(size=(16, 16)) / 4, rng.normal(size=16)) for _ in range(2)] + [
        (rng.normal(size=(1, 16)), np.zeros(1))]
    start, end = rng.normal(size=4), rng.normal(size=4)
    res = regions.count_on_line(pairs, start, end)
    t = np.linspace(0, 1, 200_001)
    states = as_plnet(pairs).states(start + t[:, None] * (end - start))
    changes = np.flatnonzero(np.any(states[1:] != states[:-1], axis=1))
    # every change seen by sampling lies within one sample step of an exact breakpoint
    assert all(np.min(np.abs(res.breakpoints - t[i])) <= 1e-5 for i in changes)
    assert len(changes) <= res.count - 1
    # the pattern in the middle of every piece is the reported one
    mids = res.intervals.mean(axis=1)
    np.testing.assert_array_equal(
        as_plnet(pairs).states(start + mids[:, None] * (end - start)), res.patterns)


@pytest.mark.parametrize("start, end, match", [
    ([0.0, 0.0], [0.0, 0.0], "must differ"),
    ([0.0], [1.0, 0.0], "'start'.*dimension 2"),
    ([0.0, np.inf], [1.0, 0.0], "'start'.*finite"),
    ([0.0, 0.0], [np.nan, 0.0], "'end'.*finite"),
])
def test_bad_segments_are_rejected(start, end, match):
    with pytest.raises(InvalidInputError, match=match):
        regions.count_on_line([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))],
                              start, end)


def test_line_region_limit():
    rng = np.random.default_rng(1)
    pairs = [(rng.normal(size=(200, 1)), rng.normal(size=200)), (np.ones((1, 200)), np.zeros(1))]
    with pytest.raises(RegionLimitError) as info:
        regions.count_on_line(pairs, [-3.0], [3.0], max_regions=20)
    assert info.value.found > 20
