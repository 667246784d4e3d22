"""Mean-field predictions of gradient scaling through deep MLPs at initialisation.

For a wide MLP with i.i.d. zero-mean weights of variance ``σ_w²/fan_in`` and biases of variance
``σ_b²``, the pre-activations of layer ``l`` are approximately ``N(0, q_l)`` with the variance map
``q_{l+1} = σ_w² E[f(z)²] + σ_b²``, ``z ~ N(0, q_l)``, and the gradient passed back one layer
scales in squared norm by ``χ_l = σ_w² E[f'(z)²]`` (Poole et al. 2016, eq. 3; Schoenholz et
al. 2017, eq. 5). So ``‖δ_1‖ / ‖δ_D‖ ≈ Π_{l=1}^{D-1} χ_l^{1/2}``: gradients vanish when
``χ < 1`` and explode when ``χ > 1``. For ReLU ``E[f'(z)²] = 1/2`` for every ``q``, so χ = σ_w²/2:
He init (σ_w² = 2) gives χ = 1, Xavier (σ_w² = 1) 1/2, torch's default (σ_w² = 1/3) 1/6.

The Gaussian expectations are computed by numerical quadrature (``scipy.integrate.quad``, with
the kink at 0 as a break point). ``reluthe.symbolic`` gives ``E[f'(z)²]`` at ``q = 1`` only; the
recursion needs every ``q``, so it stays numerical here (the tests compare the two at q = 1).

Examples
--------
>>> round(expect_fprime_sq("relu", 3.0), 6)
0.5
>>> round(predicted_log10_ratio("relu", "xavier", [40, 128, 128, 128, 10], q1=1.0), 4)
-0.301
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special

__all__ = ["FUNCS", "expect_fprime_sq", "expect_f_sq", "init_variances", "predicted_log10_ratio",
           "meanfield_profile"]

_SQRT2 = math.sqrt(2.0)


def _sigmoid(z):
    return special.expit(z)


def _gelu(z):
    return z * 0.5 * (1.0 + math.erf(z / _SQRT2))


def _gelu_prime(z):
    return 0.5 * (1.0 + math.erf(z / _SQRT2)) + z * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


# name -> (f, f'), scalar float functions; parameters as reluthe.models' defaults
FUNCS = {
    "relu": (lambda z: max(z, 0.0), lambda z: 1.0 if z > 0 else 0.0),
    "leaky_relu": (lambda z: z if z > 0 else 0.01 * z, lambda z: 1.0 if z > 0 else 0.01),
    "elu": (lambda z: z if z > 0 else math.expm1(z), lambda z: 1.0 if z > 0 else math.exp(z)),
    "gelu": (_gelu, _gelu_prime),
    "tanh": (math.tanh, lambda z: 1.0 - math.tanh(z) ** 2),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "identity": (lambda z: z, lambda z: 1.0),
}


def _gauss(g, q: float) -> float:
    """E[g(z)] for z ~ N(0, q) by adaptive quadrature (break point at the kink z = 0)."""
    if q <= 0:
        return float(g(0.0))
    s = math.sqrt(q)
    lim = 12.0 * s

    def integrand(z):
        return g(z) * math.exp(-0.5 * z * z / q) / (s * math.sqrt(2 * math.pi))

    a, _ = integrate.quad(integrand, -lim, 0.0, limit=200)
    b, _ = integrate.quad(integrand, 0.0, lim, limit=200)
    return a + b


def expect_fprime_sq(name: str, q: float = 1.0) -> float:
    """``E[f'(z)²]`` for ``z ~ N(0, q)``."""
    fp = FUNCS[name][1]
    return _gauss(lambda z: fp(z) ** 2, q)


def expect_f_sq(name: str, q: float = 1.0) -> float:
    """``E[f(z)²]`` for ``z ~ N(0, q)``."""
    f = FUNCS[name][0]
    return _gauss(lambda z: f(z) ** 2, q)


def init_variances(init: str, fan_in: int, fan_out: int) -> tuple[float, float]:
    """``(σ_w², σ_b²)`` of an init rule of :func:`reluthe.models.init_linear_`.

    ``σ_w² = fan_in · Var(W_ij)``; ``σ_b² = Var(b_i)``. torch's default is U(±1/√fan_in) for
    both, i.e. variance 1/(3 fan_in).
    """
    if init == "default":
        return 1.0 / 3.0, 1.0 / (3.0 * fan_in)
    if init == "he":
        return 2.0, 0.0
    if init == "xavier":
        return 2.0 * fan_in / (fan_in + fan_out), 0.0
    if init == "lecun":
        return 1.0, 0.0
    raise ValueError(f"no mean-field variances for init {init!r}")


def meanfield_profile(name: str, init: str, widths, q1: float) -> dict:
    """Layer-by-layer ``q_l`` and ``χ_l`` of an MLP ``widths`` at hidden layer 1..D.

    ``q1`` is the mean square of the first hidden layer's pre-activations (from the data:
    ``σ_w²(1)/d · mean ‖x‖² + σ_b²(1)``). ``chi[l]`` is the factor from hidden layer ``l+1`` back
    to hidden layer ``l`` (it uses ``W_{l+1}``); there are ``D - 1`` of them.
    """
    hidden = list(widths[1:-1])
    q = [float(q1)]
    chi = []
    for l in range(len(hidden) - 1):
        s2, b2 = init_variances(init, hidden[l], hidden[l + 1])
        chi.append(s2 * expect_fprime_sq(name, q[-1]))
        q.append(s2 * expect_f_sq(name, q[-1]) + b2)
    return {"q": q, "chi": chi}


def predicted_log10_ratio(name: str, init: str, widths, q1: float) -> float:
    """Mean-field ``log10(‖δ_1‖ / ‖δ_D‖) = ½ Σ log10 χ_l``, first to last hidden layer."""
    chi = meanfield_profile(name, init, widths, q1)["chi"]
    return float(0.5 * np.sum(np.log10(chi))) if chi else 0.0
