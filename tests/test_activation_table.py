"""reluthe.activations: every row of the one table is known everywhere that names activations."""

from __future__ import annotations

import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch
from torch import nn

from reluthe import activations as table
from reluthe import models, nets, symbolic
from reluthe.errors import InvalidInputError, UnsupportedNetworkError
from reluthe.probes.capture import capture_activations
from reluthe.symbolic import activations as symbolic_activations
from reluthe.symbolic import torch_check

ROWS = [pytest.param(row, id=row.name) for row in table.TABLE]
GRID = np.linspace(-8.0, 8.0, 161)  # includes every breakpoint of the table (-1, 0, 1, 6)
RTOL = symbolic.TOLERANCES["float64"]  # 64 float64 epsilons


def _names(keep) -> set[str]:
    return {row.name for row in table.TABLE if keep(row)}


IMPLEMENTATIONS = [  # (module, dict keyed by activation name, the rows it must hold)
    (symbolic_activations, "_BUILDERS", lambda row: True),
    (models, "_FUNCTIONS", lambda row: row.torch_function is None),
    (torch_check, "_COMPOSED", lambda row: any(p.torch is None for p in row.params)),
    (nets, "_PL_BUILDERS", lambda row: row.piecewise_linear),
]


def implementation_gaps() -> dict[str, set[str]]:
    """Per implementation dict: the names it holds or lacks against the table (none: {})."""
    gaps = {f"{module.__name__}.{attr}": set(getattr(module, attr)) ^ _names(keep)
            for module, attr, keep in IMPLEMENTATIONS}
    return {where: gap for where, gap in gaps.items() if gap}


def test_every_implementation_dict_matches_the_table():
    assert implementation_gaps() == {}


@pytest.mark.parametrize(("module", "attr"), [(m, a) for m, a, _ in IMPLEMENTATIONS])
def test_a_name_missing_from_an_implementation_is_detected(monkeypatch, module, attr):
    shorter = dict(getattr(module, attr))
    missing = next(iter(shorter))
    del shorter[missing]
    monkeypatch.setattr(module, attr, shorter)
    assert implementation_gaps() == {f"{module.__name__}.{attr}": {missing}}


def test_names_are_unique_and_the_lists_are_the_table():
    names = [row.name for row in table.TABLE]
    assert len(set(names) | set(table.ALIASES)) == len(names) + len(table.ALIASES)
    assert symbolic.ACTIVATIONS == models.ACTIVATIONS == tuple(names) == table.ACTIVATIONS
    assert symbolic.ALIASES == table.ALIASES == {"swish": "silu", "linear": "identity"}


def test_the_table_imports_neither_torch_nor_sympy():
    code = "import sys, reluthe.activations; assert not {'torch', 'sympy'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("row", ROWS)
def test_defaults_are_torchs(row):
    module = row.torch_module_class()(**dict(row.torch_options))
    for p in row.params:
        if p.torch is not None:
            assert getattr(module, p.torch) == float(p.default), p
    assert symbolic.parameters(row.name) == {p.name: sp.Rational(p.default) for p in row.params}


@pytest.mark.parametrize("row", ROWS)
def test_torch_and_sympy_agree_on_a_grid(row):
    expr = symbolic.activation(row.name)
    exact = sp.lambdify(symbolic.x, expr, modules="mpmath")
    with mpmath.workdps(40):
        want = np.array([float(exact(mpmath.mpf(v))) for v in GRID])
    got = models.activation_fn(row.name)(torch.tensor(GRID, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL)
    module = models.activation_module(row.name)
    assert type(module) is row.torch_module_class()
    np.testing.assert_array_equal(module(torch.tensor(GRID, dtype=torch.float64)).numpy(), got)


@pytest.mark.parametrize("row", ROWS)
def test_torch_check_knows_it(row):
    r = symbolic.check_against_torch(row.name)
    assert r.name == row.name
    assert not [m for m in r.mismatches if m["category"] == "regular"]


class _Call(nn.Module):
    """``fn`` (a torch callable of an activation) between two linear layers (a hidden
    activation: a trailing Softmax/Sigmoid on the output is accepted by nets, see
    tests/test_nets_forms.py)."""

    def __init__(self, fn, options):
        super().__init__()
        self.lin, self.fn, self.options = nn.Linear(3, 4), fn, options
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.fn(self.lin(x), **self.options))


def _module(row) -> nn.Module:
    return row.torch_module_class()(**dict(row.torch_options))


@pytest.mark.parametrize("row", ROWS)
def test_capture_recognises_its_module_and_every_callable(row):
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    net = nn.Sequential(nn.Linear(3, 4), _module(row))
    want = [row.name] if row.torch_function else []  # the identity calls no torch function
    assert [c.name for c in capture_activations(net, x)] == want
    options = dict(row.torch_options)
    for fn in row.torch_callables():
        assert [c.name for c in capture_activations(_Call(fn, options), x)] == [row.name], fn
    assert bool(row.torch_callables()) == (row.torch_function is not None)


@pytest.mark.parametrize("row", ROWS)
def test_nets_accepts_it_iff_piecewise_linear(row):
    seq = nn.Sequential(nn.Linear(3, 4), _module(row), nn.Linear(4, 2))
    forms = [seq]
    if row.torch_function:
        forms.append(_Call(getattr(torch.nn.functional, row.torch_function),
                           dict(row.torch_options)))
    for model in forms:
        if not row.piecewise_linear:
            with pytest.raises(UnsupportedNetworkError, match="not supported"):
                nets.from_torch(model)
            continue
        x = torch.randn(16, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        with torch.no_grad():
            want = model.double()(x).numpy()
        np.testing.assert_allclose(nets.from_torch(model).forward(x.numpy()), want, rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("alias, name", sorted(table.ALIASES.items()))
def test_aliases_resolve_everywhere(alias, name):
    assert symbolic.activation(alias) == symbolic.activation(name)
    assert type(models.activation_module(alias)) is type(models.activation_module(name))
    assert symbolic.check_against_torch(alias).name == name


@pytest.mark.parametrize(("call", "param"), [
    (lambda: table.spec("relu7"), "'name' parameter of reluthe.activations.spec"),
    (lambda: symbolic.activation("relu7"), "'name' parameter of reluthe.symbolic"),
    (lambda: symbolic.parameters("relu7"), "'name' parameter of reluthe.symbolic"),
    (lambda: symbolic.check_against_torch("relu7"), "'name' parameter of reluthe.symbolic"),
    (lambda: models.activation_fn("relu7"), "'activation' parameter of reluthe.models"),
    (lambda: models.activation_module("relu7"), "'activation' parameter of reluthe.models"),
    (lambda: models.mlp([2, 3, 1], "relu7"), "'activation' parameter of reluthe.models"),
])
def test_an_unknown_name_raises_naming_the_parameter_the_value_and_the_names(call, param):
    with pytest.raises(InvalidInputError) as info:
        call()
    message = str(info.value)
    assert param in message and "'relu7'" in message
    assert all(name in message for name in (*table.ACTIVATIONS, *table.ALIASES))


def test_models_takes_the_parameters_torch_takes():
    assert models.activation_module("hardtanh", min_val=-2.0, max_val=0.5).max_val == 0.5
    with pytest.raises(InvalidInputError, match="min_val < max_val"):
        models.activation_fn("hardtanh", min_val=1.0, max_val=0.0)
    with pytest.raises(InvalidInputError, match="unknown"):
        models.activation_fn("silu", beta=2.0)  # torch's SiLU has no beta; symbolic has
    with pytest.raises(InvalidInputError, match="finite"):
        models.activation_fn("elu", alpha=True)
