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
    member_generators,
    member_orders,
    stacked_conv,
    stacked_linear,
    stacked_mlp,
    stacked_mlp_init,
    to_grouped,
    train_alternating,
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
    gens = member_generators(seeds)
    w0, b0 = stacked_linear(gens, 8, 1)
    w1, b1 = stacked_linear(gens, 1, 8)
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

def test_member_generators_draw_each_model_in_order():
    """One generator per member: a model's layers continue its stream (a GAN's D after its G)."""
    g = stacked_mlp_init([2, 4, 3], [7, 8])
    gd = stacked_mlp_init([3, 5, 1], member_generators([7, 8]))  # a fresh start: not D's draw
    gens = member_generators([7, 8])
    both = stacked_mlp_init([2, 4, 3], gens) + stacked_mlp_init([3, 5, 1], gens)
    assert all(torch.equal(a, b) for pa, pb in zip(g, both) for a, b in zip(pa, pb))
    assert not torch.equal(both[2][0], gd[0][0])
    alone = stacked_mlp_init([2, 4, 3, 5, 1], [8])
    assert torch.equal(both[3][0][1], alone[3][0][0])  # same draws as one MLP 2-4-3-5-1


def _gan_like(seeds, names, steps=6, poison=None):
    """Two alternating phases (a toy 'D' then 'G') next to their torch.optim reference."""
    x = torch.linspace(-1, 1, 16)[:, None]
    gens = member_generators(seeds)
    g = stacked_mlp_init([1, 4, 1], gens)
    d = stacked_mlp_init([1, 4, 1], gens)
    act, state = MemberActivation(names), {}

    def loss_d(step):
        state["fake"] = stacked_mlp(g, x, act)[0]
        real = stacked_mlp(d, 2 * x, act)[0]
        per = ((real - 1) ** 2 + stacked_mlp(d, state["fake"].detach(), act)[0] ** 2).mean((1, 2))
        if poison is not None and step >= 3:
            per = per + torch.where(torch.arange(len(seeds)) == poison, math.nan, 0.0)
        return per

    def loss_g(step):
        return ((stacked_mlp(d, state.pop("fake"), act)[0] - 1) ** 2).mean((1, 2))

    flat = {f"{n}{i}": t for i, pair in enumerate(d) for n, t in zip("wb", pair)}
    gflat = {f"{n}{i}": t for i, pair in enumerate(g) for n, t in zip("wb", pair)}
    log = train_alternating([(flat, loss_d), (gflat, loss_g)], steps=steps, lr=1e-2,
                            betas=(0.5, 0.999), eval_every=steps)
    return [t.detach() for pair in g + d for t in pair], log


def test_alternating_phases_follow_two_torch_adams():
    stack, log = _gan_like([3, 5], ["relu", "tanh"])
    x = torch.linspace(-1, 1, 16)[:, None]
    gens = member_generators([5])
    nets = [nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)) for _ in range(2)]
    with torch.no_grad():
        for net in nets:  # G, then D, from member 1's generator
            for lin in (net[0], net[2]):
                w, b = stacked_linear(gens, *lin.weight.shape)
                lin.weight.copy_(w[0])
                lin.bias.copy_(b[0])
    gnet, dnet = nets
    opt_g, opt_d = (torch.optim.Adam(n.parameters(), lr=1e-2, betas=(0.5, 0.999)) for n in nets)
    for _ in range(6):
        fake = gnet(x)
        opt_d.zero_grad()
        ((dnet(2 * x) - 1) ** 2 + dnet(fake.detach()) ** 2).mean().backward()
        opt_d.step()
        opt_g.zero_grad()
        ((dnet(fake) - 1) ** 2).mean().backward()
        opt_g.step()
    assert_weights_close([t[1] for t in stack], [p.detach() for n in nets for p in n.parameters()],
                         6)
    assert not log.diverged.any()


def test_alternating_phases_freeze_a_diverging_member_everywhere():
    clean, _ = _gan_like([3, 5, 7], ["relu"] * 3)
    poisoned, log = _gan_like([3, 5, 7], ["relu"] * 3, poison=2)
    assert log.diverged_at.tolist() == [-1, -1, 3]
    for a, b in zip(clean, poisoned):
        torch.testing.assert_close(b[:2], a[:2])
        assert not b[2].any()  # frozen members are zeroed in both phases' parameters
    w, b = stacked_linear([0, 1], 2, 3)
    with pytest.raises(InvalidInputError, match="disjoint"):
        train_alternating([({"w": w}, None), ({"w": w, "b": b}, None)], steps=1, lr=1e-2,
                          eval_every=1)



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
    params, gens = {}, member_generators(seeds)
    params["w0"], params["b0"] = stacked_conv(gens, 4, 1, (3,))
    params["w1"], params["b1"] = stacked_conv(gens, 4, 4, (3,))
    params["wo"], params["bo"] = stacked_linear(gens, 3, 4 * 3)
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
    params, gens = {}, member_generators(seeds)
    params["wx"], params["b"] = stacked_linear(gens, 6, 1)
    params["wh"], _ = stacked_linear(gens, 6, 6)
    params["wo"], params["bo"] = stacked_linear(gens, 1, 6)
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
