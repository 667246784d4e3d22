"""Count the activation regions of a trained network on a 2-D slice through three training points.

A small ReLU MLP is trained on scikit-learn's digits (64 inputs). Three training images of
different classes span an affine plane; :func:`reluthe.regions.plane_through` gives it as
``origin + a·u + b·v`` (``u``, ``v`` orthonormal) with a rectangle around the three images, and
:func:`reluthe.regions.count_on_plane` finds every activation region of the hidden layers on it
exactly (float64 geometry, no sampling), at initialisation and after training, together with the
number of linear regions (activation regions on which the network is one affine map are merged).
The regions of the trained network are drawn coloured by the predicted class, with the exact
decision boundary and the training images of digits 0, 1 and 2 projected onto the slice (their
distance off the slice is ignored); the per-region table (``to_frame``, pandas) gives the area
predicted as each class, and the region adjacency graph (one node per region, one edge per shared
side) is summarised with networkx.

Run::

    python examples/regions_on_slice.py                  # 32-32 hidden units, 500 Adam steps
    python examples/regions_on_slice.py --width 64 --steps 2000 --out figures/
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import networkx as nx
from matplotlib.figure import Figure

from reluthe import data, models, regions
from reluthe.train import Recipe, train_mlps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=32, help="units per hidden layer (32)")
    parser.add_argument("--steps", type=int, default=500, help="Adam steps (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation and batch seed")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the figure")
    args = parser.parse_args(argv)

    ds = data.load("digits", seed=0)
    widths = [64, args.width, args.width, 10]
    res = train_mlps(ds, widths, seeds=[args.seed],
                     recipes=Recipe(steps=args.steps, eval_every=args.steps))
    trained = res.model(0)
    initial = models.mlp(widths, seed=args.seed)  # the same initialisation, before training
    print(f"{widths} MLP, test accuracy {res.test_acc[0, -1]:.3f} after {args.steps} steps")

    # three training images of different classes span the slice
    first = {}
    for i, label in enumerate(ds.y_train.tolist()):
        first.setdefault(label, i)
    images = [ds.x_train[first[c]].double().numpy() for c in (0, 1, 2)]
    origin, u, v, extent = regions.plane_through(*images)  # extent = (a0, a1, b0, b1)

    for name, net in (("at initialisation", initial), ("after training", trained)):
        plane = regions.count_on_plane(net, origin, u, v, extent)
        print(f"activation regions on the slice {name}: {plane.count} "
              f"({plane.linear_count} linear regions)")

    graph = plane.graph  # of the trained network
    degrees = [d for _, d in graph.degree()]
    flips = Counter(layer for _, _, (layer, unit) in graph.edges(data="neuron"))
    print(f"region graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges, "
          f"mean degree {sum(degrees) / len(degrees):.2f}, connected: {nx.is_connected(graph)}")
    print("shared sides by hidden layer of the unit that flips (0 = first): "
          f"{dict(sorted(flips.items()))}")

    table = plane.to_frame()  # one row per region: area, pattern, active units, outputs, ...
    share = table.groupby("predicted_class")["area"].sum() / table["area"].sum()
    print("share of the slice predicted as each digit: "
          + ", ".join(f"{c}: {s:.2f}" for c, s in share.items()))
    segments, _ = plane.decision_boundary()
    print(f"decision boundary: {len(segments)} segments (exact, computed region by region)")

    # the training images of digits 0-2 (projected onto the slice) over the predicted classes
    shown = (ds.y_train <= 2).nonzero().flatten()[:60]
    fig = Figure(figsize=(6.5, 5.5), layout="constrained")
    ax = plane.plot("class", ax=fig.add_subplot(), boundary=True,
                    points=ds.x_train[shown].double().numpy(),
                    labels=ds.y_train[shown].tolist(), edges=True)
    ab = [((p - origin) @ u, (p - origin) @ v) for p in images]
    for (a, b), c in zip(ab, (0, 1, 2)):
        ax.annotate(f"digit {c}", (a, b), textcoords="offset points",
                    xytext=(4, 4), fontsize="small")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "regions_on_slice.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
