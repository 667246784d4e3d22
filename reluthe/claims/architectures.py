"""Checks of the claims about ReLU in other architectures (C18–C21) and its biological origin (C07).

Each claim lives in its own private module, with its rule, measurement, decision and figure:

* C07 — :mod:`reluthe.claims._arch_bio` (not testable; active-unit share and boundedness shown);
* C18 — :mod:`reluthe.claims._arch_cnn` (1-D CNN on mnist1d, 2-D CNN on digits, 6 activations);
* C19 — :mod:`reluthe.claims._arch_rnn` (vanilla RNN, relu vs tanh, init and clipping);
* C20 — :mod:`reluthe.claims._arch_gan` (GAN on 8 Gaussians: mode coverage and sample quality);
* C21 — :mod:`reluthe.claims._arch_ae` (autoencoders vs PCA at equal size).

Models of one experiment (activations × seeds × conditions) train together as one stacked model
(:mod:`reluthe.claims._arch_stack`).

Examples
--------
>>> from reluthe.claims.architectures import CHECKS
>>> sorted(CHECKS)
['C07', 'C18', 'C19', 'C20', 'C21']
"""

from __future__ import annotations

from reluthe.claims import _arch_ae, _arch_bio, _arch_cnn, _arch_gan, _arch_rnn
from reluthe.claims._base import Check

CHECKS: dict[str, Check] = {
    cid: Check(rule=mod.RULE, measure=mod.measure, decide=mod.decide, plot=mod.plot)
    for cid, mod in (("C07", _arch_bio), ("C18", _arch_cnn), ("C19", _arch_rnn),
                     ("C20", _arch_gan), ("C21", _arch_ae))
}
