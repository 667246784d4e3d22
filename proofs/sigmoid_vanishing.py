"""sup sigmoid' = 1/4, attained at 0 only; sup tanh' = 1 at 0 only (theory of claim C15).

Derivation: sigma' = sigma (1 - sigma), and 1/4 - sigma' = (sigma - 1/2)^2 >= 0 with equality iff
sigma(x) = 1/2 iff x = 0. For a chain y_l = sigma(w_l y_(l-1)) the chain rule gives
dy_L/dy_0 = prod_l w_l sigma'(z_l), so |dy_L/dy_0| <= (1/4)^L prod_l |w_l| (for vectors,
||J|| <= (1/4)^L prod ||W_l||). For tanh, 1 - tanh' = tanh^2 >= 0, zero iff x = 0, so the factor
is at most 1 per layer and below 1 everywhere but 0. ReLU's derivative is 1 on the active side.

Run: ``python proofs/sigmoid_vanishing.py``.
"""

import numpy as np
import sympy as sp

from reluthe import symbolic
from reluthe.symbolic import x


def main() -> None:
    s = symbolic.activation("sigmoid")
    ds = sp.diff(s, x)
    print("sigma(x) =", s, "; sigma'(x) =", sp.simplify(ds))
    assert sp.simplify(ds - s * (1 - s)) == 0
    gap = sp.simplify(sp.Rational(1, 4) - ds - (s - sp.Rational(1, 2)) ** 2)
    print("1/4 - sigma'(x) - (sigma(x) - 1/2)^2 =", gap)
    assert gap == 0
    assert sp.solveset(sp.Eq(s, sp.Rational(1, 2)), x, sp.Reals) == sp.FiniteSet(0)
    print("so sigma' <= 1/4 with equality iff sigma(x) = 1/2 iff x = 0")
    p = symbolic.properties("sigmoid")
    print("properties: sup|sigma'| =", p.sup_abs_derivative, "at", p.sup_abs_derivative_at)
    assert p.sup_abs_derivative == sp.Rational(1, 4)
    assert p.sup_abs_derivative_at == sp.FiniteSet(0)

    L = 3
    w = sp.symbols(f"w1:{L + 1}", real=True)
    y, zs = x, []
    for wl in w:
        zs.append(wl * y)
        y = s.subs(x, wl * y)
    chain = sp.diff(y, x)
    product = sp.Mul(*[wl * ds.subs(x, zl) for wl, zl in zip(w, zs)])
    assert sp.simplify(chain - product) == 0
    print(f"chain rule for {L} layers: dy/dx = prod_l w_l sigma'(z_l)")
    rng = np.random.default_rng(0)
    f = sp.lambdify((x, *w), chain, "numpy")
    for _ in range(200):
        ws = rng.normal(0, 3, L)
        x0 = rng.normal(0, 3)
        assert abs(f(x0, *ws)) <= 0.25 ** L * np.prod(np.abs(ws)) * (1 + 1e-12)
    print(f"checked |dy/dx| <= (1/4)^{L} prod|w_l| at 200 random points (seed 0)")

    t = symbolic.activation("tanh")
    dt = sp.diff(t, x)
    assert sp.simplify(1 - dt - t**2) == 0
    pt = symbolic.properties("tanh")
    print("tanh' = 1 - tanh^2; sup|tanh'| =", pt.sup_abs_derivative, "at", pt.sup_abs_derivative_at)
    assert pt.sup_abs_derivative == 1 and pt.sup_abs_derivative_at == sp.FiniteSet(0)
    pr = symbolic.properties("relu")
    print("relu: sup|f'| =", pr.sup_abs_derivative, "attained on", pr.sup_abs_derivative_at)
    assert pr.sup_abs_derivative == 1 and pr.sup_abs_derivative_at == sp.Interval.open(0, sp.oo)
    print("QED: L sigmoid layers scale gradients by at most (1/4)^L times the weight norms; "
          "tanh's factor is <= 1 (= 1 only at 0); relu's is 1 on the active path.")


if __name__ == "__main__":
    main()
