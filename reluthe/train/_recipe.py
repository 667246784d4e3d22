"""The training recipe shared by every trainer of :mod:`reluthe.train`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from reluthe._validate import check_choice, check_positive_float, check_positive_int
from reluthe.errors import InvalidInputError


@dataclass(frozen=True)
class Recipe:
    """A training recipe: optimiser, its hyper-parameters, regularisers and the step budget.

    Parameters
    ----------
    optimizer : {"adam", "sgd"}
    lr : float
    momentum : float
        SGD momentum (torch's convention, no dampening). Ignored by Adam.
    weight_decay : float
        L2 penalty coupled to the gradient, as ``torch.optim.Adam/SGD(weight_decay=...)``.
    l1_activity : float
        Coefficient of the L1 activity penalty: mean |h| over batch and units, summed over
        hidden layers, added to the loss.
    dropout : float
        Dropout probability after every hidden activation during training.
    bias_shift : float
        Constant added to every hidden bias at initialisation (shifts sparsity at init).
    batch_size, steps, eval_every : int
        Minibatch size (epochs are seeded permutations, last partial batch dropped), optimiser
        steps, and the evaluation period (the final step is always evaluated).

    Examples
    --------
    >>> r = Recipe(optimizer="sgd", lr=0.05, steps=200)
    >>> r.to_dict()["momentum"], r.eval_every
    (0.9, 100)
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    l1_activity: float = 0.0
    dropout: float = 0.0
    bias_shift: float = 0.0
    batch_size: int = 128
    steps: int = 1000
    eval_every: int = 100

    def __post_init__(self):
        f = "Recipe"
        check_choice(self.optimizer, ("adam", "sgd"), param="optimizer", func=f)
        check_positive_float(self.lr, param="lr", func=f)
        for name in ("momentum", "weight_decay", "l1_activity"):
            check_positive_float(getattr(self, name), param=name, func=f, allow_zero=True)
        if not (0.0 <= self.dropout < 1.0):
            raise InvalidInputError(f"The 'dropout' parameter of Recipe must be in [0, 1). "
                                    f"Got {self.dropout!r} instead.")
        if not math.isfinite(self.bias_shift):
            raise InvalidInputError(f"The 'bias_shift' parameter of Recipe must be finite. "
                                    f"Got {self.bias_shift!r} instead.")
        for name in ("batch_size", "steps", "eval_every"):
            check_positive_int(getattr(self, name), param=name, func=f)

    def to_dict(self) -> dict:
        """The recipe as a plain dict (one entry per field)."""
        return asdict(self)
