"""Train many seeds and hyper-parameters at once, then compare them with confidence intervals.

:func:`reluthe.train.train_mlps` trains ``len(recipes) × len(seeds)`` MLPs of one shape as a
single batched model (stacked weights, one batched matmul per layer), which is much faster than
a loop over models. Member ``r * len(seeds) + s`` has ``recipes[r]`` and ``seeds[s]``; the seed
fixes both the initialisation and the batch order, so the two recipes below are compared seed by
seed with a paired t interval (:func:`reluthe.stats.paired_diff_ci`).

The script trains a 64-64-64-10 ReLU MLP on scikit-learn's digits with and without an L1
activity penalty, prints test accuracy and the fraction of exactly-zero hidden activations per
recipe, and saves the test-accuracy curves to ``train_seeds.png``.

Run::

    python examples/train_seeds.py               # 5 seeds × 2 recipes, 300 steps
    python examples/train_seeds.py --seeds 10 --steps 2000 --out figures/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from matplotlib.figure import Figure

from reluthe import data
from reluthe.stats import mean_ci, paired_diff_ci
from reluthe.train import Recipe, train_mlps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps (default 300)")
    parser.add_argument("--l1", type=float, default=1e-2, help="L1 activity coefficient")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the figure")
    args = parser.parse_args(argv)

    ds = data.load("digits", seed=0)
    recipes = [Recipe(steps=args.steps, eval_every=max(1, args.steps // 10)),
               Recipe(steps=args.steps, eval_every=max(1, args.steps // 10), l1_activity=args.l1)]
    names = ["plain", f"L1 activity {args.l1:g}"]
    seeds = list(range(args.seeds))
    res = train_mlps(ds, [64, 64, 64, 10], seeds=seeds, recipes=recipes)
    print(f"trained {res.n_members} MLPs in {res.time_s:.1f} s")

    n = len(seeds)
    hidden = res.hidden(ds.x_test)  # per hidden layer: (members, inputs, units)
    zero = sum((h == 0).float().mean(dim=(1, 2)) for h in hidden) / len(hidden)
    acc = res.test_acc[:, -1]
    for r, name in enumerate(names):
        members = slice(r * n, (r + 1) * n)
        print(f"{name:<18} test acc {mean_ci(acc[members])}   "
              f"zero fraction {mean_ci(zero[members].tolist())}")
    print(f"L1 - plain, paired by seed: test acc {paired_diff_ci(acc[n:], acc[:n])}")

    fig = Figure(figsize=(5, 3.2))
    ax = fig.add_subplot()
    for k in range(res.n_members):
        r = k // n
        ax.plot(res.steps, res.test_acc[k], color=f"C{r}", alpha=0.7,
                label=names[r] if k % n == 0 else None)
    ax.set(xlabel="step", ylabel="test accuracy", title=f"digits, {n} seeds per recipe")
    ax.legend()
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "train_seeds.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
