"""Seeded training: many small MLPs as one batched model, and a plain loop for any torch model.

``train_mlps`` trains K = len(recipes) × len(seeds) MLPs of the same shape at once: their weights
are stacked (``[K, out, in]``), the forward pass is one batched matmul per layer, and Adam / SGD
are applied elementwise with per-member hyper-parameters. Member ``k`` follows the trajectory that
``fit(mlp(widths, seed=s), ...)`` gives one model at a time (same init, same batch order, same
update rule, equal up to float rounding), only faster. The global RNG is never touched: every
draw comes from a generator seeded by the member's seed.

Examples
--------
>>> from reluthe import data
>>> from reluthe.train import Recipe, train_mlps
>>> ds = data.load("spirals", seed=0, n_samples=400)
>>> res = train_mlps(ds, [2, 32, 32, 2], seeds=[0, 1], recipes=Recipe(steps=50, eval_every=25))
>>> res.test_acc.shape
(2, 3)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from reluthe._validate import check_choice, check_positive_float, check_positive_int, check_seed
from reluthe.data import Dataset
from reluthe.errors import InvalidInputError
from reluthe.models import activation_fn, mlp

__all__ = ["Recipe", "TrainResult", "FitResult", "train_mlps", "fit", "batch_order"]

_BATCH_SEED_OFFSET = 7919  # batch order generator = seed + offset, distinct from the init generator


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
        return asdict(self)


@dataclass(frozen=True)
class TrainResult:
    """Curves and final weights of K jointly trained MLPs.

    Attributes
    ----------
    widths, activation : the shared architecture
    init : str or tuple of str
        The init scheme of all members, or one per recipe (see :attr:`member_inits`).
    seeds : tuple of int, one per member
    recipes : tuple of Recipe, one per member
    steps : np.ndarray, shape (T,)
        Steps at which the curves were evaluated.
    train_loss, test_loss, train_acc, test_acc : np.ndarray, shape (K, T)
        Accuracies are NaN for regression; losses exclude penalties.
    weights : list of (W, b) torch tensors, W of shape (K, out, in), b (K, out), on the CPU
    time_s : float
        Wall-clock seconds of the training loop (evaluation included).
    output_activation : str or None
        The activation applied after the last layer (``None``: none).
    train_time_s : float
        The part of ``time_s`` spent in training steps (evaluation excluded).
    train_cpu_s : float
        CPU seconds of this process in training steps (evaluation excluded): unlike wall-clock
        time, not stretched by other processes, so the last step over it is a throughput for
        budgets of compute (with one torch thread, the time of an otherwise idle core).
    """

    widths: tuple[int, ...]
    activation: str
    activation_params: dict
    init: str | tuple[str, ...]
    seeds: tuple[int, ...]
    recipes: tuple[Recipe, ...]
    steps: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    weights: list = field(repr=False)
    time_s: float = 0.0
    output_activation: str | None = None
    train_time_s: float = 0.0
    train_cpu_s: float = 0.0

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    @property
    def member_inits(self) -> tuple[str, ...]:
        """The init scheme of each member (``init`` repeated, or ``init[r]`` for recipe r)."""
        return _member_inits(self.init, self.n_members)

    def model(self, k: int) -> nn.Sequential:
        """Member ``k`` as a standalone ``nn.Sequential`` (a copy; float32, CPU)."""
        if not 0 <= k < self.n_members:
            raise InvalidInputError(f"Member index must be in [0, {self.n_members}). Got {k!r}.")
        net = mlp(list(self.widths), self.activation, "default", seed=0,
                  activation_params=self.activation_params,
                  output_activation=self.output_activation)
        linears = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, (w, b) in zip(linears, self.weights):
                lin.weight.copy_(w[k])
                lin.bias.copy_(b[k])
        return net

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-activation hidden features of every member on inputs ``x``: list of (K, N, h)."""
        act = activation_fn(self.activation, **self.activation_params)
        with torch.no_grad():
            _, hs = _forward(self.weights, x.reshape(len(x), -1).float(), act, None, None)
        return hs

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs of every member on inputs ``x`` (after ``output_activation``): (K, N, out)."""
        act = activation_fn(self.activation, **self.activation_params)
        out_act = activation_fn(self.output_activation) if self.output_activation else None
        with torch.no_grad():
            out, _ = _forward(self.weights, x.reshape(len(x), -1).float(), act, None, None,
                              out_act)
        return out

    def to_dict(self) -> dict:
        """Summary (no weights): final metrics per member and the configuration."""
        return {
            "widths": list(self.widths), "activation": self.activation,
            "activation_params": dict(self.activation_params),
            "init": self.init if isinstance(self.init, str) else list(self.init),
            "output_activation": self.output_activation,
            "seeds": list(self.seeds), "recipes": [r.to_dict() for r in self.recipes],
            "steps": self.steps.tolist(),
            "final_train_loss": self.train_loss[:, -1].tolist(),
            "final_test_loss": self.test_loss[:, -1].tolist(),
            "final_train_acc": self.train_acc[:, -1].tolist(),
            "final_test_acc": self.test_acc[:, -1].tolist(),
            "time_s": self.time_s, "train_time_s": self.train_time_s,
            "train_cpu_s": self.train_cpu_s,
        }


def batch_order(n: int, batch_size: int, steps: int, seed: int) -> torch.Tensor:
    """Minibatch indices, shape (steps, batch_size): seeded epoch permutations, last partial
    batch of each epoch dropped. Shared by the batched and the one-at-a-time trainers."""
    if batch_size > n:
        raise InvalidInputError(f"batch_size ({batch_size}) exceeds the training set size ({n}).")
    gen = torch.Generator().manual_seed(seed + _BATCH_SEED_OFFSET)
    per_epoch = n // batch_size
    epochs = -(-steps // per_epoch)
    perms = [torch.randperm(n, generator=gen)[: per_epoch * batch_size] for _ in range(epochs)]
    return torch.cat(perms).view(-1, batch_size)[:steps]


def _forward(weights, x, act, drop_p, gen, out_act=None):
    """x: (N, D) shared or (K, N, D). Returns outputs (K, N, out) and hidden activations."""
    hs = []
    h = x
    last = len(weights) - 1
    for i, (w, b) in enumerate(weights):
        if h.dim() == 2:
            h = torch.matmul(h, w.transpose(1, 2)) + b[:, None, :]
        else:
            h = torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))
        if i < last:
            h = act(h)
            hs.append(h)
            if drop_p is not None:
                keep = 1.0 - drop_p[:, None, None]
                mask = torch.rand(h.shape, generator=gen, device=h.device) < keep
                h = h * mask / keep
    return (h if out_act is None else out_act(h)), hs


def _loss(logits, y, n_classes):
    k, n = logits.shape[:2]
    if n_classes is None:
        target = y.expand(k, *y.shape) if y.dim() == logits.dim() - 1 else y
        return ((logits - target) ** 2).reshape(k, n, -1).mean(dim=(1, 2))
    target = y.expand(k, n) if y.dim() == 1 else y
    # logits - logsumexp is cross-entropy; on CPU it is faster than F.cross_entropy's
    # log_softmax kernel for few classes. fit() uses the same function, so both agree exactly.
    logp = logits - torch.logsumexp(logits, -1, keepdim=True)
    return -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1).mean(1)


def _evaluate(weights, x, y, act, n_classes, out_act=None, chunk=8192):
    losses, correct = [], []
    with torch.no_grad():
        for s in range(0, len(x), chunk):
            logits, _ = _forward(weights, x[s:s + chunk], act, None, None, out_act)
            yy = y[s:s + chunk]
            losses.append(_loss(logits, yy, n_classes) * len(yy))
            if n_classes is not None:
                correct.append((logits.argmax(-1) == yy[None]).float().sum(1))
    loss = (torch.stack(losses).sum(0) / len(x)).cpu().numpy()
    if n_classes is None:
        return loss, np.full_like(loss, np.nan)
    return loss, (torch.stack(correct).sum(0) / len(x)).cpu().numpy()


def _check_dataset(dataset: Dataset, func: str) -> None:
    if not isinstance(dataset, Dataset):
        raise InvalidInputError(f"The 'dataset' parameter of {func} must be a reluthe.data.Dataset "
                                f"(from reluthe.data.load). Got {type(dataset).__name__} instead.")
    names = ("x_train", "x_test") + (("y_train", "y_test") if dataset.n_classes is None else ())
    for name in names:
        t = getattr(dataset, name)
        if not torch.isfinite(t).all():
            raise InvalidInputError(f"Dataset {dataset.name!r} has NaN/inf values in {name}.")


def _member_inits(init: str | tuple[str, ...], n_members: int) -> tuple[str, ...]:
    """One init name per member: ``init`` for all, or each of one-per-recipe names repeated
    for that recipe's block of ``n_members // len(init)`` seeds."""
    if isinstance(init, str):
        return (init,) * n_members
    return tuple(i for i in init for _ in range(n_members // len(init)))


def _seeded_init(widths, activation, params, inits, seeds) -> list:
    """Stacked (W, b) of ``mlp(widths, ..., init=i, seed=s)`` for every member's (i, s)."""
    nets = [mlp(list(widths), activation, i, seed=s, activation_params=params)
            for i, s in zip(inits, seeds)]
    linears = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
    return [(torch.stack([lins[i].weight.detach() for lins in linears]),
             torch.stack([lins[i].bias.detach() for lins in linears]))
            for i in range(len(widths) - 1)]


def _check_init_weights(weights, widths, k, func) -> list:
    """Validate stacked starting weights against the architecture and member count."""
    expected = [((k, b, a), (k, b)) for a, b in zip(widths[:-1], widths[1:])]
    try:
        pairs = [(torch.as_tensor(w, dtype=torch.float32).detach().clone(),
                  torch.as_tensor(b, dtype=torch.float32).detach().clone()) for w, b in weights]
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"The 'init_weights' parameter of {func} must be a sequence of "
                                f"(W, b) tensor pairs.") from exc
    got = [(tuple(w.shape), tuple(b.shape)) for w, b in pairs]
    if got != expected:
        raise InvalidInputError(f"The 'init_weights' parameter of {func} must have shapes "
                                f"{expected} for {k} members of widths {list(widths)}. "
                                f"Got {got} instead.")
    if not all(torch.isfinite(t).all() for pair in pairs for t in pair):
        raise InvalidInputError(f"The 'init_weights' parameter of {func} must be finite. "
                                f"Got NaN/inf values.")
    return pairs


def train_mlps(dataset: Dataset, widths: Sequence[int], *, seeds: Sequence[int],
               recipes: Recipe | Sequence[Recipe] = Recipe(), activation: str = "relu",
               activation_params: dict | None = None, init: str | Sequence[str] = "default",
               device: str = "cpu", max_time_s: float | None = None,
               augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
               init_weights: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
               output_activation: str | None = None) -> TrainResult:
    """Train ``len(recipes) × len(seeds)`` MLPs of one shape as a single batched model.

    Parameters
    ----------
    dataset : Dataset
        Training and test data (``reluthe.data.load``); flattened to (n, input_dim).
    widths : sequence of int
        ``[input_dim, hidden..., output]``; ``widths[0]`` must equal the dataset's input dim.
    seeds : sequence of int
        One member per seed (and per recipe): member ``r * len(seeds) + s`` has ``recipes[r]``
        and ``seeds[s]``. The seed fixes the init and the batch order.
    recipes : Recipe or sequence of Recipe
        Per-member hyper-parameters. All must share optimizer, batch_size, steps and eval_every.
    activation, activation_params :
        As in :func:`reluthe.models.mlp`.
    init : str or sequence of str
        Init scheme (as in :func:`reluthe.models.mlp`) of every member, or one per recipe:
        member ``r * len(seeds) + s`` then starts from ``mlp(..., init=init[r], seed=seeds[s])``,
        so several inits train in one batched run (pass the same Recipe once per init).
    device : str
        "cpu" or "cuda".
    max_time_s : float, optional
        Stop after this much wall-clock time (evaluating at the last step done): for budgets
        matched in time rather than steps.
    augment : callable, optional
        ``augment(x_batch, generator) -> x_batch`` applied to each (K, B, D) training batch.
    init_weights : sequence of (W, b), optional
        Starting weights of all K members, stacked as in ``TrainResult.weights`` (e.g. those of
        a pre-training run, for transfer); replaces the seeded init (the seeds still fix the
        batch order; ``bias_shift`` is still added).
    output_activation : str, optional
        An activation applied after the last layer, in training and evaluation (claim C24).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from reluthe import data
    >>> ds = data.load("digits", seed=0)
    >>> r = train_mlps(ds, [64, 32, 10], seeds=[0, 1, 2], recipes=Recipe(steps=100, eval_every=100))
    >>> bool((r.test_acc[:, -1] > 0.5).all())
    True
    """
    func = "train_mlps"
    _check_dataset(dataset, func)
    recipes = (recipes,) if isinstance(recipes, Recipe) else tuple(recipes)
    if not recipes or not all(isinstance(r, Recipe) for r in recipes):
        raise InvalidInputError(f"The 'recipes' parameter of {func} must be a Recipe or a "
                                f"non-empty sequence of Recipe. Got {recipes!r} instead.")
    shared = {(r.optimizer, r.batch_size, r.steps, r.eval_every) for r in recipes}
    if len(shared) > 1:
        raise InvalidInputError(f"All recipes of one batched run must share optimizer, batch_size, "
                                f"steps and eval_every. Got {sorted(shared)}.")
    if isinstance(seeds, (int, str)) or len(seeds) == 0:
        raise InvalidInputError(f"The 'seeds' parameter of {func} must be a non-empty sequence of "
                                f"integers. Got {seeds!r} instead.")
    seeds = tuple(check_seed(s, func=func, param="seeds") for s in seeds)
    widths = tuple(int(w) for w in widths)
    if widths[0] != dataset.input_dim:
        raise InvalidInputError(f"widths[0] must equal the dataset's input dimension "
                                f"{dataset.input_dim}. Got widths={list(widths)}.")
    if dataset.n_classes is not None and widths[-1] != dataset.n_classes:
        raise InvalidInputError(f"widths[-1] must equal the number of classes {dataset.n_classes}. "
                                f"Got widths={list(widths)}.")
    params = dict(activation_params or {})
    act = activation_fn(activation, **params)
    out_act = activation_fn(output_activation) if output_activation is not None else None
    if max_time_s is not None:
        check_positive_float(max_time_s, param="max_time_s", func=func)
    if not isinstance(init, str):
        init = tuple(init)
        if len(init) != len(recipes) or not all(isinstance(i, str) for i in init):
            raise InvalidInputError(f"The 'init' parameter of {func} must be an init name or one "
                                    f"name per recipe ({len(recipes)}). Got {list(init)!r}.")

    member_seeds = tuple(s for _ in recipes for s in seeds)
    member_recipes = tuple(r for r in recipes for _ in seeds)
    member_inits = _member_inits(init, len(member_seeds))
    k = len(member_seeds)
    base = recipes[0]
    dev = torch.device(device)

    start_weights = (_check_init_weights(init_weights, widths, k, func) if init_weights is not None
                     else _seeded_init(widths, activation, params, member_inits, member_seeds))
    # All parameters live in one (K, P) buffer, a row per member: the optimiser is then a
    # handful of elementwise ops per step, with per-member hyper-parameters as (K, 1) columns.
    blocks = []
    for i, (w, b) in enumerate(start_weights):
        if i < len(widths) - 2:
            b = b + torch.tensor([r.bias_shift for r in member_recipes])[:, None]
        blocks += [w, b]
    shapes = [t.shape for t in blocks]
    sizes = [t[0].numel() for t in blocks]
    flat = torch.cat([t.reshape(k, -1) for t in blocks], 1).to(dev).requires_grad_()

    def unflatten(buffer):
        parts = [t.view(shape) for t, shape in zip(torch.split(buffer, sizes, 1), shapes)]
        return list(zip(parts[::2], parts[1::2]))

    def per_member(name, dtype=torch.float32):
        return torch.tensor([[getattr(r, name)] for r in member_recipes], device=dev, dtype=dtype)

    lr64, lr_col = per_member("lr", torch.float64), per_member("lr")
    wd_col, mom_col = per_member("weight_decay"), per_member("momentum")
    use_wd = bool((wd_col != 0).any())
    l1, drop = per_member("l1_activity")[:, 0], per_member("dropout")[:, 0]
    use_drop = bool((drop > 0).any())
    use_l1 = bool((l1 > 0).any())
    m_buf, v_buf = torch.zeros_like(flat), torch.zeros_like(flat)

    x_tr = dataset.x_train.reshape(len(dataset.x_train), -1).float().to(dev)
    y_tr = dataset.y_train.to(dev)
    x_te = dataset.x_test.reshape(len(dataset.x_test), -1).float().to(dev)
    y_te = dataset.y_test.to(dev)
    orders = torch.stack([batch_order(len(x_tr), base.batch_size, base.steps, s)
                          for s in member_seeds], 1).to(dev)  # (steps, K, B)
    gen = torch.Generator(device=dev).manual_seed(member_seeds[0] + 2 * _BATCH_SEED_OFFSET)

    eval_steps, curves = [], {"trl": [], "tel": [], "tra": [], "tea": []}
    eval_s = [0.0, 0.0]  # wall and CPU seconds spent evaluating inside the timed loop

    def record(step):
        t0, c0 = time.perf_counter(), time.process_time()
        detached = unflatten(flat.detach())
        trl, tra = _evaluate(detached, x_tr, y_tr, act, dataset.n_classes, out_act)
        tel, tea = _evaluate(detached, x_te, y_te, act, dataset.n_classes, out_act)
        eval_steps.append(step)
        for key, val in zip(("trl", "tel", "tra", "tea"), (trl, tel, tra, tea)):
            curves[key].append(val)
        eval_s[0] += time.perf_counter() - t0
        eval_s[1] += time.process_time() - c0

    record(0)
    eval_s[:] = [0.0, 0.0]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    start, cpu_start = time.perf_counter(), time.process_time()
    step = 0
    for step in range(1, base.steps + 1):
        idx = orders[step - 1]
        xb = torch.index_select(x_tr, 0, idx.reshape(-1)).view(*idx.shape, -1)
        yb = torch.index_select(y_tr, 0, idx.reshape(-1)).view(*idx.shape, *y_tr.shape[1:])
        if augment is not None:
            xb = augment(xb, gen)
        logits, hs = _forward(unflatten(flat), xb, act, drop if use_drop else None, gen, out_act)
        loss = _loss(logits, yb, dataset.n_classes)
        if use_l1:
            loss = loss + l1 * sum(h.abs().mean(dim=(1, 2)) for h in hs)
        (g,) = torch.autograd.grad(loss.sum(), flat)
        with torch.no_grad():  # torch.optim's single-tensor formulas, elementwise per member
            if use_wd:
                g = torch.addcmul(g, wd_col.expand_as(flat), flat)
            if base.optimizer == "sgd":
                m_buf = g if step == 1 else m_buf.mul_(mom_col).add_(g)
                flat.addcmul_(-lr_col.expand_as(flat), m_buf)
            else:
                m_buf.lerp_(g, 1 - beta1)
                v_buf.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                bc1, bc2 = 1 - beta1**step, 1 - beta2**step
                denom = v_buf.sqrt().div_(math.sqrt(bc2)).add_(eps)
                step_size = (lr64 / bc1).to(flat.dtype)  # as torch: lr / bc1
                flat.add_(torch.mul(m_buf, -step_size).div_(denom))
        if step % base.eval_every == 0 or step == base.steps:
            record(step)
        if max_time_s is not None and time.perf_counter() - start > max_time_s:
            if eval_steps[-1] != step:
                record(step)
            break
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    out = [(w.cpu().clone(), b.cpu().clone()) for w, b in unflatten(flat.detach())]
    arr = {key: np.stack(v, 1) for key, v in curves.items()}
    return TrainResult(widths, activation, params, init, member_seeds, member_recipes,
                       np.asarray(eval_steps), arr["trl"], arr["tel"], arr["tra"], arr["tea"],
                       out, elapsed, output_activation, elapsed - eval_s[0], cpu - eval_s[1])


@dataclass(frozen=True)
class FitResult:
    """Curves of one model trained by :func:`fit`, and the trained copy.

    Attributes
    ----------
    model : nn.Module
        The trained copy (the caller's model is untouched).
    steps : np.ndarray (T,)
    train_loss, test_loss, train_acc, test_acc : np.ndarray (T,)
    time_s : float
    """

    model: nn.Module
    steps: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    time_s: float


def fit(model: nn.Module, dataset: Dataset, recipe: Recipe = Recipe(), *, seed: int = 0,
        device: str = "cpu", max_time_s: float | None = None) -> FitResult:
    """Train a copy of any torch ``model`` with ``torch.optim`` (one model at a time).

    The batch order is :func:`batch_order` with ``seed``, so an MLP built by
    ``reluthe.models.mlp(..., seed=s)`` and trained here follows the same trajectory as member
    ``s`` of :func:`train_mlps`. The caller's model, its mode and the global RNG are unchanged.
    Inputs keep their shape (a CNN gets ``(n, c, l)``); penalties of the recipe that need the
    hidden layers (``l1_activity``, ``dropout``, ``bias_shift``) are for :func:`train_mlps` only.

    Examples
    --------
    >>> from reluthe import data, models
    >>> ds = data.load("spirals", seed=0, n_samples=400)
    >>> r = fit(models.mlp([2, 16, 2], seed=0), ds, Recipe(steps=20, eval_every=10))
    >>> r.steps.tolist()
    [0, 10, 20]
    """
    import copy

    func = "fit"
    _check_dataset(dataset, func)
    seed = check_seed(seed, func=func)
    if not isinstance(model, nn.Module):
        raise InvalidInputError(f"The 'model' parameter of {func} must be a torch.nn.Module. "
                                f"Got {type(model).__name__} instead.")
    if recipe.l1_activity or recipe.dropout or recipe.bias_shift:
        raise InvalidInputError("fit() does not apply l1_activity, dropout or bias_shift; put them "
                                "in the model or use train_mlps().")
    dev = torch.device(device)
    net = copy.deepcopy(model).to(dev).train()
    if recipe.optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay,
                               foreach=False)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                              weight_decay=recipe.weight_decay, foreach=False)
    x_tr, y_tr = dataset.x_train.to(dev), dataset.y_train.to(dev)
    x_te, y_te = dataset.x_test.to(dev), dataset.y_test.to(dev)
    order = batch_order(len(x_tr), recipe.batch_size, recipe.steps, seed).to(dev)

    def evaluate(x, y):
        net.eval()
        with torch.no_grad():
            logits = torch.cat([net(x[s:s + 8192]) for s in range(0, len(x), 8192)])
        net.train()
        loss = float(_loss(logits[None], y, dataset.n_classes)[0])
        acc = (float((logits.argmax(-1) == y).float().mean()) if dataset.n_classes is not None
               else float("nan"))
        return loss, acc

    steps, rows = [], []

    def record(step):
        steps.append(step)
        rows.append((*evaluate(x_tr, y_tr), *evaluate(x_te, y_te)))

    record(0)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout inside the model draws from the (forked) global RNG
        for step in range(1, recipe.steps + 1):
            idx = order[step - 1]
            loss = _loss(net(x_tr[idx])[None], y_tr[idx], dataset.n_classes)[0]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % recipe.eval_every == 0 or step == recipe.steps:
                record(step)
            if max_time_s is not None and time.perf_counter() - start > max_time_s:
                if steps[-1] != step:
                    record(step)
                break
    elapsed = time.perf_counter() - start
    trl, tra, tel, tea = (np.asarray(c) for c in zip(*rows))
    return FitResult(net.eval(), np.asarray(steps), trl, tel, tra, tea, elapsed)
