"""Bad inputs to the probes (capture, dead units, gradient flow, sparsity): every dtype, device
and container a user can pass gives a named error naming the parameter (class and a message
fragment asserted), or the right answer where the input is a real one in another precision."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from _catalogue import add_case, assert_named_error

from reluthe.errors import InvalidInputError
from reluthe.probes.capture import capture_activations
from reluthe.probes.dead import dead_network_mc, dead_network_theory, dead_unit_share
from reluthe.probes.gradients import gradient_flow
from reluthe.probes.sparsity import sparsity_profile, sparsity_stats, stacked_forward

IIE = InvalidInputError
torch.manual_seed(0)
MODEL = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
X = torch.randn(6, 4)
Y = torch.tensor([0, 1, 0, 1, 0, 1])
W = [(torch.ones(1, 3, 4), torch.zeros(1, 3)), (torch.ones(1, 2, 3), torch.zeros(1, 2))]

BAD_X = [
    (X.to(torch.complex64), "complex64"),
    (X > 0, "torch.bool"),
    (X.to("meta"), "'meta' device"),
    (X.numpy(), "torch.Tensor"),
    (X.tolist(), "torch.Tensor"),
    ("x", "torch.Tensor"),
    (None, "torch.Tensor"),
    (torch.zeros(0, 4), "non-empty"),
    (torch.tensor(1.0), "batch dimension"),
    (torch.full((2, 4), float("nan")), "finite"),
]
WRONG_DTYPE = [X.double(), X.half(), X.bfloat16(), X.long()]

CASES: list = []


_case = functools.partial(add_case, CASES)


for fn in (capture_activations, sparsity_profile, dead_unit_share, gradient_flow):
    for bad, frag in BAD_X:
        _case(fn, {"model": MODEL, "x": bad}, IIE, "'x'", frag)
    for model in ("model", None, [MODEL], MODEL.state_dict()):
        _case(fn, {"model": model, "x": X}, IIE, "'model'")
for fn in (capture_activations, sparsity_profile, dead_unit_share):
    for bad in WRONG_DTYPE:
        _case(fn, {"model": MODEL, "x": bad}, IIE, "'x'", "must match the model",
              str(bad.dtype))
for grad in ("no", 1, None):
    _case(capture_activations, {"model": MODEL, "x": X, "grad": grad}, IIE, "'grad'")
for funcs in ([torch.relu], 3, "relu", {torch.relu: 1}):
    _case(capture_activations, {"model": MODEL, "x": X, "funcs": funcs}, IIE, "'funcs'")
    _case(gradient_flow, {"model": MODEL, "x": X, "funcs": funcs}, IIE, "'funcs'")
for dtype in (torch.int32, torch.complex64, torch.bool, "float64", np.float64, None):
    _case(gradient_flow, {"model": MODEL, "x": X, "dtype": dtype}, IIE, "'dtype'")
for spectral in ("yes", 1, None):
    _case(gradient_flow, {"model": MODEL, "x": X, "spectral": spectral}, IIE, "'spectral'")
for loss in ("hinge", 3, None):
    _case(gradient_flow, {"model": MODEL, "x": X, "loss": loss}, IIE, "'loss'")
for y in (Y[:3], Y.tolist(), Y.float(), Y.to(torch.complex64), torch.tensor(1), Y.to("meta")):
    _case(gradient_flow, {"model": MODEL, "x": X, "y": y}, IIE, "'y'")
for seed in (-1, 1.5, "0", True, None):
    _case(gradient_flow, {"model": MODEL, "x": X, "seed": seed}, IIE, "'seed'")
    _case(dead_network_mc, {"width": 2, "depth": 2, "seed": seed}, IIE, "'seed'")
for conf in ("0.9", 0, 1, 1.5, np.nan, True, None, 0.5j):
    _case(dead_network_mc, {"width": 2, "depth": 2, "confidence": conf}, IIE, "'confidence'")
for wm in ("a", np.inf, None, True, 1j):
    _case(dead_network_mc, {"width": 2, "depth": 2, "weight_mean": wm}, IIE, "'weight_mean'")
for x, frag in ((np.ones(2, complex), "complex"), (torch.ones(2, device="meta"), "'meta'"),
                (np.ones((2, 2)), "dimension"), ("ab", "a str"), ([True, False], "bool")):
    _case(dead_network_mc, {"width": 2, "depth": 2, "x": x}, IIE, "'x'", frag)
for param in ("width", "depth"):
    for bad in (0, 2.0, "2", True, None):
        _case(dead_network_mc, {"width": 2, "depth": 2, param: bad}, IIE, f"'{param}'")
        _case(dead_network_theory, {"width": 2, "depth": 2, param: bad}, IIE, f"'{param}'")
for weights, frag in (("w", "'weights'"), ([("a", "b")], "'weights'"),
                      ([(torch.ones(1, 3, 4, dtype=torch.complex64), torch.zeros(1, 3))],
                       "real floating"),
                      ([(torch.ones(1, 3, 4, device="meta"), torch.zeros(1, 3, device="meta"))],
                       "meta"),
                      ([(torch.ones(1, 3, 4).long(), torch.zeros(1, 3).long())], "real floating"),
                      ([(torch.ones(3, 4), torch.zeros(3))], "(K, out, in)")):
    _case(stacked_forward, {"weights": weights, "x": X}, IIE, frag)
for x, frag in ((X.to(torch.complex64), "real tensor"), (X > 0, "real tensor"),
                (X.to("meta"), "device"), (X[:, :3], "shape"), (X.numpy(), "tensor")):
    _case(stacked_forward, {"weights": W, "x": x}, IIE, "'x'", frag)
for pre, post in (([[1.0]], [[1.0]]), (np.ones((2, 2)), np.ones((2, 2))),
                  (torch.ones(2, 2), torch.ones(2, 3)), (torch.ones(2), torch.ones(2))):
    _case(sparsity_stats, {"pre": pre, "post": post}, IIE, "'pre' and 'post'")


@pytest.mark.parametrize("fn, kwargs, err, fragments", CASES)
def test_bad_input_is_a_named_error(fn, kwargs, err, fragments):
    assert_named_error(fn, kwargs, err, fragments)


def test_catalogue_is_large():
    assert len(CASES) >= 150


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
def test_gradient_flow_runs_in_every_float_dtype(dtype):
    flow = gradient_flow(MODEL, X, Y, dtype=dtype)
    assert flow.dtype == str(dtype).replace("torch.", "") and np.isfinite(flow.loss)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.int64])
def test_gradient_flow_casts_real_inputs(dtype):
    assert np.isfinite(gradient_flow(MODEL, X.to(dtype), Y).loss)


def test_matching_low_precision_model_is_measured():
    half = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).to(torch.bfloat16)
    assert sparsity_profile(half, X.bfloat16()).n_units == [3]
    assert dead_unit_share(half, X.bfloat16()).shape == (1,)
