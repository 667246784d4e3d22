"""E[relu(z)^2] = 1/2 for z ~ N(0, 1); He's gain sqrt(2); chi = 1 at He initialisation.

Derivation: E[relu(z)^2] = int_0^oo z^2 phi(z) dz = 1/2 (half of E[z^2] by symmetry). With
weights W ~ N(0, g^2/fan_in) and zero biases, the pre-activation second moment obeys
q_(l+1) = g^2 E[relu(sqrt(q_l) z)^2] = g^2 q_l / 2, preserved iff g = sqrt(2) (He et al. 2015).
The gradient factor per layer is chi = sigma_w^2 E[relu'(z)^2] = sigma_w^2 P(z > 0) =
sigma_w^2 / 2 (Schoenholz et al. 2017), which is 1 at sigma_w^2 = g^2 = 2.

Run: ``python proofs/relu_signal_propagation.py``.
"""

import sympy as sp

from reluthe import symbolic


def main() -> None:
    z = sp.Symbol("z", real=True)
    q = sp.Symbol("q", positive=True)
    s2 = sp.Symbol("sigma_w2", positive=True)
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    second = sp.integrate(z**2 * phi, (z, 0, sp.oo))
    print("E[relu(z)^2] = int_0^oo z^2 phi(z) dz =", second)
    assert second == sp.Rational(1, 2)
    scaled = sp.integrate((sp.sqrt(q) * z) ** 2 * phi, (z, 0, sp.oo))
    print("E[relu(sqrt(q) z)^2] =", sp.simplify(scaled))
    assert sp.simplify(scaled - q / 2) == 0
    g = sp.Symbol("g", positive=True)
    fixed = sp.solve(sp.Eq(g**2 * q / 2, q), g)
    print("q = g^2 q / 2  =>  g =", fixed)
    assert fixed == [sp.sqrt(2)]
    m = symbolic.gaussian_moments("relu")
    print("library moments:", m.mean, m.second_moment, m.derivative_second_moment, m.methods)
    assert m.second_moment == second and m.derivative_second_moment == sp.Rational(1, 2)
    assert symbolic.gain("relu") == sp.sqrt(2)
    p_active = sp.integrate(phi, (z, 0, sp.oo))
    print("E[relu'(z)^2] = P(z > 0) =", p_active)
    assert p_active == sp.Rational(1, 2)
    print("chi(sigma_w2) =", symbolic.chi("relu", s2), "; chi(2) =", symbolic.chi("relu", 2))
    assert sp.simplify(symbolic.chi("relu", s2) - s2 / 2) == 0
    assert symbolic.chi("relu", 2) == 1
    print("QED: He gain sqrt(2); chi = 1, so gradient norms are preserved in mean field, and "
          "chi^L = 1 for any depth L.")


if __name__ == "__main__":
    main()
