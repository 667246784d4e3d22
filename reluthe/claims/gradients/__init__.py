"""Gradient-family claims: gradient flow, compute cost, depth, compute budgets, the bound, MyModel.

* C05 (``c05_gradient_flow``) — ReLU's derivative of 1 passes the gradient fully and avoids
  vanishing gradients;
* C06 (``c06_compute_cost``) — ReLU's max operation is cheaper to compute than sigmoid or tanh;
* C09 (``c09_depth_trainability``) — the constant gradient lets deep networks learn
  (trainability vs depth, dead units);
* C10 (``c10_compute_budget``) — cheap computation gives better generalization under limited
  compute;
* C15 (``c15_vanishing_bound``) — the constant derivative avoids vanishing gradients (the bound
  sup|f'| · ‖W‖₂ against the measured decay);
* C17 (``c17_mymodel``) — the article's own ``MyModel`` and the three purposes it names.

Shared code: ``_common`` (data, estimates, plot styles), ``_flow`` (gradient flow at init, C05
and C15), ``_meanfield`` (mean-field predictions, C05), ``_timing`` (timings as record rows,
C06 and C10).

Examples
--------
>>> sorted(CHECKS)
['C05', 'C06', 'C09', 'C10', 'C15', 'C17']
>>> CHECKS["C17"].plot is c17_mymodel.plot
True
"""

from __future__ import annotations

from reluthe.claims._base import checks_of
from reluthe.claims.gradients import (
    c05_gradient_flow,
    c06_compute_cost,
    c09_depth_trainability,
    c10_compute_budget,
    c15_vanishing_bound,
    c17_mymodel,
)

CLAIMS = (c05_gradient_flow, c06_compute_cost, c09_depth_trainability, c10_compute_budget,
          c15_vanishing_bound, c17_mymodel)
CHECKS = checks_of(CLAIMS)
