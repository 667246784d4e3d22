"""The one table of activations: names, aliases, torch's defaults and torch's names.

Every part of reluthe that knows an activation by name reads it here: :mod:`reluthe.symbolic`
(exact expressions), :mod:`reluthe.models` (torch modules and functions),
:func:`reluthe.symbolic.check_against_torch`, :mod:`reluthe.probes.capture` (which torch calls
are activations) and :mod:`reluthe.nets` (which are piecewise linear). Implementations (a sympy
expression, a torch composition) stay in their modules, keyed by the names of this table; the
tests check that every row is known everywhere.

Importing this module imports neither torch nor sympy; :meth:`ActivationSpec.torch_module_class`
and :meth:`ActivationSpec.torch_callables` import torch when called.

Adding an activation is one row of :data:`TABLE`, plus its sympy expression in
:mod:`reluthe.symbolic.activations` and, where torch has no function for it, its torch
implementation in :mod:`reluthe.models`.

Examples
--------
>>> from reluthe.activations import ACTIVATIONS, spec
>>> spec("swish").name, spec("leaky_relu").defaults()
('silu', {'alpha': 0.01})
>>> [name for name in ACTIVATIONS if spec(name).piecewise_linear]
['relu', 'leaky_relu', 'hardtanh', 'relu6', 'identity']
"""

from __future__ import annotations

from dataclasses import dataclass

from reluthe._validate import _fmt
from reluthe.errors import InvalidInputError

__all__ = ["Param", "ActivationSpec", "TABLE", "ACTIVATIONS", "ALIASES", "spec"]


@dataclass(frozen=True)
class Param:
    """A parameter of an activation.

    Attributes
    ----------
    name : str
        reluthe's name, the same in :mod:`reluthe.symbolic` and :mod:`reluthe.models`
        (``alpha`` for leaky ReLU's slope).
    default : str
        torch's default as an exact decimal (``"0.01"``); ``float(default)`` is torch's value and
        :mod:`reluthe.symbolic` reads it as the exact rational.
    domain : str
        ``"real"`` or ``"positive"`` (must be > 0).
    torch : str or None
        torch's keyword for it (``negative_slope``), also the attribute of torch's module; None
        where torch's function has no such parameter (SELU's constants, Swish's ``beta``).
    """

    name: str
    default: str
    domain: str
    torch: str | None


@dataclass(frozen=True)
class ActivationSpec:
    """One activation: a row of :data:`TABLE`.

    Attributes
    ----------
    name : str
        The canonical name.
    aliases : tuple of str
        Other names that resolve to it.
    params : tuple of Param
        Its parameters; those with a torch keyword come in the order of torch's positional
        arguments.
    piecewise_linear : bool
        Whether it is continuous piecewise linear (what :mod:`reluthe.nets` can read).
    torch_module : str
        The class in ``torch.nn`` (``"ReLU"``).
    torch_function : str or None
        The function in ``torch.nn.functional`` (``"relu"``); None where torch calls none
        (the identity).
    torch_options : tuple of (str, str)
        Fixed keyword arguments of both torch forms (``approximate="tanh"`` for ``gelu_tanh``).
    special_case_of : tuple
        ``(row, ((param, exact decimal), ...))`` when torch's module computes it as another row's
        torch function at these parameter values (``ReLU6`` calls ``hardtanh(x, 0, 6)``); empty
        otherwise.
    """

    name: str
    torch_module: str
    torch_function: str | None
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    piecewise_linear: bool = False
    torch_options: tuple[tuple[str, str], ...] = ()
    special_case_of: tuple = ()

    def defaults(self) -> dict[str, float]:
        """torch's default of every parameter, as floats.

        Examples
        --------
        >>> spec("hardtanh").defaults()
        {'min_val': -1.0, 'max_val': 1.0}
        """
        return {p.name: float(p.default) for p in self.params}

    def torch_call_values(self, args: tuple, kwargs: dict) -> dict:
        """The parameters of a call ``f(input, *args[1:], **kwargs)`` of its torch function, by
        reluthe's names: positional, then torch's keywords, then the defaults.

        Examples
        --------
        >>> spec("hardtanh").torch_call_values(("z", -2.0), {"max_val": 3.0})
        {'min_val': -2.0, 'max_val': 3.0}
        """
        torch_params = [p for p in self.params if p.torch is not None]
        return {p.name: kwargs.get(p.torch, args[i + 1] if len(args) > i + 1 else float(p.default))
                for i, p in enumerate(torch_params)}

    def torch_module_class(self) -> type:
        """The ``torch.nn`` class of this activation (imports torch).

        Examples
        --------
        >>> spec("relu6").torch_module_class()
        <class 'torch.nn.modules.activation.ReLU6'>
        """
        from torch import nn

        return getattr(nn, self.torch_module)

    def torch_callables(self) -> tuple:
        """Every torch callable that computes it: ``F.f``, ``torch.f``, ``torch.Tensor.f`` and
        their in-place ``f_`` forms, those that exist (imports torch; empty without a function).

        Examples
        --------
        >>> import torch
        >>> torch.Tensor.relu_ in spec("relu").torch_callables()
        True
        >>> spec("identity").torch_callables()
        ()
        """
        import torch
        import torch.nn.functional as F

        if self.torch_function is None:
            return ()
        names = (self.torch_function, self.torch_function + "_")
        found = (getattr(owner, n, None) for n in names for owner in (F, torch, torch.Tensor))
        return tuple(dict.fromkeys(f for f in found if f is not None))


def _p(name: str, default: str, domain: str, torch: str | None = None) -> Param:
    return Param(name, default, domain, torch)


# torch's SELU constants (torch.nn.SELU documentation), as exact decimals.
_SELU = (_p("alpha", "1.6732632423543772848170429916717", "positive"),
         _p("scale", "1.0507009873554804934193349852946", "positive"))

TABLE: tuple[ActivationSpec, ...] = (
    ActivationSpec("relu", "ReLU", "relu", piecewise_linear=True),
    ActivationSpec("leaky_relu", "LeakyReLU", "leaky_relu",
                   (_p("alpha", "0.01", "real", "negative_slope"),), piecewise_linear=True),
    ActivationSpec("elu", "ELU", "elu", (_p("alpha", "1", "positive", "alpha"),)),
    ActivationSpec("selu", "SELU", "selu", _SELU),
    ActivationSpec("celu", "CELU", "celu", (_p("alpha", "1", "positive", "alpha"),)),
    ActivationSpec("gelu", "GELU", "gelu"),
    ActivationSpec("gelu_tanh", "GELU", "gelu", torch_options=(("approximate", "tanh"),)),
    ActivationSpec("silu", "SiLU", "silu", (_p("beta", "1", "positive"),), aliases=("swish",)),
    ActivationSpec("softplus", "Softplus", "softplus", (_p("beta", "1", "positive", "beta"),)),
    ActivationSpec("mish", "Mish", "mish"),
    ActivationSpec("tanh", "Tanh", "tanh"),
    ActivationSpec("sigmoid", "Sigmoid", "sigmoid"),
    ActivationSpec("hardtanh", "Hardtanh", "hardtanh",
                   (_p("min_val", "-1", "real", "min_val"), _p("max_val", "1", "real", "max_val")),
                   piecewise_linear=True),
    ActivationSpec("relu6", "ReLU6", "relu6", piecewise_linear=True,
                   special_case_of=("hardtanh", (("min_val", "0"), ("max_val", "6")))),
    ActivationSpec("identity", "Identity", None, aliases=("linear",), piecewise_linear=True),
)
"""One row per activation, in catalogue order."""

_BY_NAME = {row.name: row for row in TABLE}

ACTIVATIONS: tuple[str, ...] = tuple(_BY_NAME)
"""The canonical names, in table order."""

ALIASES: dict[str, str] = {alias: row.name for row in TABLE for alias in row.aliases}
"""Alias → canonical name (``swish`` → ``silu``, ``linear`` → ``identity``)."""


def spec(name, *, param: str = "name", func: str = "reluthe.activations.spec") -> ActivationSpec:
    """The row of activation ``name`` (an alias is resolved).

    Parameters
    ----------
    name : str
        A name of :data:`ACTIVATIONS` or of :data:`ALIASES`.
    param, func : str
        The parameter and function named in the error message.

    Raises
    ------
    InvalidInputError
        ``name`` is not in the table; the message lists the names and aliases.

    Examples
    --------
    >>> spec("linear").name
    'identity'
    >>> spec("relu7", param="activation", func="mlp")
    Traceback (most recent call last):
    ...
    reluthe.errors.InvalidInputError: The 'activation' parameter of mlp must be one of [...
    """
    row = _BY_NAME.get(ALIASES.get(name, name)) if isinstance(name, str) else None
    if row is None:
        raise InvalidInputError(f"The {param!r} parameter of {func} must be one of "
                                f"{sorted(ACTIVATIONS)} (aliases {sorted(ALIASES)}). "
                                f"Got {_fmt(name)} instead.")
    return row
