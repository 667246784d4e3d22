"""A catalogue of bad inputs to the public training and model API, and the named errors they give.

Each case is ``(callable, kwargs, error class, message fragments)``: the call must raise that
class (a :class:`~reluthe.errors.ReluTheError`) and its message must contain every fragment
(the parameter's name and what is accepted). Kept fast: a 60-sample dataset, 2-step recipes,
and every case fails at validation, before any training.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from _catalogue import assert_named_error

from reluthe import data, models
from reluthe._validate import check_device, check_int_sequence
from reluthe.errors import InvalidInputError
from reluthe.protocol import select_lr
from reluthe.train import (
    Recipe,
    fit,
    member_orders,
    stacked_conv,
    stacked_linear,
    stacked_mlp_init,
    train_alternating,
    train_mlps,
    train_stacked,
)

IIE = InvalidInputError
DS = data.load("spirals", seed=0, n_samples=60)
DSV = data.load("spirals", seed=0, n_samples=60, val_size=0.25)
TINY = Recipe(steps=2, eval_every=2, batch_size=8)
W = [2, 4, 2]
RES = train_mlps(DS, W, seeds=[0, 1], recipes=TINY)
NO_GPU = not torch.cuda.is_available()
DEVICE_OK = "'cpu', 'cuda' or 'cuda:N'"


def _ds(**fields):
    return dataclasses.replace(DS, **fields)


def _tm(**over):
    return {"dataset": DS, "widths": W, "seeds": [0], "recipes": TINY, **over}


def _fit(**over):
    return {"model": models.mlp(W, seed=0), "dataset": DS, "recipe": TINY, **over}


def _sl(**over):
    return {"dataset": DSV, "widths": W, "lrs": [1e-3, 1e-2], "seeds": [0], "recipe": TINY,
            **over}


_WS, _BS = stacked_linear([0, 1], 1, 2)
_PARAMS = {"w": _WS, "b": _BS}


def _loss(step):
    return (_PARAMS["w"] ** 2).sum((1, 2)) + (_PARAMS["b"] ** 2).sum(1)


def _ts(**over):
    return {"params": _PARAMS, "member_loss": _loss, "steps": 2, "lr": 1e-2, "eval_every": 1,
            **over}


def _ta(**over):
    return {"phases": [({"w": _WS}, _loss), ({"b": _BS}, _loss)], "steps": 2, "lr": 1e-2,
            "eval_every": 1, **over}


CASES: list = []


def case(name, fn, kwargs, err, *fragments, skip=None):
    marks = [pytest.mark.skipif(True, reason=skip)] if skip else []
    CASES.append(pytest.param(fn, kwargs, err, fragments, id=name, marks=marks))


# --- Recipe: every numeric field rejects strings, None, bools, complex, NaN and inf -----------
_FLOAT_FIELDS = {"lr": "finite number > 0", "momentum": "finite number >= 0",
                 "weight_decay": "finite number >= 0", "l1_activity": "finite number >= 0",
                 "dropout": "[0, 1)", "bias_shift": "finite number"}
_FLOAT_BAD = {"str": "0.1", "none": None, "bool": True, "complex": 1j, "nan": math.nan,
              "inf": math.inf}
for field, accepted in _FLOAT_FIELDS.items():
    for label, bad in _FLOAT_BAD.items():
        case(f"Recipe-{field}-{label}", Recipe, {field: bad}, IIE, f"'{field}'", accepted)
case("Recipe-bias_shift-neg-inf", Recipe, {"bias_shift": -math.inf}, IIE, "'bias_shift'",
     "finite number")
case("Recipe-dropout-one", Recipe, {"dropout": 1.0}, IIE, "'dropout'", "[0, 1)")
case("Recipe-momentum-array", Recipe, {"momentum": np.array([0.9])}, IIE, "'momentum'",
     "finite number")
_INT_BAD = {"str": "10", "none": None, "bool": True, "integral-float": 10.0, "float": 2.5,
            "zero": 0}
for field in ("batch_size", "steps", "eval_every"):
    for label, bad in _INT_BAD.items():
        case(f"Recipe-{field}-{label}", Recipe, {field: bad}, IIE, f"'{field}'", "integer >= 1")
for label, bad in {"int": 5, "none": None, "capital": "Adam"}.items():
    case(f"Recipe-optimizer-{label}", Recipe, {"optimizer": bad}, IIE, "'optimizer'", "'adam'")

# --- train_mlps -------------------------------------------------------------------------------
_WIDTHS_BAD = {"non-integral": [2, 4.7, 2], "integral-float": [2, 4.0, 2],
               "string": "242", "bool": [2, True, 2], "numpy-float": [2, np.float64(4), 2],
               "nested": [2, [4], 2], "empty": [], "one": [2], "zero": [2, 0, 2],
               "negative": [2, -3, 2], "set": {2, 4}, "none": None, "int": 4,
               "complex": [2, 4j, 2]}
for label, bad in _WIDTHS_BAD.items():
    case(f"train_mlps-widths-{label}", train_mlps, _tm(widths=bad), IIE, "'widths'",
         "integers")
case("train_mlps-widths-says-4.0", train_mlps, _tm(widths=[2, 4.0, 2]), IIE, "'widths'",
     "integers, not 4.0")
case("train_mlps-device-misspelt", train_mlps, _tm(device="cdua"), IIE, "'device'", DEVICE_OK)
case("train_mlps-device-meta", train_mlps, _tm(device="meta"), IIE, "'device'", DEVICE_OK)
case("train_mlps-device-int", train_mlps, _tm(device=0), IIE, "'device'", DEVICE_OK)
case("train_mlps-device-none", train_mlps, _tm(device=None), IIE, "'device'", DEVICE_OK)
case("train_mlps-device-cuda-index", train_mlps, _tm(device="cuda:99"), IIE, "'device'",
     "cuda:99")
case("train_mlps-device-cuda-no-gpu", train_mlps, _tm(device="cuda"), IIE, "'device'",
     "no GPU is visible", skip=None if NO_GPU else "a GPU is visible")
case("train_mlps-device-torch-meta", train_mlps, _tm(device=torch.device("meta")), IIE,
     "'device'", DEVICE_OK)
case("train_mlps-seeds-string", train_mlps, _tm(seeds="01"), IIE, "'seeds'", "integers")
case("train_mlps-seeds-float", train_mlps, _tm(seeds=[0, 1.0]), IIE, "'seeds'", "integers")
case("train_mlps-seeds-nested", train_mlps, _tm(seeds=[[0, 1]]), IIE, "'seeds'", "integers")
case("train_mlps-seeds-set", train_mlps, _tm(seeds={0, 1}), IIE, "'seeds'", "integers")
case("train_mlps-recipes-dict", train_mlps, _tm(recipes={"lr": 0.1}), IIE, "'recipes'",
     "Recipe")
case("train_mlps-recipes-string", train_mlps, _tm(recipes="adam"), IIE, "'recipes'", "Recipe")
case("train_mlps-init-int", train_mlps, _tm(init=5), IIE, "'init'", "init name")
case("train_mlps-init-none", train_mlps, _tm(init=None), IIE, "'init'", "init name")
case("train_mlps-init-unknown", train_mlps, _tm(init="orthogonal"), IIE, "'init'", "'xavier'")
case("train_mlps-activation-int", train_mlps, _tm(activation=3), IIE, "'activation'", "relu")
case("train_mlps-activation-params-list", train_mlps, _tm(activation_params=[0.1]), IIE,
     "'activation_params'", "dict")
case("train_mlps-output-activation-int", train_mlps, _tm(output_activation=1), IIE,
     "'output_activation'", "relu")
case("train_mlps-augment-not-callable", train_mlps, _tm(augment="flip"), IIE, "'augment'",
     "callable")
case("train_mlps-max-time-string", train_mlps, _tm(max_time_s="10"), IIE, "'max_time_s'",
     "finite number")
case("train_mlps-max-time-nan", train_mlps, _tm(max_time_s=math.nan), IIE, "'max_time_s'",
     "finite number")
case("train_mlps-dataset-tuple", train_mlps, _tm(dataset=(DS.x_train, DS.y_train)), IIE,
     "'dataset'", "reluthe.data.Dataset")
case("train_mlps-x-int64", train_mlps, _tm(dataset=_ds(x_train=DS.x_train.long())), IIE,
     "x_train", "floating")
case("train_mlps-x-bool", train_mlps, _tm(dataset=_ds(x_test=DS.x_test > 0)), IIE, "x_test",
     "floating")
case("train_mlps-x-complex", train_mlps,
     _tm(dataset=_ds(x_train=DS.x_train.to(torch.complex64))), IIE, "x_train", "floating")
case("train_mlps-x-numpy", train_mlps, _tm(dataset=_ds(x_train=DS.x_train.numpy())), IIE,
     "x_train", "torch.Tensor")
case("train_mlps-x-object-array", train_mlps,
     _tm(dataset=_ds(x_train=np.array([[0.0, "a"]], dtype=object))), IIE, "x_train",
     "torch.Tensor")
case("train_mlps-y-float-labels", train_mlps, _tm(dataset=_ds(y_train=DS.y_train.float())),
     IIE, "y_train", "integer")
case("train_mlps-y-out-of-range", train_mlps, _tm(dataset=_ds(y_train=DS.y_train + 5)), IIE,
     "y_train", "[0, 2)")
case("train_mlps-y-length", train_mlps, _tm(dataset=_ds(y_train=DS.y_train[:-1])), IIE,
     "y_train", "one label per row")
_IW = [(w.clone(), b.clone()) for w, b in RES.weights]
case("train_mlps-init-weights-int", train_mlps,
     _tm(seeds=[0, 1], init_weights=[(w.long(), b.long()) for w, b in _IW]), IIE,
     "'init_weights'", "floating")
case("train_mlps-init-weights-object", train_mlps,
     _tm(seeds=[0, 1], init_weights=[(np.array(w.numpy(), dtype=object), b) for w, b in _IW]),
     IIE, "'init_weights'", "floating")
case("train_mlps-init-weights-not-pairs", train_mlps, _tm(seeds=[0, 1], init_weights=[1, 2]),
     IIE, "'init_weights'", "(W, b)")

# --- fit ------------------------------------------------------------------------------------
case("fit-device-misspelt", fit, _fit(device="gpu"), IIE, "'device'", DEVICE_OK)
case("fit-device-meta", fit, _fit(device="meta"), IIE, "'device'", DEVICE_OK)
case("fit-device-cuda-no-gpu", fit, _fit(device="cuda:0"), IIE, "'device'",
     "no GPU is visible", skip=None if NO_GPU else "a GPU is visible")
case("fit-recipe-dict", fit, _fit(recipe={"lr": 0.1}), IIE, "'recipe'", "Recipe")
case("fit-seed-float", fit, _fit(seed=1.5), IIE, "'seed'", "non-negative integer")
case("fit-seed-string", fit, _fit(seed="0"), IIE, "'seed'", "non-negative integer")
case("fit-model-function", fit, _fit(model=lambda x: x), IIE, "'model'", "torch.nn.Module")
case("fit-max-time-negative", fit, _fit(max_time_s=-1.0), IIE, "'max_time_s'",
     "finite number > 0")
case("fit-max-time-string", fit, _fit(max_time_s="1"), IIE, "'max_time_s'", "finite number")
case("fit-x-int", fit, _fit(dataset=_ds(x_train=DS.x_train.int())), IIE, "x_train",
     "floating")
case("fit-dataset-dict", fit, _fit(dataset={"x": 1}), IIE, "'dataset'", "reluthe.data.Dataset")

# --- select_lr (reluthe.protocol) -------------------------------------------------------------
case("select_lr-lrs-string", select_lr, _sl(lrs="0.1"), IIE, "'lrs'", "learning rates")
case("select_lr-lrs-bool", select_lr, _sl(lrs=[True]), IIE, "'lrs'", "finite number > 0")
case("select_lr-lrs-nan", select_lr, _sl(lrs=[math.nan]), IIE, "'lrs'", "finite number > 0")
case("select_lr-lrs-complex", select_lr, _sl(lrs=[1e-3j]), IIE, "'lrs'", "finite number > 0")
case("select_lr-lrs-numpy", select_lr, _sl(lrs=np.array([1e-3, 1e-2])), IIE, "'lrs'",
     "learning rates")
case("select_lr-widths-float", select_lr, _sl(widths=[2, 4.7, 2]), IIE, "'widths'",
     "integers")
case("select_lr-device", select_lr, _sl(device="cpu:x"), IIE, "'device'", DEVICE_OK)
case("select_lr-recipe-string", select_lr, _sl(recipe="adam"), IIE, "'recipe'", "Recipe")
case("select_lr-metric", select_lr, _sl(metric="test_acc"), IIE, "'metric'", "'val_acc'")
case("select_lr-init-list", select_lr, _sl(init=["he"]), IIE, "'init'", "one init name")
case("select_lr-seeds-float", select_lr, _sl(seeds=[0.5]), IIE, "'seeds'", "integers")
case("select_lr-no-val", select_lr, _sl(dataset=DS), IIE, "'dataset'", "val_size")
case("select_lr-dataset-list", select_lr, _sl(dataset=[1, 2]), IIE, "'dataset'",
     "reluthe.data.Dataset")

# --- train_stacked / train_alternating / stacked layers --------------------------------------
case("train_stacked-device-misspelt", train_stacked, _ts(device="cpuu"), IIE, "'device'",
     DEVICE_OK)
case("train_stacked-device-cuda-no-gpu", train_stacked, _ts(device="cuda"), IIE, "'device'",
     "no GPU is visible", skip=None if NO_GPU else "a GPU is visible")
case("train_stacked-steps-float", train_stacked, _ts(steps=2.0), IIE, "'steps'",
     "integer >= 1")
case("train_stacked-steps-string", train_stacked, _ts(steps="2"), IIE, "'steps'",
     "integer >= 1")
case("train_stacked-eval-every-bool", train_stacked, _ts(eval_every=True), IIE, "'eval_every'",
     "integer >= 1")
case("train_stacked-lr-string", train_stacked, _ts(lr="0.01"), IIE, "'lr'", "finite number > 0")
case("train_stacked-lr-nan", train_stacked, _ts(lr=math.nan), IIE, "'lr'", "finite number > 0")
case("train_stacked-lr-wrong-length", train_stacked, _ts(lr=[1e-2, 1e-2, 1e-2]), IIE, "'lr'",
     "one per member")
case("train_stacked-betas", train_stacked, _ts(betas=(0.9, 1.5)), IIE, "'betas'", "[0, 1)")
case("train_stacked-betas-string", train_stacked, _ts(betas="0.9"), IIE, "'betas'", "[0, 1)")
case("train_stacked-params-list", train_stacked, _ts(params=[_WS]), IIE, "'params'",
     "dict of str to torch.Tensor")
case("train_stacked-params-int-tensor", train_stacked,
     _ts(params={"w": torch.zeros(2, 3, dtype=torch.long)}), IIE, "'params'", "floating")
case("train_stacked-member-loss", train_stacked, _ts(member_loss="mse"), IIE, "'member_loss'",
     "callable")
case("train_stacked-evaluate", train_stacked, _ts(evaluate=3), IIE, "'evaluate'", "callable")
case("train_stacked-clip-string", train_stacked, _ts(clip="1"), IIE, "'clip'", "per member")
case("train_alternating-phases-dict", train_alternating, _ta(phases={"w": _WS}), IIE,
     "'phases'", "(params, member_loss)")
case("train_alternating-device", train_alternating, _ta(device="meta"), IIE, "'device'",
     DEVICE_OK)
case("train_alternating-steps-zero", train_alternating, _ta(steps=0), IIE, "'steps'",
     "integer >= 1")
case("stacked_linear-device", stacked_linear, {"seeds": [0], "fan_out": 2, "fan_in": 3,
                                               "device": "cuda:x"}, IIE, "'device'", DEVICE_OK)
case("stacked_linear-fan-in-float", stacked_linear, {"seeds": [0], "fan_out": 2, "fan_in": 3.0},
     IIE, "'fan_in'", "integer >= 1")
case("stacked_linear-seeds-string", stacked_linear, {"seeds": "0", "fan_out": 2, "fan_in": 3},
     IIE, "'seeds'", "torch.Generator")
case("stacked_mlp_init-widths", stacked_mlp_init, {"widths": [2, 4.7, 2], "seeds": [0]}, IIE,
     "'widths'", "integers")
case("stacked_conv-kernel", stacked_conv, {"seeds": [0], "c_out": 2, "c_in": 1,
                                           "kernel": (3.5,)}, IIE, "'kernel'", "integers")
case("member_orders-device", member_orders, {"n": 10, "batch_size": 2, "steps": 2,
                                             "seeds": [0], "device": "meta"}, IIE, "'device'",
     DEVICE_OK)

# --- TrainResult methods ----------------------------------------------------------------------
case("select-members-float", RES.select, {"members": [0.5]}, IIE, "'members'", "indices")
case("select-members-string", RES.select, {"members": "01"}, IIE, "'members'", "indices")
case("select-members-bool", RES.select, {"members": [True]}, IIE, "'members'", "indices")
case("model-k-float", RES.model, {"k": 1.5}, IIE, "'k'", "integer in [0, 2)")
case("model-k-out-of-range", RES.model, {"k": 2}, IIE, "'k'", "integer in [0, 2)")
case("at_matched_fit-target-string", RES.at_matched_fit, {"target": "0.9"}, IIE, "'target'",
     "(0, 1]")
case("at_best_val-metric", RES.at_best_val, {"metric": "test_acc"}, IIE, "'metric'",
     "'val_acc'")
case("hidden-x-string", RES.hidden, {"x": "points"}, IIE, "'x'", "real numbers")
case("hidden-x-bool", RES.hidden, {"x": torch.ones(3, 2, dtype=torch.bool)}, IIE, "'x'",
     "real numbers")
case("hidden-x-complex", RES.hidden, {"x": torch.ones(3, 2, dtype=torch.complex64)}, IIE,
     "'x'", "real numbers")
case("outputs-x-object", RES.outputs, {"x": np.array([[1.0, None]], dtype=object)}, IIE, "'x'",
     "real numbers")
case("outputs-x-width", RES.outputs, {"x": torch.zeros(3, 5)}, IIE, "'x'", "2 features")
case("outputs-x-nan", RES.outputs, {"x": torch.full((3, 2), math.nan)}, IIE, "'x'", "finite")

# --- reluthe.models -------------------------------------------------------------------------
for label, bad in _WIDTHS_BAD.items():
    case(f"mlp-widths-{label}", models.mlp, {"widths": bad}, IIE, "'widths'", "integers")
case("mlp-seed-float", models.mlp, {"widths": W, "seed": 1.0}, IIE, "'seed'",
     "non-negative integer")
case("mlp-bias-string", models.mlp, {"widths": W, "bias": "no"}, IIE, "'bias'", "True or False")
case("mlp-activation-params-list", models.mlp, {"widths": W, "activation_params": [1]}, IIE,
     "'activation_params'", "dict")
case("mlp-init-int", models.mlp, {"widths": W, "init": 3}, IIE, "'init'", "'he'")
case("mlp-output-activation-int", models.mlp, {"widths": W, "output_activation": 3}, IIE,
     "'output_activation'", "relu")
case("activation_fn-name-none", models.activation_fn, {"name": None}, IIE, "'activation'",
     "relu")
case("activation_fn-param-string", models.activation_fn, {"name": "leaky_relu", "alpha": "0.1"},
     IIE, "'alpha'", "finite number")
case("activation_fn-param-complex", models.activation_fn, {"name": "leaky_relu", "alpha": 1j},
     IIE, "'alpha'", "finite number")
case("activation_module-param-nan", models.activation_module,
     {"name": "elu", "alpha": math.nan}, IIE, "'alpha'", "finite number")
case("init_linear-weight-int", models.init_linear_,
     {"weight": torch.zeros(2, 3, dtype=torch.long), "bias": None, "init": "he",
      "generator": torch.Generator()}, IIE, "'weight'", "floating")
case("init_linear-weight-1d", models.init_linear_,
     {"weight": torch.zeros(3), "bias": None, "init": "he", "generator": torch.Generator()},
     IIE, "'weight'", "(..., fan_out, fan_in)")
case("init_linear-generator-int", models.init_linear_,
     {"weight": torch.zeros(2, 3), "bias": None, "init": "he", "generator": 0}, IIE,
     "'generator'", "torch.Generator")
case("init_linear-std-negative", models.init_linear_,
     {"weight": torch.zeros(2, 3), "bias": None, "init": "small_normal",
      "generator": torch.Generator(), "std": -1.0}, IIE, "'std'", "finite number > 0")
case("init_linear-bias-shape", models.init_linear_,
     {"weight": torch.zeros(2, 3), "bias": torch.zeros(3), "init": "he",
      "generator": torch.Generator()}, IIE, "'bias'", "shape (2,)")

# --- reluthe.data.load (not edited here: its existing checks, catalogued) ----------------------
case("load-name", data.load, {"name": "spiral"}, IIE, "'name'", "'spirals'")
case("load-seed-float", data.load, {"name": "spirals", "seed": 0.5}, IIE, "'seed'",
     "non-negative integer")
case("load-val-size-string", data.load, {"name": "spirals", "val_size": "0.2"}, IIE,
     "'val_size'", "[0, 1)")
case("load-n-samples-float", data.load, {"name": "spirals", "n_samples": 60.5}, IIE,
     "'n_samples'", "integer >= 8")
case("load-noise-nan", data.load, {"name": "spirals", "noise": math.nan}, IIE, "'noise'",
     "finite number")

# --- the validators themselves ------------------------------------------------------------------
case("check_device-mps", check_device, {"device": "mps", "param": "device", "func": "f"}, IIE,
     "'device'", DEVICE_OK)
case("check_device-bytes", check_device, {"device": b"cpu", "param": "device", "func": "f"},
     IIE, "'device'", DEVICE_OK)
case("check_int_sequence-tensor", check_int_sequence,
     {"value": torch.tensor([2.0, 3.0]), "param": "widths", "func": "f"}, IIE, "'widths'",
     "integers")


@pytest.mark.parametrize("fn, kwargs, err, fragments", CASES)
def test_bad_input_is_a_named_error(fn, kwargs, err, fragments):
    assert_named_error(fn, kwargs, err, fragments)


def test_catalogue_is_large():
    assert len(CASES) >= 80


# --- what is converted rather than rejected (documented per parameter) --------------------------
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_floating_inputs_of_any_precision_are_converted_to_float32(dtype):
    ds = _ds(x_train=DS.x_train.to(dtype), x_test=DS.x_test.to(dtype))
    res = train_mlps(ds, W, seeds=[0], recipes=TINY)
    assert np.isfinite(res.test_loss).all()
    assert fit(models.mlp(W, seed=0), ds, TINY).model[0].weight.dtype == torch.float32


def test_integer_labels_of_any_width_are_converted():
    ds = _ds(y_train=DS.y_train.int(), y_test=DS.y_test.to(torch.uint8))
    ref = train_mlps(DS, W, seeds=[0], recipes=TINY)
    got = train_mlps(ds, W, seeds=[0], recipes=TINY)
    np.testing.assert_array_equal(got.test_loss, ref.test_loss)


def test_low_precision_init_weights_are_converted():
    iw = [(w.to(torch.bfloat16), b.to(torch.float64)) for w, b in _IW]
    res = train_mlps(DS, W, seeds=[0, 1], recipes=TINY, init_weights=iw)
    assert all(w.dtype == torch.float32 for w, _ in res.weights)


def test_integer_and_numpy_points_are_accepted_by_outputs():
    pts = np.array([[0, 1], [1, 0]])
    torch.testing.assert_close(RES.outputs(pts), RES.outputs(torch.tensor(pts).float()))


def test_accepted_devices_and_widths():
    assert check_device("cpu", param="device", func="f") == torch.device("cpu")
    assert check_device(torch.device("cpu"), param="device", func="f") == torch.device("cpu")
    assert check_int_sequence((2, np.int64(3)), param="widths", func="f") == (2, 3)
    assert check_int_sequence(np.array([2, 3]), param="widths", func="f") == (2, 3)
