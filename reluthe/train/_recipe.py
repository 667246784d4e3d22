"""The training recipe shared by every trainer of :mod:`reluthe.train`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from reluthe._validate import check_choice, check_positive_float, check_positive_int, check_real


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
    l2_activity : float
        Coefficient of the L2 activity penalty: mean h² over batch and units, summed over
        hidden layers, added to the loss (a regulariser of the activations that, unlike L1,
        does not push them to exact zeros).
    dropout : float
        Dropout probability after every hidden activation during training.
    bias_shift : float
        Constant added to every hidden bias at initialisation (shifts sparsity at init).
    batch_size, steps, eval_every : int
        Minibatch size (epochs are seeded permutations, last partial batch dropped), optimiser
        steps, and the evaluation period (the final step is always evaluated).

    Raises
    ------
    InvalidInputError
        A field of the wrong type or out of range, naming the field: every numeric field must
        be a finite real number (not a string, None, a bool, complex, NaN or inf), the integer
        fields integers (``10.0`` is refused), ``dropout`` in [0, 1).

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
    l2_activity: float = 0.0
    dropout: float = 0.0
    bias_shift: float = 0.0
    batch_size: int = 128
    steps: int = 1000
    eval_every: int = 100

    def __post_init__(self):
        f = "Recipe"
        check_choice(self.optimizer, ("adam", "sgd"), param="optimizer", func=f)
        check_positive_float(self.lr, param="lr", func=f)
        for name in ("momentum", "weight_decay", "l1_activity", "l2_activity"):
            check_positive_float(getattr(self, name), param=name, func=f, allow_zero=True)
        check_real(self.dropout, param="dropout", func=f, low=0.0, high=1.0, high_open=True)
        check_real(self.bias_shift, param="bias_shift", func=f)
        for name in ("batch_size", "steps", "eval_every"):
            check_positive_int(getattr(self, name), param=name, func=f)

    def to_dict(self) -> dict:
        """The recipe as a plain dict (one entry per field)."""
        return asdict(self)
