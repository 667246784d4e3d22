"""ReLU is not differentiable at 0 (claim C14).

Derivation: the one-sided difference quotients of f(x) = max(0, x) at 0 have limits 0 (left)
and 1 (right), so f'(0) does not exist; the subdifferential (Clarke's generalized gradient, here
also the convex subdifferential) is [0, 1]. The article's "f'(x) = 1 for x >= 0, 0 for x < 0"
agrees with f' for every x != 0 and is wrong at 0 only, where any value of [0, 1] is a
convention; torch's autograd uses 0.

Run: ``python proofs/relu_kink.py`` (exit status 0 when every step holds).
"""

import sympy as sp
import torch

from reluthe import symbolic
from reluthe.symbolic import article, x


def main() -> None:
    f = symbolic.activation("relu")
    h = sp.Symbol("h", positive=True)
    print("f(x) =", f)
    left = sp.limit((f.subs(x, 0) - f.subs(x, -h)) / h, h, 0)
    right = sp.limit((f.subs(x, h) - f.subs(x, 0)) / h, h, 0)
    print(f"left derivative  lim_(h->0+) (f(0) - f(-h))/h = {left}")
    print(f"right derivative lim_(h->0+) (f(h) - f(0))/h  = {right}")
    assert (left, right) == (0, 1)
    assert symbolic.one_sided_derivatives("relu", 0) == (left, right)
    print("left != right, so f'(0) does not exist.")

    sub = symbolic.subdifferential("relu", 0)
    print("subdifferential at 0:", sub)
    assert sub == sp.Interval(0, 1)
    # g is a subgradient at 0 iff f(y) >= f(0) + g*y for all y: split y > 0 and y < 0
    g = sp.Symbol("g", real=True)
    yp = sp.Symbol("y", positive=True)
    right_side = sp.solve_univariate_inequality(f.subs(x, yp) - g * yp >= 0, g, relational=False)
    left_side = sp.solve_univariate_inequality(f.subs(x, -yp) + g * yp >= 0, g, relational=False)
    print("f(y) >= g*y for all y > 0  <=> g in", right_side)
    print("f(y) >= g*y for all y < 0  <=> g in", left_side)
    assert right_side.intersect(left_side) == sp.Interval(0, 1)

    d = symbolic.derivative("relu")
    print("f'(x) =", d, "-> f'(0) =", d.subs(x, 0))
    assert d.subs(x, 0) is sp.nan
    claimed = article.relu_derivative_3_2()
    cmp = symbolic.compare_functions(claimed, d)
    print("article §3.2:", claimed)
    for row in cmp.intervals:
        print(f"  on {row['interval']}: article {row['f']}, exact {row['g']}, "
              f"equal {row['equal']}")
    for row in cmp.points:
        print(f"  at {row['at']}: article {row['f']}, exact {row['g']}, equal {row['equal']}")
    assert all(r["equal"] for r in cmp.intervals)
    assert [r["equal"] for r in cmp.points] == [False]

    t = torch.tensor([0.0, -0.0], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(torch.relu(t).sum(), t)
    print("torch autograd relu'(+0.0), relu'(-0.0) =", grad.tolist())
    assert grad.tolist() == [0.0, 0.0]
    assert symbolic.derivative("relu", at_kink="torch").subs(x, 0) == 0
    print("QED: f'(0) does not exist; [0, 1] are the valid values; torch picks 0, the article 1.")


if __name__ == "__main__":
    main()
