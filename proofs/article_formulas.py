"""The four formulas of the article's §8 Q2 are torch's functions (claim C22).

Derivation: sympy compares each formula with the catalogue function (torch's definition) on
every interval between breakpoints and at the breakpoints, for a symbolic alpha (any real for
Leaky ReLU, any alpha > 0 for ELU). Writing the case split with x >= 0 instead of x > 0 gives the
same function, because both branches are 0 at 0. Numerically, the lambdified article formulas
agree with torch's implementations in float64 on a grid (rtol 1e-12).

Run: ``python proofs/article_formulas.py``.
"""

import numpy as np
import sympy as sp
import torch
import torch.nn.functional as F

from reluthe import symbolic
from reluthe.symbolic import article, x

TORCH = {
    "sigmoid": lambda t, a: torch.sigmoid(t),
    "tanh": lambda t, a: torch.tanh(t),
    "leaky_relu": lambda t, a: F.leaky_relu(t, a),
    "elu": lambda t, a: F.elu(t, a),
}


def main() -> None:
    formulas = article.q2_formulas()
    for name, formula in formulas.items():
        alpha = {"leaky_relu": article.LEAKY_ALPHA, "elu": article.ELU_ALPHA}.get(name)
        params = {"alpha": alpha} if alpha is not None else {}
        cmp = symbolic.compare_functions(formula, symbolic.activation(name, **params))
        print(f"{name}: article {formula}")
        print(f"   catalogue {symbolic.activation(name, **params)} -> equal: {cmp.equal}")
        for row in cmp.points:
            print(f"   at {row['at']}: article {row['f']}, catalogue {row['g']}")
        assert cmp.equal, cmp
        grid = np.linspace(-8, 8, 1601)
        for a in ([0.01, 0.2, -0.5] if name == "leaky_relu" else [1.0, 0.5, 2.0]
                  if name == "elu" else [None]):
            expr = formula.subs(alpha, a) if alpha is not None else formula
            ours = sp.lambdify(x, expr, "numpy")(grid) * np.ones_like(grid)
            theirs = TORCH[name](torch.tensor(grid, dtype=torch.float64), a).numpy()
            err = np.max(np.abs(ours - theirs) / np.maximum(1, np.abs(theirs)))
            print(f"   alpha={a}: max relative difference to torch on [-8, 8] = {err:.1e}")
            assert err <= 1e-12
    elu = formulas["elu"]
    assert elu.subs(x, 0) == 0 and article.ELU_ALPHA * (sp.exp(0) - 1) == 0
    print("ELU at 0: article's x >= 0 branch gives 0, torch's x <= 0 branch alpha(e^0 - 1) = 0")
    print("QED: the four Q2 formulas are the functions torch implements.")


if __name__ == "__main__":
    main()
