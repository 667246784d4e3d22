"""Checks of the sparsity and generalization claims: C02, C03, C04, C08, C11, C13, C23, C24.

The article's thesis is that ReLU's sparse activation improves generalization. These checks
measure it on real data (mnist1d, the main dataset; scikit-learn digits, the easy sanity check)
and synthetic tasks with known structure (spirals, teacher networks), with every effect reported
as a 95 % interval over seeds and every rule fixed in code before the data (the ``rule`` texts
below are the rules the ``decide`` functions apply).

Where things are:

* ``_sparsity_protocol``: datasets, widths, activations, recipes, seeds, sweeps (quick/default);
* ``_sparsity_runs``: the training runs shared between claims, cached per process;
* ``_sparsity_activations``: C03, C08, C11 (the activation grid);
* ``_sparsity_causal``: C04 (sparsity interventions with the activation fixed, controls);
* ``_sparsity_regions``: C02 and C13 (exact region counts and densities);
* ``_sparsity_regularisers``: C23 and C24.

Examples
--------
>>> from reluthe.claims.sparsity import CHECKS
>>> sorted(CHECKS)
['C02', 'C03', 'C04', 'C08', 'C11', 'C13', 'C23', 'C24']
"""

from __future__ import annotations

from reluthe.claims import _sparsity_activations as _act
from reluthe.claims import _sparsity_causal as _causal
from reluthe.claims import _sparsity_regions as _reg
from reluthe.claims import _sparsity_regularisers as _regul
from reluthe.claims._base import Check

CHECKS: dict[str, Check] = {
    "C02": Check(_reg.C02_RULE, _reg.measure_c02, _reg.decide_c02, _reg.plot_c02),
    "C03": Check(_act.C03_RULE, _act.measure_c03, _act.decide_c03, _act.plot_c03),
    "C04": Check(_causal.C04_RULE, _causal.measure_c04, _causal.decide_c04, _causal.plot_c04),
    "C08": Check(_act.C08_RULE, _act.measure_c08, _act.decide_c08, _act.plot_c08),
    "C11": Check(_act.C11_RULE, _act.measure_c11, _act.decide_c11, _act.plot_c11),
    "C13": Check(_reg.C13_RULE, _reg.measure_c13, _reg.decide_c13, _reg.plot_c13),
    "C23": Check(_regul.C23_RULE, _regul.measure_c23, _regul.decide_c23, _regul.plot_c23),
    "C24": Check(_regul.C24_RULE, _regul.measure_c24, _regul.decide_c24, _regul.plot_c24),
}
