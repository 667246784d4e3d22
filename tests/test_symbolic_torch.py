"""reluthe.symbolic against torch: values, autograd, finite differences, kink conventions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reluthe import symbolic
from reluthe.errors import InvalidInputError
from reluthe.models import activation_fn
from reluthe.symbolic import x

# Finite-grid deviations of torch that the checker must find (and nothing else):
# softplus linearises above beta*x = 20; gelu_tanh's x**3 overflows at huge |x| (nan gradient);
# gelu overflows to inf at float32's largest number.
KNOWN = {
    ("softplus", "float64"): {"large"},
    ("gelu_tanh", "float64"): {"huge"},
    ("gelu_tanh", "float32"): {"huge"},
    ("gelu", "float32"): {"huge"},
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", symbolic.ACTIVATIONS)
def test_torch_agrees_on_the_finite_grid(name, dtype):
    r = symbolic.check_against_torch(name, dtype=dtype)
    json.dumps(r.to_dict())
    finite = {m["category"] for m in r.mismatches if m["category"] not in ("inf", "nan")}
    assert finite <= KNOWN.get((name, dtype), set()), r.mismatches
    values = [p["x"] for p in r.points]
    assert 0.0 in values and any(math.copysign(1, v) < 0 and v == 0 for v in values)
    assert any(math.isnan(v) for v in values) and math.inf in values and -math.inf in values
    if dtype == "float64":
        assert 1e-300 in values and 1e30 in values


def test_softplus_threshold_is_reported_not_hidden():
    r = symbolic.check_against_torch("softplus", dtype="float64")
    large = [m for m in r.mismatches if m["category"] == "large"]
    assert {m["x"] for m in large} == {25.0}
    assert all(m["abs_error"] <= math.log1p(math.exp(-20)) for m in large)
    assert not r.agrees_finite and any("threshold" in n for n in r.notes)
    assert symbolic.check_against_torch("softplus", dtype="float32").agrees_finite


def test_relu_conventions_recorded():
    r = symbolic.check_against_torch("relu", dtype=torch.float64)
    assert [(k["x"], k["torch"], k["convention"]) for k in r.kinks] == [
        (0.0, 0.0, "left"), (-0.0, 0.0, "left")]
    nan_rows = [m for m in r.mismatches if m["category"] == "nan"]
    assert nan_rows and nan_rows[0]["quantity"] == "derivative"  # torch: relu'(nan) = 1
    assert r.agrees_finite and not r.agrees


@pytest.mark.parametrize("name, params", [
    ("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"alpha": 0.3}), ("elu", {"alpha": 2.0}),
    ("selu", {}), ("hardtanh", {}), ("hardtanh", {"min_val": -2.0, "max_val": 0.5}),
    ("relu6", {}),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_declared_torch_kink_convention_matches_torch(name, params, dtype):
    r = symbolic.check_against_torch(name, dtype=dtype, **params)
    assert r.kinks, "every one of these has a kink"
    assert all(k["matches_declared"] for k in r.kinks)
    d = symbolic.derivative(name, at_kink="torch", **params)
    for k in r.kinks:
        assert float(d.subs(x, sp.Rational(repr(k["at"])))) == pytest.approx(k["torch"],
                                                                             rel=1e-6)


def test_no_kink_where_differentiable():
    assert symbolic.check_against_torch("elu").kinks == ()
    assert symbolic.check_against_torch("celu", alpha=0.5).kinks == ()


def test_bad_arguments():
    with pytest.raises(InvalidInputError, match="dtype"):
        symbolic.check_against_torch("relu", dtype="int8")
    with pytest.raises(InvalidInputError, match="numeric parameters"):
        symbolic.check_against_torch("elu", alpha=sp.Symbol("a", positive=True))
    with pytest.raises(InvalidInputError, match="catalogue|one of"):
        symbolic.check_against_torch("relu7")


def _three_ways(name, params, points):
    """Symbolic derivative, torch autograd and central differences of torch at ``points``."""
    d = sp.lambdify(x, symbolic.derivative(name, **params), ["numpy", "scipy"])
    sym = np.asarray(d(points), dtype=float) * np.ones_like(points)
    fn = activation_fn(name, **{k: float(v) for k, v in params.items()})
    t = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    (auto,) = torch.autograd.grad(fn(t).sum(), t)
    h = 1e-6
    with torch.no_grad():
        fd = ((fn(t + h) - fn(t - h)) / (2 * h)).numpy()
    return sym, auto.numpy(), fd


def _away_from_kinks(name, params, n=64, seed=0):
    pts = np.random.default_rng(seed).uniform(-8, 8, n)
    bps = [float(b) for b in symbolic.pieces(name, **params).breakpoints]
    return np.array([p for p in pts if all(abs(p - b) > 1e-3 for b in bps)])


@pytest.mark.parametrize("name", symbolic.ACTIVATIONS)
def test_symbolic_autograd_finite_differences(name):
    pts = _away_from_kinks(name, {})
    sym, auto, fd = _three_ways(name, {}, pts)
    np.testing.assert_allclose(auto, sym, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(fd, sym, rtol=1e-6, atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(alpha=st.floats(0.05, 3.0), seed=st.integers(0, 2**16))
def test_elu_and_celu_over_alpha(alpha, seed):
    for name in ("elu", "celu"):
        pts = _away_from_kinks(name, {"alpha": alpha}, n=16, seed=seed)
        sym, auto, fd = _three_ways(name, {"alpha": alpha}, pts)
        # torch's float64 celu gradient is only float32-accurate for some alpha (see below)
        np.testing.assert_allclose(auto, sym, rtol=1e-12 if name == "elu" else 1e-6, atol=1e-13)
        np.testing.assert_allclose(fd, sym, rtol=1e-6, atol=1e-6)


def test_celu_float64_gradient_imprecision_is_reported():
    # found by check_against_torch (torch 2.13, CPU): F.celu's float64 autograd derivative has
    # relative errors near 1e-7 for alpha = 0.3, while alpha = 1 or 2 is exact
    r = symbolic.check_against_torch("celu", alpha=0.3)
    finite = [m for m in r.mismatches if m["category"] != "nan"]
    assert finite and {m["quantity"] for m in finite} == {"derivative"}
    assert max(m["abs_error"] / abs(m["expected"]) for m in finite) < 1e-6
    assert symbolic.check_against_torch("celu", alpha=2.0).agrees_finite


@settings(max_examples=15, deadline=None)
@given(alpha=st.floats(-2.0, 2.0), seed=st.integers(0, 2**16))
def test_leaky_relu_over_alpha(alpha, seed):
    pts = _away_from_kinks("leaky_relu", {"alpha": alpha}, n=16, seed=seed)
    sym, auto, fd = _three_ways("leaky_relu", {"alpha": alpha}, pts)
    np.testing.assert_allclose(auto, sym, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(fd, sym, rtol=1e-6, atol=1e-7)
    left, right = symbolic.one_sided_derivatives("leaky_relu", 0, alpha=alpha)
    assert float(left) == pytest.approx(alpha) and right == 1


@settings(max_examples=15, deadline=None)
@given(beta=st.floats(0.1, 5.0), seed=st.integers(0, 2**16))
def test_softplus_over_beta(beta, seed):
    pts = np.random.default_rng(seed).uniform(-6, 6, 16)
    pts = pts[beta * pts < 19]  # torch's threshold linearisation starts at beta*x > 20
    sym, auto, fd = _three_ways("softplus", {"beta": beta}, pts)
    np.testing.assert_allclose(auto, sym, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(fd, sym, rtol=1e-6, atol=1e-7)
    assert symbolic.pieces("softplus", beta=beta).params[0][1] == sp.Rational(repr(beta))


@settings(max_examples=10, deadline=None)
@given(beta=st.floats(0.1, 5.0))
def test_swish_beta_against_its_definition(beta):
    pts = np.linspace(-6, 6, 25)
    d = sp.lambdify(x, symbolic.derivative("silu", beta=beta), "numpy")(pts)
    t = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    (auto,) = torch.autograd.grad((t * torch.sigmoid(beta * t)).sum(), t)
    np.testing.assert_allclose(auto.numpy(), d, rtol=1e-12, atol=1e-13)


def test_swish_beta_is_built_from_torch_ops():
    r = symbolic.check_against_torch("silu", beta=2.0)
    assert any("beta" in n for n in r.notes) and r.agrees_finite
    assert not any("beta" in n for n in symbolic.check_against_torch("swish").notes)
