"""The memory budget of the region counters: an exceeded ``max_memory`` raises RegionLimitError
before the arrays grow past it (peak memory measured with tracemalloc, which sees numpy's
allocations), the message says what was reached and how to go on, and the default comes from
the machine. Budgets here are a few MB: nothing large is allocated."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from reluthe import regions
from reluthe.errors import InvalidInputError, RegionLimitError
from reluthe.nets import as_plnet
from reluthe.regions import _memory

MB = 1 << 20


def _net(widths, seed=0):
    rng = np.random.default_rng(seed)
    pairs = [(rng.standard_normal((o, i)), 0.3 * rng.standard_normal(o))
             for i, o in zip(widths[:-1], widths[1:])]
    return as_plnet(pairs + [(np.ones((1, widths[-1])), np.zeros(1))])


def _box(widths):
    d = widths[0]
    return lambda budget: regions.count_in_box(_NETS[tuple(widths)], -np.ones(d), np.ones(d),
                                               max_memory=budget, engine="lattice")


def _plane(widths):
    return lambda budget: regions.count_on_plane(_NETS[tuple(widths)], np.zeros(2), [1, 0],
                                                 [0, 1], max_memory=budget)


def _line(widths):
    d = widths[0]
    return lambda budget: regions.count_on_line(_NETS[tuple(widths)], -np.ones(d), np.ones(d),
                                                max_memory=budget)


SHAPES = {"box 10-D, 12 units": ([10, 12], _box), "box 6-D, 16-16": ([6, 16, 16], _box),
          "box 4-D, 16-16": ([4, 16, 16], _box), "box 3-D, 16x3": ([3, 16, 16, 16], _box),
          "plane 2-64x3": ([2, 64, 64, 64], _plane), "line 5-256x3": ([5, 256, 256, 256], _line)}
_NETS = {tuple(w): _net(w) for w, _ in SHAPES.values()}
PEAKS: dict = {}


def _peak(call):
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("budget_mb", [2, 4, 8])
@pytest.mark.parametrize("name", list(SHAPES))
def test_budget_is_checked_before_growth(name, budget_mb):
    widths, kind = SHAPES[name]
    call = kind(widths)
    budget = budget_mb * MB
    err = []

    def run():
        try:
            call(budget)
        except RegionLimitError as exc:
            err.append(exc)

    peak = _peak(run)
    PEAKS[(name, budget_mb)] = (peak, bool(err))
    assert peak <= budget, f"{name}: peak {peak / MB:.2f} MB over the {budget_mb} MB budget"
    if err:
        text = str(err[0])
        assert f"max_memory={budget}" in text and "Raise max_memory" in text
        assert "shrink the domain" in text and "fewer units" in text
        assert err[0].found is not None


def test_the_small_budgets_stop_the_large_shapes():
    for name in ("box 10-D, 12 units", "box 6-D, 16-16", "box 4-D, 16-16"):
        widths, kind = SHAPES[name]
        with pytest.raises(RegionLimitError, match="Memory budget"):
            kind(widths)(4 * MB)


def test_a_high_dimensional_box_is_refused_before_its_face_lattice():
    net = _net([20, 2])
    peak = _peak(lambda: pytest.raises(RegionLimitError, regions.count_in_box, net,
                                       -np.ones(20), np.ones(20), max_memory=1 << 30,
                                       engine="lattice"))
    assert peak < MB                    # 3^20 faces were never built


def test_enough_budget_gives_the_same_count():
    widths, kind = SHAPES["box 3-D, 16x3"]
    assert kind(widths)(64 * MB).count == kind(widths)(None).count


@pytest.mark.parametrize("bad", [0, -1, 1.5, "1e9", True, [1]])
def test_max_memory_must_be_a_positive_int(bad):
    with pytest.raises(InvalidInputError, match="'max_memory'"):
        regions.count_on_line(_NETS[(5, 256, 256, 256)], np.zeros(5), np.ones(5),
                              max_memory=bad)


def test_default_budget_comes_from_the_machine(monkeypatch):
    avail = _memory.available_bytes()
    assert avail is None or avail > 0
    budget = _memory.default_budget()
    if avail is not None:
        assert budget == max(1, int(_memory.DEFAULT_FRACTION * avail))
    monkeypatch.setattr(_memory, "available_bytes", lambda: None)
    assert _memory.default_budget() == _memory.FALLBACK_BYTES


def test_count_patterns_budget_is_checked_before_allocating():
    net = _NETS[(2, 64, 64, 64)]
    pts = np.zeros((100_000, 2))
    budget = 4 * MB
    peak = _peak(lambda: pytest.raises(RegionLimitError, regions.count_patterns, net, pts,
                                       max_memory=budget))
    assert peak <= 1.2 * pts.nbytes < budget      # only the validated copy and its NaN mask
    with pytest.raises(RegionLimitError, match="pattern_codes"):
        regions.pattern_codes(net, pts, max_memory=budget)
    assert regions.count_patterns(net, pts[:10], max_memory=8 * MB) >= 0
