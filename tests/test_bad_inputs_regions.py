"""Bad inputs to reluthe.regions and reluthe.nets: every dtype, container and number type a user
can pass gives a named error (the class and a fragment of its message are asserted), and finite
inputs whose products overflow float64 are refused instead of giving wrong counts."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
import torch
from _catalogue import add_case, assert_named_error

from reluthe import nets, regions
from reluthe.errors import InvalidInputError, UnsupportedNetworkError
from reluthe.regions import ToleranceWarning

IIE = InvalidInputError
NET = [(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
NET3 = [(np.eye(3), np.zeros(3)), (np.ones((1, 3)), np.zeros(1))]
REAL = "array of real numbers"

# a bad value of every kind for an array parameter, and a fragment of its message
BAD_ARRAYS = [
    (np.array([1 + 2j, 0]), "complex128"),
    (torch.tensor([1 + 2j, 0]), "complex"),
    (np.array([True, False]), "dtype bool"),
    (torch.tensor([True, False]), "torch.bool"),
    (np.array(["a", "b"]), "<U1"),
    ("ab", "a str"),
    (b"ab", "a bytes"),
    (np.array([None, 1.0], dtype=object), "non-numbers"),
    ([[1.0], [1.0, 2.0]], "not a rectangular"),
    (torch.zeros(2, device="meta"), "'meta' device"),
    (np.array([np.nan, 0.0]), "finite"),
    (np.array([np.inf, 0.0]), "finite"),
    (np.array(["2000-01-01", "2000-01-02"], dtype="M8[D]"), "datetime64"),
    ({1, 2}, "non-numbers"),
]

CASES: list = []


_case = functools.partial(add_case, CASES)


LINE = {"net": NET, "start": np.zeros(2), "end": np.ones(2)}
PLANE = {"net": NET, "origin": np.zeros(2), "u": np.array([1.0, 0]), "v": np.array([0, 1.0])}
BOX = {"net": NET, "low": -np.ones(2), "high": np.ones(2)}
PTS = {"net": NET, "points": np.zeros((4, 2))}
THROUGH = {"p0": np.zeros(3), "p1": np.array([1.0, 0, 0]), "p2": np.array([0, 1.0, 0])}

for bad, frag in BAD_ARRAYS:
    for fn, base, params in ((regions.count_on_line, LINE, ("start", "end")),
                             (regions.count_on_plane, PLANE, ("origin", "u", "v")),
                             (regions.count_in_box, BOX, ("low", "high")),
                             (regions.plane_through, THROUGH, ("p0",))):
        for param in params:
            _case(fn, {**base, param: bad}, IIE, f"'{param}'", frag)
for bad, frag in BAD_ARRAYS[:10]:
    bad2 = bad if not hasattr(bad, "shape") or bad.ndim != 1 else bad.reshape(1, 2)
    _case(regions.count_patterns, {**PTS, "points": bad2}, IIE, "'points'", frag)
    _case(regions.pattern_codes, {**PTS, "points": bad2}, IIE, "'points'", frag)
    _case(nets.from_pairs, {"pairs": [(bad2, np.zeros(1)), (np.ones((1, 1)), np.zeros(1))]},
          IIE, "W")

# containers and number types of the scalar parameters
for fn, base in ((regions.count_on_line, LINE), (regions.count_on_plane, PLANE),
                 (regions.count_in_box, BOX)):
    for tol in ("1e-10", 1j, True, None, [1e-10], 0.5, -1e-10, np.nan):
        _case(fn, {**base, "tol": tol}, IIE, "'tol'", "[0, 0.01)")
    for mr in (1.5, "10", True, 0, -3, None, 1e6):
        _case(fn, {**base, "max_regions": mr}, IIE, "'max_regions'")
    for mm in (1.5, "10", True, 0, -3, 2.0 ** 40, [10]):
        _case(fn, {**base, "max_memory": mm}, IIE, "'max_memory'", "bytes")
    for net in ("net", 3, None, {"W": 1}, np.eye(2), set()):
        _case(fn, {**base, "net": net}, IIE, "'net'")
for extent in ("1234", (0, 1, 0), (1, 0, 0, 1), (0, 1, 0, np.inf), (True, 2, 0, 1),
               (0j, 1, 0, 1), {0, 1, 2, 3}, None, 5.0, ("0", "1", "0", "1")):
    _case(regions.count_on_plane, {**PLANE, "extent": extent}, IIE, "'extent'")
for margin in ("0.1", -1.0, True, np.nan, None):
    _case(regions.plane_through, {**THROUGH, "margin": margin}, IIE, "'margin'")
for cs in (0, 1.5, "8", True, None):
    _case(regions.count_patterns, {**PTS, "chunk_size": cs}, IIE, "'chunk_size'")
    _case(regions.pattern_codes, {**PTS, "chunk_size": cs}, IIE, "'chunk_size'")
# collinear / zero directions at any scale
for u, v in (([1e-200, 0], [0, 1e-200]), ([1e200, 0], [2e200, 0]), ([0, 0], [0, 1]),
             ([1e-300, 1e-300], [2e-300, 2e-300])):
    if u == [1e-200, 0]:
        continue                        # independent: see test_tiny_directions_are_independent
    _case(regions.count_on_plane, {**PLANE, "u": np.array(u), "v": np.array(v)}, IIE,
          "linearly independent")
_case(regions.plane_through, {"p0": np.zeros(2), "p1": np.zeros(2), "p2": np.ones(2)}, IIE,
      "must differ")
_case(regions.plane_through, {"p0": np.zeros(2), "p1": np.array([1e-300, 1e-300]),
                              "p2": np.array([2e-300, 2e-300])}, IIE, "collinear")

# nets: containers, dtypes, devices, input_shape
MLP = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
CONV = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                           torch.nn.Linear(8, 1))
META = torch.nn.Sequential(torch.nn.Linear(4, 3, device="meta"), torch.nn.ReLU())
CPLX = torch.nn.Sequential(torch.nn.Linear(4, 3, dtype=torch.complex64), torch.nn.ReLU())
for pairs in ((p for p in NET), {1: 2}, "pairs", 3, [], [(np.eye(2),)], [np.eye(2)]):
    _case(nets.from_pairs, {"pairs": pairs}, IIE, "'net'")
for shape in ((2, 3), (True, 4), (4.0,), "4", [], (0,), (-4,), (1, 5, 5), 4):
    _case(nets.from_torch, {"module": MLP if shape != (1, 5, 5) else CONV,
                            "input_shape": shape}, IIE,
          {(2, 3): "'input_shape'", (1, 5, 5): "expects 8 inputs"}.get(
              shape if isinstance(shape, tuple) else None, "input_shape"))
_case(nets.from_torch, {"module": CONV, "input_shape": (2, 4, 4)}, IIE, "'input_shape'",
      "cannot take a sample of shape (2, 4, 4)")
_case(nets.from_torch, {"module": META}, IIE, "'meta' device")
_case(nets.from_torch, {"module": CPLX}, IIE, "complex64")
_case(nets.from_torch, {"module": "model"}, IIE, "'module'")
_case(nets.as_plnet, {"net": torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU())},
      UnsupportedNetworkError, "GELU")
PL = nets.as_plnet(NET)
for bad, frag in BAD_ARRAYS[:10]:
    _case(PL.forward, {"x": bad}, IIE, "'x'", frag)
    _case(PL.states, {"x": bad}, IIE, "'x'", frag)


@pytest.mark.parametrize("fn, kwargs, err, fragments", CASES)
def test_bad_input_is_a_named_error(fn, kwargs, err, fragments):
    assert_named_error(fn, kwargs, err, fragments)


def test_catalogue_is_large():
    assert len(CASES) >= 250


# ----------------------------------------------------------------------------- right answers

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.int64,
                                   torch.int8])
def test_points_of_any_real_torch_dtype_are_converted(dtype):
    res = regions.count_on_line(NET, torch.tensor([-1, -1]).to(dtype),
                                torch.tensor([1, 1]).to(dtype))
    assert res.count == 2


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int32, np.uint8])
def test_points_of_any_real_numpy_dtype_are_converted(dtype):
    res = regions.count_in_box(NET, np.array([-1, -1]).astype(dtype) if dtype != np.uint8
                               else np.zeros(2, dtype), np.ones(2, dtype))
    assert res.count == (4 if dtype != np.uint8 else 1)


def test_low_precision_weights_are_converted():
    bf = [(torch.eye(2, dtype=torch.bfloat16), torch.zeros(2, dtype=torch.bfloat16)),
          (np.ones((1, 2), dtype=np.float16), np.zeros(1, dtype=np.int32))]
    assert regions.count_in_box(bf, -np.ones(2), np.ones(2)).count == 4
    half = MLP.to(torch.float64)
    assert nets.from_torch(half).widths == (3,)


def test_tiny_directions_are_independent():
    """u, v of norm 1e-200 are independent: the test is scaled, not on u @ u == 0."""
    res = regions.count_on_plane(NET, np.zeros(2), np.array([1e-200, 0]),
                                 np.array([0, 1e-200]), (-1, 1, -1, 1))
    assert res.count == 4


def test_plane_through_tiny_and_huge_points():
    for s in (1e-200, 1e200):
        origin, u, v, _ = regions.plane_through(np.zeros(3), np.array([s, 0, 0]),
                                                np.array([0, s, 0]))
        assert np.allclose(u, [1, 0, 0]) and np.allclose(v, [0, 1, 0])


# ----------------------------------------------------------------------------- numerical range

HUGE = [(np.array([[1e200, 0], [0, 1e200]]), np.zeros(2)),
        (np.array([[1e200, -1e200]]), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))]


@pytest.mark.parametrize("call", [
    lambda: regions.count_in_box(HUGE, -np.ones(2), np.ones(2)),
    lambda: regions.count_on_plane(HUGE, np.zeros(2), [1, 0], [0, 1]),
    lambda: regions.count_on_line(HUGE, -np.ones(2), np.ones(2)),
    lambda: regions.count_in_box(NET3, -np.full(3, 1e300), np.full(3, 1e300)),
    lambda: regions.count_in_box(NET3, -np.full(3, 1e-300), np.full(3, 1e-300)),
    lambda: regions.count_on_plane(NET, np.zeros(2), [1e308, 0], [0, 1e308]),
    lambda: regions.count_on_line([(np.array([[1e300]]), np.zeros(1)),
                                   (np.array([[1e300]]), np.zeros(1)),
                                   (np.ones((1, 1)), np.zeros(1))], [-1.0], [1.0]),
], ids=["box-products", "plane-products", "line-products", "box-volume-overflow",
        "box-volume-underflow", "plane-basis", "line-output"])
def test_overflow_is_a_named_error(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no RuntimeWarning before the error
        with pytest.raises(InvalidInputError, match="float64's range"):
            call()


def test_domain_sides_out_of_range_are_refused():
    with pytest.raises(InvalidInputError, match="'extent'.*float64's range"):
        regions.count_on_plane(NET, np.zeros(2), [1, 0], [0, 1], (0, 1e-160, 0, 1))
    with pytest.raises(InvalidInputError, match="float64's range"):
        regions.count_in_box(NET, -np.full(2, 1e151), np.full(2, 1e151))


def test_tolerance_that_can_merge_regions_is_reported():
    """Two parallel kinks 1e-3 apart in a box of side 2e9: tol * scale = 0.2 > 1e-3, so the
    tolerance merges the thin region between them; the result says so, with a warning."""
    net = [(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), np.array([0.0, -1e-3, 0.3])),
           (np.ones((1, 3)), np.zeros(1))]
    with pytest.warns(ToleranceWarning, match="tol_merges"):
        res = regions.count_on_plane(net, np.zeros(2), [1, 0], [0, 1], (-1e9, 1e9, -1e9, 1e9))
    assert res.tol_merges > 0 and res.to_dict()["tol_merges"] == res.tol_merges
    exact = regions.count_on_plane(net, np.zeros(2), [1, 0], [0, 1], (-1, 1, -1, 1))
    assert exact.tol_merges == 0 and exact.count == 6 and res.count < 6


def test_exact_concurrent_kinks_do_not_warn():
    net = [(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]), np.zeros(3)),
           (np.ones((1, 3)), np.zeros(1))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = regions.count_on_plane(net, np.zeros(2), [1, 0], [0, 1])
    assert res.count == 6 and res.tol_merges == 0


def test_count_patterns_overflow_is_a_named_error():
    huge = [(np.array([[1e300, 1e300]]), np.zeros(1)), (np.array([[1e300]]), np.zeros(1)),
            (np.ones((1, 1)), np.zeros(1))]
    for fn in (regions.count_patterns, regions.pattern_codes):
        with pytest.raises(InvalidInputError, match="float64's range"):
            fn(huge, np.ones((3, 2)))
