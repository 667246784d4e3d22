"""reluthe.symbolic: catalogue, derivatives at kinks, properties, signal propagation."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, stats

from reluthe import symbolic
from reluthe.errors import InvalidInputError
from reluthe.symbolic import x

PIECEWISE = ("relu", "leaky_relu", "elu", "selu", "celu", "hardtanh", "relu6")


def test_import_does_not_import_torch():
    code = "import reluthe.symbolic, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_catalogue_covers_models_names():
    from reluthe.models import ACTIVATIONS

    assert set(ACTIVATIONS) <= set(symbolic.ACTIVATIONS)
    assert set(symbolic.ACTIVATIONS) == set(ACTIVATIONS)
    assert symbolic.activation("swish") == symbolic.activation("silu")


def test_defaults_are_torchs():
    import torch

    assert symbolic.parameters("leaky_relu") == {"alpha": sp.Rational(1, 100)}
    assert symbolic.parameters("softplus") == {"beta": 1}
    selu = symbolic.parameters("selu")
    y = torch.nn.functional.selu(torch.tensor([-1.0, 1.0], dtype=torch.float64))
    assert y[1].item() == pytest.approx(float(selu["scale"]), rel=1e-15)
    assert y[0].item() == pytest.approx(float(selu["scale"] * selu["alpha"] * (sp.exp(-1) - 1)),
                                        rel=1e-15)


def test_relu_is_max_and_article_cases():
    relu = symbolic.activation("relu")
    assert relu == sp.Piecewise((0, x < 0), (x, True))
    assert symbolic.compare_functions(relu, sp.Max(0, x)).equal
    assert symbolic.compare_functions(relu, symbolic.article.relu_cases_2_1()).equal
    assert not symbolic.compare_functions(relu, symbolic.activation("leaky_relu")).equal


@pytest.mark.parametrize("name, reference", [
    ("relu6", sp.Min(sp.Max(0, x), 6)),
    ("hardtanh", sp.Min(sp.Max(x, -1), 1)),
    ("tanh", (sp.exp(x) - sp.exp(-x)) / (sp.exp(x) + sp.exp(-x))),
    ("sigmoid", sp.exp(x) / (1 + sp.exp(x))),
])
def test_catalogue_equals_reference_forms(name, reference):
    assert symbolic.compare_functions(symbolic.activation(name), reference).equal


@pytest.mark.parametrize("name, formula", [
    # torch documentation formulas, checked numerically on a grid
    ("celu", lambda t, a=1.0: np.maximum(0, t) + np.minimum(0, a * np.expm1(t / a))),
    ("selu", lambda t: 1.0507009873554804934193349852946 * (
        np.maximum(0, t) + np.minimum(0, 1.6732632423543772848170429916717 * np.expm1(t)))),
    ("gelu_tanh", lambda t: 0.5 * t * (1 + np.tanh(np.sqrt(2 / np.pi) * (t + 0.044715 * t**3)))),
    ("mish", lambda t: t * np.tanh(np.log1p(np.exp(t)))),
])
def test_catalogue_matches_torch_doc_formulas(name, formula):
    grid = np.linspace(-6, 6, 241)
    ours = sp.lambdify(x, symbolic.activation(name), ["numpy", "scipy"])(grid)
    np.testing.assert_allclose(ours, formula(grid), rtol=1e-13, atol=1e-15)


def test_symbolic_parameters():
    a = sp.Symbol("a", positive=True)
    assert symbolic.activation("elu", alpha=a) == sp.Piecewise((a * (sp.exp(x) - 1), x < 0),
                                                               (x, True))
    b = sp.Symbol("b", real=True)
    assert symbolic.activation("leaky_relu", alpha=b).subs(x, -2) == -2 * b
    assert symbolic.activation("leaky_relu", alpha=0.1).subs(x, -1) == sp.Rational(-1, 10)


def test_unknown_name_lists_the_catalogue():
    with pytest.raises(InvalidInputError, match="relu6") as info:
        symbolic.activation("rectifier")
    assert "rectifier" in str(info.value) and "swish" in str(info.value)
    with pytest.raises(InvalidInputError):
        symbolic.derivative(3)


@pytest.mark.parametrize("name, params, fragment", [
    ("elu", {"alpha": 0}, "must be > 0"),
    ("elu", {"alpha": -1.5}, "must be > 0"),
    ("celu", {"alpha": sp.Symbol("c", real=True)}, "positive=True"),
    ("softplus", {"beta": -1}, "must be > 0"),
    ("silu", {"beta": 0.0}, "must be > 0"),
    ("leaky_relu", {"alpha": float("nan")}, "finite"),
    ("leaky_relu", {"alpha": True}, "real number"),
    ("leaky_relu", {"alpha": sp.Symbol("c")}, "real"),
    ("leaky_relu", {"slope": 0.1}, "unknown"),
    ("hardtanh", {"min_val": 2, "max_val": 1}, "min_val < max_val"),
    ("relu", {"alpha": 1}, "unknown"),
])
def test_parameters_out_of_domain(name, params, fragment):
    with pytest.raises(InvalidInputError, match=fragment):
        symbolic.activation(name, **params)


def test_relu_derivative_has_no_value_at_zero():
    d = symbolic.derivative("relu")
    assert d.subs(x, 0) is sp.nan
    assert d.subs(x, -3) == 0 and d.subs(x, sp.Rational(1, 10**9)) == 1
    assert symbolic.derivative("relu", at_kink="torch").subs(x, 0) == 0
    assert symbolic.derivative("relu", at_kink="right").subs(x, 0) == 1
    assert symbolic.derivative("relu", at_kink=sp.Rational(1, 2)).subs(x, 0) == sp.Rational(1, 2)
    with pytest.raises(InvalidInputError, match="at_kink"):
        symbolic.derivative("relu", at_kink="middle")


def test_derivative_kinks_depend_on_parameters():
    assert symbolic.kinks("elu") == ()
    assert symbolic.derivative("elu").subs(x, 0) == 1
    assert symbolic.kinks("elu", alpha=2) == (0,)
    assert symbolic.derivative("elu", alpha=2).subs(x, 0) is sp.nan
    assert symbolic.kinks("celu", alpha=3) == ()
    assert symbolic.kinks("leaky_relu", alpha=1) == ()
    a = sp.Symbol("a", real=True)
    d = symbolic.derivative("leaky_relu", alpha=a)
    assert d.subs(x, 0).subs(a, 1) == 1 and d.subs(x, 0).subs(a, 2) is sp.nan
    assert symbolic.kinks("hardtanh") == (-1, 1)
    assert symbolic.derivative("hardtanh").subs(x, 1) is sp.nan
    assert symbolic.derivative("hardtanh", at_kink="torch").subs(x, -1) == 0


@pytest.mark.parametrize("name", PIECEWISE)
def test_one_sided_derivatives_equal_difference_quotient_limits(name):
    f = symbolic.activation(name)
    h = sp.Symbol("h", positive=True)
    for b in symbolic.pieces(name).breakpoints:
        left = sp.limit((f.subs(x, b) - f.subs(x, b - h)) / h, h, 0)
        right = sp.limit((f.subs(x, b + h) - f.subs(x, b)) / h, h, 0)
        got = symbolic.one_sided_derivatives(name, b)
        assert sp.simplify(got[0] - left) == 0 and sp.simplify(got[1] - right) == 0


def test_subdifferentials():
    assert symbolic.subdifferential("relu", 0) == sp.Interval(0, 1)
    assert symbolic.subdifferential("leaky_relu", 0) == sp.Interval(sp.Rational(1, 100), 1)
    assert symbolic.subdifferential("hardtanh", 1) == sp.Interval(0, 1)  # concave kink: Clarke
    assert symbolic.subdifferential("relu", 2) == sp.FiniteSet(1)
    assert symbolic.subdifferential("sigmoid", 0) == sp.FiniteSet(sp.Rational(1, 4))
    assert symbolic.one_sided_derivatives("relu6", 6.0) == (1, 0)
    for bad in (float("inf"), float("nan"), "0", None):
        with pytest.raises(InvalidInputError, match="'at'"):
            symbolic.one_sided_derivatives("relu", bad)


def test_limits_at_infinity():
    lim = symbolic.limits_at_infinity("sigmoid")
    assert lim == {"f(-oo)": 0, "f(+oo)": 1, "f'(-oo)": 0, "f'(+oo)": 0}
    assert symbolic.limits_at_infinity("relu")["f'(+oo)"] == 1


def _f(name):
    return sp.lambdify(x, symbolic.activation(name), ["numpy", "scipy"])


def _df(name):
    return sp.lambdify(x, symbolic.derivative(name), ["numpy", "scipy"])


@pytest.mark.parametrize("name", symbolic.ACTIVATIONS)
def test_properties_agree_with_sampling_and_quadrature(name):
    p = symbolic.properties(name)
    json.dumps(p.to_dict())
    grid = np.linspace(-12, 12, 4801)
    with np.errstate(all="ignore"):
        fv = np.asarray(_f(name)(grid), dtype=float) * np.ones_like(grid)
        dv = np.asarray(_df(name)(grid), dtype=float) * np.ones_like(grid)
    dv = dv[np.isfinite(dv)]
    sup = float(p.sup_abs_derivative)
    assert np.max(np.abs(dv)) <= sup * (1 + 1e-12)
    if p.sup_abs_derivative_at != sp.EmptySet:  # attained: the grid comes close to it
        assert np.max(np.abs(dv)) >= sup - 2e-3
    lo, hi = float(p.infimum.value), float(p.supremum.value)
    assert fv.min() >= lo - 1e-12 and fv.max() <= hi + 1e-12
    diffs = np.diff(fv)
    if p.monotonicity in ("increasing", "nondecreasing"):
        assert diffs.min() >= -1e-12
    elif p.monotonicity == "not monotonic":
        assert diffs.min() < 0 < diffs.max()
    # Gaussian moments, computed again with scipy's quadrature
    pdf = stats.norm.pdf
    f, df = _f(name), _df(name)
    pts = [float(b) for b in symbolic.pieces(name).breakpoints]
    mean = integrate.quad(lambda t: f(t) * pdf(t), -40, 40, points=pts or None, limit=200)[0]
    sq = integrate.quad(lambda t: f(t) ** 2 * pdf(t), -40, 40, points=pts or None, limit=200)[0]
    dsq = integrate.quad(lambda t: df(t) ** 2 * pdf(t), -40, 40, points=pts or None,
                         limit=200)[0]
    assert float(p.moments.mean) == pytest.approx(mean, abs=1e-9)
    assert float(p.moments.second_moment) == pytest.approx(sq, abs=1e-9)
    assert float(p.moments.derivative_second_moment) == pytest.approx(dsq, abs=1e-9)
    assert float(p.gain) == pytest.approx(1 / math.sqrt(sq), rel=1e-8)


def test_properties_known_values():
    relu = symbolic.properties("relu")
    assert relu.range == sp.Interval(0, sp.oo)
    assert (relu.convex, relu.concave, relu.smoothness, relu.kinks) == (True, False, "C^0", (0,))
    assert relu.monotonicity == "nondecreasing"
    assert relu.sup_abs_derivative == 1
    assert relu.sup_abs_derivative_at == sp.Interval.open(0, sp.oo)
    assert relu.expected_value == 1 / sp.sqrt(2 * sp.pi)
    assert relu.expected_square == sp.Rational(1, 2) == relu.expected_derivative_square
    assert relu.gain == sp.sqrt(2) and relu.chi_at_gain == 1
    assert set(relu.methods.values()) == {"exact (sympy)"}

    sig = symbolic.properties("sigmoid")
    assert sig.range == sp.Interval.open(0, 1)
    assert sig.sup_abs_derivative == sp.Rational(1, 4)
    assert sig.sup_abs_derivative_at == sp.FiniteSet(0)
    assert sig.saturates_left and sig.saturates_right
    assert (sig.monotonicity, sig.smoothness) == ("increasing", "C^inf")
    assert sig.methods["moments.second_moment"].startswith("numeric")

    tanh = symbolic.properties("tanh")
    assert tanh.sup_abs_derivative == 1 and tanh.sup_abs_derivative_at == sp.FiniteSet(0)
    assert not tanh.convex and not tanh.concave

    elu = symbolic.properties("elu")
    assert elu.kinks == () and elu.smoothness == "C^1" and elu.range == sp.Interval.open(-1, sp.oo)
    assert elu.sup_abs_derivative_at == sp.Interval(0, sp.oo)
    assert symbolic.properties("elu", alpha=2).smoothness == "C^0"
    assert symbolic.properties("celu", alpha=2).smoothness == "C^1"

    selu = symbolic.properties("selu")  # self-normalising: mean 0, second moment 1 at N(0, 1)
    assert abs(float(selu.expected_value)) < 1e-15
    assert float(selu.expected_square) == pytest.approx(1, abs=1e-15)
    assert not selu.derivative_supremum.attained
    assert selu.derivative_supremum.approached == ("x -> 0-",)

    gelu = symbolic.properties("gelu")
    assert gelu.sup_abs_derivative_at == sp.FiniteSet(sp.sqrt(2))
    exact = sp.Rational(1, 2) + sp.erf(1) / 2 + sp.exp(-1) / sp.sqrt(sp.pi)
    assert sp.simplify(gelu.sup_abs_derivative - exact) == 0
    assert gelu.monotonicity == "not monotonic" and gelu.methods["range"].startswith("numeric")
    assert float(gelu.infimum.value) == pytest.approx(-0.16997120747990366, rel=1e-12)

    soft = symbolic.properties("softplus")
    assert soft.sup_abs_derivative == 1 and soft.sup_abs_derivative_at == sp.EmptySet
    assert soft.derivative_supremum.approached == ("x -> oo",)

    ident = symbolic.properties("identity")
    assert ident.convex and ident.concave and ident.monotonicity == "increasing"
    hard = symbolic.properties("hardtanh")
    assert hard.monotonicity == "nondecreasing" and not hard.convex and not hard.concave
    assert symbolic.properties("leaky_relu", alpha=-0.5).monotonicity == "not monotonic"
    assert symbolic.properties("leaky_relu", alpha=2).concave


def test_gain_and_chi():
    s = sp.Symbol("s", positive=True)
    assert symbolic.chi("relu", s) == s / 2
    assert symbolic.chi("relu", 2) == 1
    assert symbolic.chi("relu", 2, q=3) == 1  # relu' does not depend on the scale
    assert symbolic.gain("identity") == 1
    assert float(symbolic.chi("tanh", 1)) < 1
    m = symbolic.gaussian_moments("relu", q=4)
    assert m.second_moment == 2
    with pytest.raises(InvalidInputError, match="sigma_w2"):
        symbolic.chi("relu", -1)
    with pytest.raises(InvalidInputError, match="'q'"):
        symbolic.gaussian_moments("relu", q=0)
    with pytest.raises(InvalidInputError, match="numeric parameters"):
        symbolic.properties("elu", alpha=sp.Symbol("a", positive=True))


def test_properties_are_cached():
    symbolic.properties("sigmoid")
    assert symbolic.properties("sigmoid") is symbolic.properties("sigmoid")


def test_compare_functions_reports_where():
    cmp = symbolic.compare_functions(symbolic.article.relu_derivative_3_2(),
                                     symbolic.derivative("relu"))
    assert not cmp.equal
    assert [r["equal"] for r in cmp.intervals] == [True, True]
    assert cmp.points[0]["at"] == "0" and cmp.points[0]["f"] == "1"
    json.dumps(cmp.to_dict())
    with pytest.raises(InvalidInputError, match="linear in x"):
        symbolic.compare_functions(sp.Piecewise((0, x**2 < 1), (1, True)), x)
