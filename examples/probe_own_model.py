"""Probe your own model: sparsity, dead units and gradient flow of the article's ``MyModel``.

``MyModel`` is the article's 100-64-32-10 network (section 4). It calls ``F.relu`` inside
``forward``, which module hooks cannot see. :func:`reluthe.probes.capture.capture_activations`
records every activation call however it is made; the probes built on it take any torch model:

* :func:`reluthe.probes.sparsity.sparsity_profile`: per activation call, the share of exactly-zero
  outputs and the share of dead units (zero on every input of the batch);
* :func:`reluthe.probes.gradients.gradient_flow`: per activation call, the norm of the loss
  gradient with respect to its input, and the share of entries through which no gradient passes.

The model is trained briefly on MNIST-1D sampled at 100 points (so its input size matches) with
:func:`reluthe.train.fit`, one seed at a time, and probed on the test set at initialisation and
after training. Every number is a mean over seeds with a 95 % t interval
(:func:`reluthe.stats.mean_ci`).

Run::

    python examples/probe_own_model.py            # 5 seeds, 300 steps: a few seconds on a CPU
    python examples/probe_own_model.py --seeds 10 --steps 2000
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch import nn

from reluthe import data
from reluthe.probes.capture import capture_activations
from reluthe.probes.gradients import gradient_flow
from reluthe.probes.sparsity import sparsity_profile
from reluthe.stats import mean_ci
from reluthe.train import Recipe, fit


class MyModel(nn.Module):
    """The article's model, as printed there (section 4)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(in_features=100, out_features=64)
        self.fc2 = nn.Linear(in_features=64, out_features=32)
        self.fc3 = nn.Linear(in_features=32, out_features=10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def probe(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    """The probes' numbers for one model: per activation call, and first-to-last gradient ratio."""
    sparsity = sparsity_profile(model, x)
    flow = gradient_flow(model, x, y)
    return {"zero": sparsity.zero_fraction, "dead": sparsity.dead_fraction,
            "no_grad": flow.zero_grad_share.tolist(), "log10_ratio": flow.log10_ratio()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps (default 300)")
    args = parser.parse_args(argv)

    ds = data.load("mnist1d", seed=0, length=100, num_samples=1000)
    recipe = Recipe(lr=1e-3, batch_size=64, steps=args.steps, eval_every=args.steps)
    runs = {"init": [], "trained": []}
    test_acc = []
    for seed in range(args.seeds):
        with torch.random.fork_rng(devices=[]):  # MyModel draws its init from the global RNG
            torch.manual_seed(seed)
            model = MyModel()
        if seed == 0:  # what the probes are built on: every activation call, in order
            calls = capture_activations(model, ds.x_test[:8])
            print("activation calls:", [(c.name, tuple(c.output.shape)) for c in calls])
        runs["init"].append(probe(model, ds.x_test, ds.y_test))
        result = fit(model, ds, recipe, seed=seed)  # trains a copy; `model` is untouched
        runs["trained"].append(probe(result.model, ds.x_test, ds.y_test))
        test_acc.append(float(result.test_acc[-1]))

    print(f"MyModel on MNIST-1D (length 100), {args.seeds} seeds, {args.steps} steps; "
          f"test accuracy {mean_ci(test_acc)}")
    print(f"{'layer':<8}{'when':<9}{'zero outputs':<32}{'dead-unit share':<32}no-gradient entries")
    for layer in range(len(runs["init"][0]["zero"])):
        for when, rs in runs.items():
            cells = [str(mean_ci([r[key][layer] for r in rs])) for key in ("zero", "dead",
                                                                         "no_grad")]
            print(f"relu{layer + 1:<4}{when:<9}{cells[0]:<32}{cells[1]:<32}{cells[2]}")
    for when, rs in runs.items():
        print(f"log10(|grad first layer| / |grad last layer|) {when}: "
              f"{mean_ci([r['log10_ratio'] for r in rs])}")


if __name__ == "__main__":
    main()
