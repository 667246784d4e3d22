"""Stacked trainer: members train as if alone and share one optimiser with train_mlps."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from _close import assert_weights_close
from torch import nn

from reluthe import data, models
from reluthe.errors import InvalidInputError
from reluthe.train import (
    MemberActivation,
    Recipe,
    from_grouped,
    grouped_conv,
    member_orders,
    stacked_conv,
    stacked_linear,
    stacked_mlp,
    stacked_mlp_init,
    to_grouped,
    train_mlps,
    train_stacked,
)
from reluthe.train._data import batch_order, member_losses


def test_member_activation_matches_separate_calls():
    h = torch.randn(6, 3, 4)
    act = MemberActivation(["relu", "relu", "tanh", "leaky_relu", "leaky_relu", "relu"],
                           {"leaky_relu": {"alpha": 0.2}})
    expected = torch.cat([h[:2].relu(), h[2:3].tanh(),
                          torch.nn.functional.leaky_relu(h[3:5], 0.2), h[5:].relu()])
    assert torch.equal(act(h), expected)
    grouped = h.transpose(0, 1).reshape(3, 24)  # members along dim 1 in blocks of 4
    assert torch.equal(act(grouped, dim=1), expected.transpose(0, 1).reshape(3, 24))


def _regression(seeds, poison=None):
    x = torch.linspace(-1, 1, 32)[:, None]
    y = torch.sin(3 * x)
    w0, b0 = stacked_linear(seeds, 8, 1, layer=0)
    w1, b1 = stacked_linear(seeds, 1, 8, layer=1)
    params = {"w0": w0, "b0": b0, "w1": w1, "b1": b1}
    act = MemberActivation(["relu"] * len(seeds))

    def loss(step):
        h = act(torch.baddbmm(params["b0"][:, None], x.expand(len(seeds), -1, -1),
                              params["w0"].transpose(1, 2)))
        out = torch.baddbmm(params["b1"][:, None], h, params["w1"].transpose(1, 2))
        per = ((out - y) ** 2).mean((1, 2))
        if poison is not None and step >= 5:
            per = per + torch.where(torch.arange(len(seeds)) == poison, math.nan, 0.0)
        return per

    log = train_stacked(params, loss, steps=20, lr=1e-2, eval_every=10,
                        evaluate=lambda step: {"w": params["w1"].detach().abs().sum((1, 2))})
    return params, log


def test_stacked_members_train_as_if_alone():
    alone, _ = _regression([3])
    stacked, log = _regression([5, 3, 7])
    for name in alone:
        torch.testing.assert_close(stacked[name][1], alone[name][0], rtol=1e-5, atol=1e-6)
    assert log.steps == [0, 10, 20] and not log.diverged.any()


def test_a_diverging_member_is_frozen_and_spares_the_others():
    clean, _ = _regression([5, 3, 7])
    poisoned, log = _regression([5, 3, 7], poison=1)
    assert log.diverged_at.tolist() == [-1, 5, -1]
    for name in clean:
        torch.testing.assert_close(poisoned[name][[0, 2]], clean[name][[0, 2]])
        assert torch.isfinite(poisoned[name]).all()


def test_train_stacked_rejects_parameters_on_another_device():
    w, b = stacked_linear([0], 2, 3)
    with pytest.raises(InvalidInputError, match="device"):
        train_stacked({"w": w, "b": b}, lambda step: w.sum()[None], steps=1, lr=1e-2,
                      eval_every=1, device="meta")


# --------------------------------------------------------------------------- one init, optimiser

def test_stacked_mlp_init_is_mlp_bit_for_bit():
    widths, seeds, inits = [3, 8, 8, 2], [4, 0, 9], ["he", "default", "xavier"]
    layers = stacked_mlp_init(widths, seeds, init=inits)
    for k, (s, init) in enumerate(zip(seeds, inits)):
        linears = [m for m in models.mlp(widths, init=init, seed=s) if isinstance(m, nn.Linear)]
        for (w, b), lin in zip(layers, linears):
            assert torch.equal(w[k], lin.weight) and torch.equal(b[k], lin.bias)
    with pytest.raises(InvalidInputError, match="init"):
        stacked_linear([0, 1], 2, 3, init=["he"])


def test_train_stacked_steps_as_train_mlps():
    """Both trainers update with the same optimiser: an MLP stack trained by train_stacked
    follows train_mlps's members."""
    ds = data.load("spirals", seed=0, n_samples=300)
    widths, seeds, steps = [2, 16, 16, 2], [0, 1], 5
    recipe = Recipe(lr=1e-2, batch_size=32, steps=steps, eval_every=steps)
    reference = train_mlps(ds, widths, seeds=seeds, recipes=recipe)
    layers = stacked_mlp_init(widths, seeds)
    params = {f"{n}{i}": t for i, pair in enumerate(layers) for n, t in zip("wb", pair)}
    orders = member_orders(len(ds.x_train), recipe.batch_size, steps, seeds)

    def loss(step):
        idx = orders[step - 1]
        pairs = [(params[f"w{i}"], params[f"b{i}"]) for i in range(len(layers))]
        logits, _ = stacked_mlp(pairs, ds.x_train[idx], torch.relu)
        return member_losses(logits, ds.y_train[idx], ds.n_classes)

    train_stacked(params, loss, steps=steps, lr=recipe.lr, eval_every=steps)
    assert_weights_close([t.detach() for t in params.values()],
                         [t for pair in reference.weights for t in pair], steps)


# --------------------------------------------------------------------------- CNN and RNN members

def _conv_data(n=96, length=12, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, length, generator=gen)
    y = (x[:, 0, : length // 2].sum(1) > x[:, 0, length // 2:].sum(1)).long() + (
        x[:, 0].abs().amax(1) > 2).long()
    return x, y


def test_stacked_cnn_member_equals_a_torch_cnn_trained_alone():
    x, y = _conv_data()
    names, seeds, steps, batch, lr = ["relu", "tanh", "relu"], [3, 5, 7], 15, 16, 1e-2
    params = {}
    params["w0"], params["b0"] = stacked_conv(seeds, 4, 1, (3,), layer=0)
    params["w1"], params["b1"] = stacked_conv(seeds, 4, 4, (3,), layer=1)
    params["wo"], params["bo"] = stacked_linear(seeds, 3, 4 * 3, layer=2)
    start = {name: t[1].clone() for name, t in params.items()}  # member 1: tanh, seed 5
    act = MemberActivation(names)
    orders = member_orders(len(x), batch, steps, seeds)

    def loss(step):
        idx = orders[step - 1]
        h = to_grouped(x[idx])
        h = act(grouped_conv(h, params["w0"], params["b0"], stride=2, padding=1), dim=1)
        h = act(grouped_conv(h, params["w1"], params["b1"], stride=2, padding=1), dim=1)
        logits = torch.baddbmm(params["bo"][:, None], from_grouped(h, len(seeds)),
                               params["wo"].transpose(1, 2))
        return F.cross_entropy(logits.transpose(1, 2), y[idx], reduction="none").mean(1)

    train_stacked(params, loss, steps=steps, lr=lr, eval_every=steps)

    net = nn.Sequential(nn.Conv1d(1, 4, 3, stride=2, padding=1), nn.Tanh(),
                        nn.Conv1d(4, 4, 3, stride=2, padding=1), nn.Tanh(), nn.Flatten(),
                        nn.Linear(12, 3))
    with torch.no_grad():
        for mod, (w, b) in zip([net[0], net[2], net[5]], [("w0", "b0"), ("w1", "b1"),
                                                          ("wo", "bo")]):
            mod.weight.copy_(start[w])
            mod.bias.copy_(start[b])
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for idx in batch_order(len(x), batch, steps, 5):
        opt.zero_grad()
        F.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    assert_weights_close([params[n][1].detach() for n in ("w0", "b0", "w1", "b1", "wo", "bo")],
                         [p.detach() for p in net.parameters()], steps)


def _rnn(names, seeds, lrs, clips, x, y, steps=12, batch=16):
    """A stacked Elman RNN h_t = act(W_x x_t + W_h h_{t-1} + b), output W_o h_T + b_o, trained
    with per-member learning rates and gradient clipping; returns the trained parameters."""
    params = {}
    params["wx"], params["b"] = stacked_linear(seeds, 6, 1, layer=0)
    params["wh"], _ = stacked_linear(seeds, 6, 6, layer=1)
    params["wo"], params["bo"] = stacked_linear(seeds, 1, 6, layer=2)
    act = MemberActivation(names)
    orders = member_orders(len(x), batch, steps, seeds)

    def loss(step):
        idx = orders[step - 1]
        u = torch.einsum("kbtd,khd->tkbh", x[idx], params["wx"]) + params["b"][None, :, None]
        h = torch.zeros(u.shape[1:])
        for u_t in u.unbind(0):
            h = act(torch.baddbmm(u_t, h, params["wh"].transpose(1, 2)))
        out = torch.baddbmm(params["bo"][:, None], h, params["wo"].transpose(1, 2))
        return ((out - y[idx]) ** 2).mean((1, 2))

    train_stacked(params, loss, steps=steps, lr=lrs, eval_every=steps,
                  clip=torch.tensor(clips))
    return {name: t.detach() for name, t in params.items()}


def test_stacked_rnn_member_equals_the_member_trained_alone():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(64, 8, 1, generator=gen)
    y = 0.5 * x.sum(1)  # (64, 1): half the sum of the sequence
    stack = _rnn(["relu", "tanh", "relu"], [3, 5, 7], [1e-2, 3e-3, 1e-2],
                 [math.inf, 0.05, 0.5], x, y)
    alone = _rnn(["tanh"], [5], [3e-3], [0.05], x, y)
    assert_weights_close([t[1] for t in stack.values()], [t[0] for t in alone.values()], 12)
    other = _rnn(["tanh"], [5], [3e-3], [math.inf], x, y)  # the clip matters
    assert not torch.allclose(other["wh"][0], alone["wh"][0])
