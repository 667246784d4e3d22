"""Gradient-family claims: gradient flow, depth, dead units, cost, compute budgets, MyModel.

* C05 — ReLU's derivative of 1 passes the gradient fully and avoids vanishing gradients;
* C06 — ReLU's max operation is cheaper to compute than sigmoid or tanh;
* C09 — the constant gradient lets deep networks learn (trainability vs depth, dead units);
* C10 — cheap computation gives better generalization under limited compute;
* C15 — the constant derivative avoids vanishing gradients (symbolic bound vs measurement);
* C17 — the article's own ``MyModel`` and the three purposes it names.

Each check is implemented in a private module (``_gradients_flow``, ``_gradients_depth``,
``_gradients_cost``, ``_gradients_mymodel``) from the probes in ``reluthe.probes.gradients``,
``.dead`` and ``.speed``.
"""

from __future__ import annotations

from reluthe.claims import _gradients_cost as _cost
from reluthe.claims import _gradients_depth as _depth
from reluthe.claims import _gradients_flow as _flow
from reluthe.claims import _gradients_mymodel as _mymodel
from reluthe.claims._base import Check

CHECKS: dict[str, Check] = {
    "C05": Check(_flow.RULE_C05, _flow.measure_c05, _flow.decide_c05, _flow.plot_c05),
    "C06": Check(_cost.RULE_C06, _cost.measure_c06, _cost.decide_c06, _cost.plot_c06),
    "C09": Check(_depth.RULE_C09, _depth.measure_c09, _depth.decide_c09, _depth.plot_c09),
    "C10": Check(_cost.RULE_C10, _cost.measure_c10, _cost.decide_c10, _cost.plot_c10),
    "C15": Check(_flow.RULE_C15, _flow.measure_c15, _flow.decide_c15, _flow.plot_c15),
    "C17": Check(_mymodel.RULE_C17, _mymodel.measure_c17, _mymodel.decide_c17,
                 _mymodel.plot_c17),
}
