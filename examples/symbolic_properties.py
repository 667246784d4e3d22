"""Derive an activation's properties exactly with ``reluthe.symbolic`` (sympy; no torch import).

For ReLU the script prints the definition, the derivative (NaN where it does not exist, or the
value torch's autograd uses there), the one-sided derivatives and the subdifferential at 0. For
each activation it then prints what :func:`reluthe.symbolic.properties` derives: the range, the
smoothness, whether ``f'`` vanishes at ±∞ (saturation), ``sup |f'|``, ``E[f'(z)²]`` for
``z ~ N(0, 1)``, the variance-preserving gain and the mean-field factor χ at that gain, and
``(sup |f'|)^L``, the bound on the product of derivatives along a path through ``L`` layers.

Run::

    python examples/symbolic_properties.py                  # relu leaky_relu elu sigmoid tanh
    python examples/symbolic_properties.py gelu silu --depth 20

``gelu`` and ``silu`` need numerical integration (mpmath) and take several seconds each.
"""

from __future__ import annotations

import argparse

import sympy as sp

from reluthe import symbolic
from reluthe.symbolic import x


def describe_relu() -> None:
    print("relu(x) =", symbolic.activation("relu"))
    print("relu'(x) =", symbolic.derivative("relu"))
    print("relu'(x), torch's autograd convention =", symbolic.derivative("relu", at_kink="torch"))
    left, right = symbolic.one_sided_derivatives("relu", 0)
    print(f"one-sided derivatives at 0: left {left}, right {right}; "
          f"subdifferential {symbolic.subdifferential('relu', 0)}")
    print("relu'(3) =", symbolic.derivative("relu").subs(x, 3))


def fmt(value) -> str:
    """A sympy number as a short string: exact when short, else 4 significant digits."""
    text = str(value)
    if len(text) <= 12:
        return text
    return f"{float(sp.N(value)):.4g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*",
                        default=["relu", "leaky_relu", "elu", "sigmoid", "tanh"],
                        help="activations (default: relu leaky_relu elu sigmoid tanh)")
    parser.add_argument("--depth", type=int, default=10, help="L in (sup|f'|)^L (default 10)")
    args = parser.parse_args(argv)

    describe_relu()
    print()
    header = ["activation", "range", "smooth", "saturates", "sup|f'|", "E[f'(z)^2]", "gain",
              "chi(gain)", f"sup|f'|^{args.depth}"]
    widths = [12, 22, 7, 11, 9, 12, 10, 10, 12]
    print("".join(h.ljust(w) for h, w in zip(header, widths)))
    for name in args.names:
        p = symbolic.properties(name)
        saturates = "/".join(side for side, s in (("left", p.saturates_left),
                                                   ("right", p.saturates_right)) if s) or "no"
        row = [name, str(p.range), p.smoothness, saturates, fmt(p.sup_abs_derivative),
               fmt(p.moments.derivative_second_moment), fmt(p.gain), fmt(p.chi_at_gain),
               fmt(p.sup_abs_derivative ** args.depth)]
        print("".join(str(c).ljust(w) for c, w in zip(row, widths)))


if __name__ == "__main__":
    main()
