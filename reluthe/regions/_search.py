"""Output-sensitive exact search for the activation regions of a network in a convex domain.

The regions meeting a domain (an L-inf box or an L1 ball) in the full input space are found by
splitting convex cells layer by layer (as Drammis et al. 2024 do for EMNIST networks): a cell is
an activation pattern of the layers done so far, the kinks that bound it (its "active" kinks) and
a ball inside it. On a cell, every unit of the next layer has an affine pre-activation (the maps
of the earlier layers composed under the cell's pattern); each kink of the layer is tested:

1. *interval bound*: the range of the pre-activation over the whole domain misses the kink (no
   LP: the kink does not cut the cell);
2. *ball test*: the kink's hyperplane passes through the cell's ball deep enough that both sides
   hold a ball of radius ``tol`` (no LP: it cuts);
3. otherwise one LP (``scipy.optimize.linprog``, HiGHS): the largest ball on the side of the
   hyperplane that does not hold the cell's ball; the side holding it is known to be non-empty.

A cell that a kink cuts becomes two cells; the kinks of one layer are applied one after another
to all the cells they cut (the layer's arrangement inside each cell), and the LPs of one step are
solved together, as one block-diagonal LP. The work grows with the regions found times the kinks
that cut them, never with the vertices of the arrangement, and only the frontier of cells is held
(patterns, active kinks and one ball each: memory proportional to the output).

Conventions
-----------
Everything runs in normalized coordinates ``y``: ``x = center + scale * y`` with ``y`` in the unit
box ``[-1, 1]^d`` or the unit L1 ball. A region is counted when it holds a Euclidean ball of
radius ``tol`` in ``y`` (inside the domain too): the LP maximizes the distance ``t`` from a centre
kept ``tol`` inside the domain to the cell's hyperplanes, and a cell is kept when ``t > tol``.
HiGHS solves to an absolute accuracy near 1e-9, so ``tol`` is at least :data:`SEARCH_TOL`
(1e-7). Two regions are neighbours when their patterns differ in exactly one unit by one state
and the shared kink's hyperplane holds a ``(d-1)``-ball of radius ``tol`` inside both closures
(one LP: on that hyperplane the maps downstream of the unit coincide for both patterns).
Regions meeting only where several units' kinks coincide (a degenerate facet on which two or more
units flip at once) are not neighbours.

For an L1 ball of radius 1 in ``y`` a ball of radius ``t`` around ``y`` lies inside exactly when
``||y||_1 + t sqrt(d) <= 1`` (its facets have normals of norm ``sqrt(d)``); the LP writes
``y = p - q`` with ``p, q >= 0`` and ``sum(p + q) <= 1 - tol sqrt(d)``. An L2 ball would need a
second-order cone constraint, which an LP cannot state exactly; it is not offered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from reluthe.errors import InvalidInputError, RegionLimitError
from reluthe.nets import PLNet
from reluthe.regions._engine import check_range
from reluthe.regions._memory import over_budget
from reluthe.regions._result import pack_by_layout

__all__ = ["SEARCH_TOL", "NORMS", "Domain", "Found", "search"]

SEARCH_TOL = 1e-7
"""Smallest (and default) ``tol`` of the search engine: HiGHS's feasibility tolerances are set to
1e-9, two orders below it."""

NORMS = ("inf", "1")
"""Domains the search engine can state as LPs: the L-inf box and the L1 ball."""

_LP_OPTIONS = {"presolve": False, "primal_feasibility_tolerance": 1e-9,
               "dual_feasibility_tolerance": 1e-9}
_BATCH_NNZ = 20_000          # nonzeros of one block-diagonal LP (larger batches are slower)
_BATCH_BLOCKS = 64
_CHUNK_BYTES = 32 << 20      # composed maps of one chunk of cells
_HASH_SEED = 20240611        # fixed random weights of the pattern hash (adjacency look-up)


@dataclass(frozen=True)
class Domain:
    """The domain ``{center + scale * y : ||y|| <= 1}`` (``norm`` "inf": a box, "1": L1 ball)."""

    center: np.ndarray
    scale: np.ndarray
    norm: str

    @property
    def d(self) -> int:
        return int(self.center.shape[0])

    def spread(self, G: np.ndarray) -> np.ndarray:
        """``max |G y|`` over the unit ball, row by row (last axis): the dual norm of the rows."""
        return np.abs(G).sum(axis=-1) if self.norm == "inf" else np.abs(G).max(axis=-1)

    def margin(self, Y: np.ndarray) -> np.ndarray:
        """Euclidean distance from each point (rows) to the boundary of the unit ball."""
        if self.norm == "inf":
            return 1.0 - np.abs(Y).max(axis=-1)
        return (1.0 - np.abs(Y).sum(axis=-1)) / np.sqrt(self.d)

    def to_input(self, Y: np.ndarray) -> np.ndarray:
        return self.center + Y * self.scale


@dataclass
class Found:
    """The regions found: patterns (int8 states), balls inside them (``y`` coordinates),
    adjacency (region pairs and the ``(layer, index)`` of the unit that flips) and the number
    of LPs solved."""

    states: np.ndarray
    points: np.ndarray
    radii: np.ndarray
    edges: np.ndarray
    edge_units: np.ndarray
    n_lps: int


@dataclass(frozen=True)
class _Layer:
    weight: np.ndarray           # (n, fan-in), the first layer in y coordinates
    bias: np.ndarray
    kinks: np.ndarray            # breakpoints
    slopes: np.ndarray
    offsets: np.ndarray
    kink_unit: np.ndarray        # unit of each of the layer's kinks (unit-major)
    kink_value: np.ndarray       # breakpoint of each of the layer's kinks
    first_kink: int              # global index of the layer's first kink
    first_unit: int
    width: int                   # units (rows 0:width); the rows after are pass-through units


def _layers(net: PLNet, domain: Domain) -> list[_Layer]:
    out, kink0, unit0 = [], 0, 0
    for i, layer in enumerate(net.layers):
        w, b = layer.weight, layer.bias
        if i == 0:
            b = w @ domain.center + b
            w = w * domain.scale
        bps = np.asarray(layer.activation.breakpoints, dtype=np.float64)
        n, k = layer.width, bps.size
        out.append(_Layer(w, b, bps, np.asarray(layer.activation.slopes),
                          np.asarray(layer.activation.offsets), np.repeat(np.arange(n), k),
                          np.tile(bps, n), kink0, unit0, n))
        kink0 += n * k
        unit0 += n
    return out


# ----------------------------------------------------------------------------- LPs

class _Solver:
    """Largest-ball LPs in ``y``, many at once (one block-diagonal LP per batch).

    A block is ``(A, beta, coef)``, optionally with an equality row ``(a, gamma)``: maximize
    ``t <= 1`` subject to ``A y + coef t <= beta``, ``a y = gamma`` and ``y`` at least ``tol``
    inside the unit ball of the domain. Rows of ``A`` have norm 1 (``coef`` 1) for a ball in
    ``R^d``; a ball inside a hyperplane uses the norms of the rows projected onto it.
    """

    def __init__(self, domain: Domain, tol: float, func: str):
        self.domain, self.tol, self.func = domain, tol, func
        self.d = domain.d
        self.n_lps = 0
        self.n_var = (self.d if domain.norm == "inf" else 2 * self.d) + 1

    def solve(self, blocks: list) -> tuple[np.ndarray, np.ndarray]:
        """``t`` (k,) and centres ``Y`` (k, d) of the blocks (``t = -inf``: infeasible)."""
        t = np.empty(len(blocks))
        Y = np.empty((len(blocks), self.d))
        start = 0
        while start < len(blocks):
            stop, nnz = start, 0
            while stop < len(blocks) and stop - start < _BATCH_BLOCKS and (
                    stop == start or nnz < _BATCH_NNZ):
                nnz += blocks[stop][0].size + self.d
                stop += 1
            t[start:stop], Y[start:stop] = self._batch(blocks[start:stop])
            start = stop
        self.n_lps += len(blocks)
        return t, Y

    def _batch(self, blocks: list):
        res = self._linprog(blocks)
        if res.status == 0:
            return self._read(res.x, len(blocks))
        if len(blocks) == 1:
            if res.status == 2:                                  # infeasible
                return np.array([-np.inf]), np.zeros((1, self.d))
            raise InvalidInputError(
                f"The inputs of {self.func} are outside what the LP solver resolves in float64 "
                f"(HiGHS: {res.message}). Rescale the network's weights or the domain.")
        parts = [self._batch([b]) for b in blocks]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _rows(self, A: np.ndarray) -> np.ndarray:
        return A if self.domain.norm == "inf" else np.hstack([A, -A])

    def _linprog(self, blocks: list):
        d, nv, tol = self.d, self.n_var, self.tol
        ub, ub_rhs, eq, eq_rhs = [], [], [], []
        for A, beta, coef, *equal in blocks:
            rows = np.hstack([self._rows(A), coef[:, None]])
            if self.domain.norm == "1":             # sum(p + q) <= 1 - tol sqrt(d)
                rows = np.vstack([rows, np.r_[np.ones(2 * d), 0.0][None, :]])
                beta = np.r_[beta, 1.0 - tol * np.sqrt(d)]
            ub.append(rows)
            ub_rhs.append(beta)
            if equal:
                a, gamma = equal[0]
                eq.append(np.r_[self._rows(a[None, :])[0], 0.0][None, :])
                eq_rhs.append(np.array([gamma]))
            else:
                eq.append(np.zeros((0, nv)))
                eq_rhs.append(np.zeros(0))
        k = len(blocks)
        c = np.zeros(k * nv)
        c[nv - 1::nv] = -1.0
        lo, hi = (-1.0 + tol, 1.0 - tol) if self.domain.norm == "inf" else (0.0, 1.0)
        bounds = np.tile(np.r_[np.full(nv - 1, lo), -np.inf], k), np.tile(
            np.r_[np.full(nv - 1, hi), 1.0], k)
        has_eq = any(e.shape[0] for e in eq)
        return linprog(c, A_ub=sparse.block_diag(ub, format="csr"), b_ub=np.concatenate(ub_rhs),
                       A_eq=sparse.block_diag(eq, format="csr") if has_eq else None,
                       b_eq=np.concatenate(eq_rhs) if has_eq else None,
                       bounds=np.stack(bounds, axis=1), method="highs", options=_LP_OPTIONS)

    def _read(self, x: np.ndarray, k: int):
        x = x.reshape(k, self.n_var)
        Y = x[:, :self.d] if self.domain.norm == "inf" else x[:, :self.d] - x[:, self.d:-1]
        return x[:, -1].copy(), np.ascontiguousarray(Y)


# ----------------------------------------------------------------------------- composed maps

def _compose(layers: list[_Layer], states: np.ndarray, upto: int) -> list:
    """Pre-activation maps ``z = G y + g`` of layers ``0..upto`` on cells with ``states``:
    a list of ``(G (B, n, d), g (B, n))``."""
    B = states.shape[0]
    first = layers[0]
    G = np.broadcast_to(first.weight, (B, *first.weight.shape))
    g = np.broadcast_to(first.bias, (B, first.bias.size))
    maps = [(G, g)]
    for i in range(upto):
        lay, nxt = layers[i], layers[i + 1]
        st = states[:, lay.first_unit:lay.first_unit + lay.width]
        slope, off = lay.slopes[st], lay.offsets[st]
        if lay.weight.shape[0] > lay.width:      # pass-through units: slope 1, offset 0
            extra = lay.weight.shape[0] - lay.width
            slope = np.concatenate([slope, np.ones((B, extra))], axis=1)
            off = np.concatenate([off, np.zeros((B, extra))], axis=1)
        G = np.matmul(nxt.weight, slope[:, :, None] * G)
        g = (slope * g + off) @ nxt.weight.T + nxt.bias
        maps.append((G, g))
    return maps


def _kink_planes(lay: _Layer, G: np.ndarray, g: np.ndarray):
    """Unit normals ``N`` (B, K, d), offsets ``C`` (B, K) (signed distance ``N y + C``) and
    norms (B, K) of the kink hyperplanes of one layer (``norm == 0``: the unit is constant)."""
    Gk = G[:, lay.kink_unit]
    ck = g[:, lay.kink_unit] - lay.kink_value
    norm = np.linalg.norm(Gk, axis=-1)
    safe = np.where(norm > 0, norm, 1.0)
    return Gk / safe[..., None], ck / safe, norm


def _signed_planes(layers: list[_Layer], maps: list, states: np.ndarray, upto: int):
    """Every kink of layers ``< upto`` as a constraint ``A y <= beta`` (unit normal) on the side
    that each cell's pattern gives: (A (B, K, d), beta (B, K)); columns in global kink order."""
    A, beta = [], []
    for i in range(upto):
        lay = layers[i]
        N, C, _ = _kink_planes(lay, *maps[i])
        rank = np.arange(lay.kink_unit.size) % lay.kinks.size
        above = states[:, lay.first_unit + lay.kink_unit] > rank
        sign = np.where(above, -1.0, 1.0)        # above: -(n y + c) <= 0; below: n y + c <= 0
        A.append(sign[:, :, None] * N)
        beta.append(-sign * C)
    if not A:
        B, d = states.shape[0], maps[0][0].shape[-1]
        return np.zeros((B, 0, d)), np.zeros((B, 0))
    return np.concatenate(A, axis=1), np.concatenate(beta, axis=1)


# ----------------------------------------------------------------------------- one layer

@dataclass
class _Cells:
    """Cells of one chunk during a layer: their group (cell entering the layer), ball, and the
    side (``bits``: above the kink) and activity of each of the layer's kinks."""

    group: np.ndarray
    Y: np.ndarray
    R: np.ndarray
    bits: np.ndarray
    act: np.ndarray

    def take(self, keep: np.ndarray) -> _Cells:
        return _Cells(self.group[keep], self.Y[keep], self.R[keep], self.bits[keep],
                      self.act[keep])

    def extend(self, other: _Cells) -> _Cells:
        return _Cells(*(np.concatenate([a, b]) for a, b in zip(
            (self.group, self.Y, self.R, self.bits, self.act),
            (other.group, other.Y, other.R, other.bits, other.act))))


class _Search:
    def __init__(self, net: PLNet, domain: Domain, tol: float, max_regions: int,
                 max_bytes: int, func: str):
        self.layers = _layers(net, domain)
        self.domain, self.tol, self.func = domain, tol, func
        self.max_regions, self.max_bytes = max_regions, max_bytes
        self.solver = _Solver(domain, tol, func)
        self.n_units = sum(lay.width for lay in self.layers)
        self.n_kinks = sum(lay.kink_unit.size for lay in self.layers)

    # -- frontier bookkeeping
    def _row_bytes(self) -> int:
        return self.n_units + self.n_kinks + 8 * (self.domain.d + 1)

    def _reserve(self, n_cells: int, found: int):
        need = n_cells * self._row_bytes()
        if need > self.max_bytes:
            raise over_budget(self.max_bytes, 0, need, f"holding {n_cells} cells",
                              "the search engine's frontier", found)

    def _limit(self, n: int):
        if n > self.max_regions:
            raise RegionLimitError(
                f"{self.func} found more than max_regions={self.max_regions} regions (at least "
                f"{n}); raise max_regions, shrink the domain or use a network with fewer units.",
                found=n)

    def run(self) -> Found:
        d = self.domain.d
        states = np.zeros((1, self.n_units), dtype=np.int8)
        active = np.zeros((1, self.n_kinks), dtype=bool)
        Y = np.zeros((1, d))
        R = self.domain.margin(Y)
        for li in range(len(self.layers)):
            states, active, Y, R = self._layer(li, states, active, Y, R)
        R = np.minimum(R, self.domain.margin(Y))          # a ball inside region and domain
        return Found(states, Y, R, *self._adjacency(states, active, Y),
                     n_lps=self.solver.n_lps)

    def _chunks(self, n: int, per: int) -> list[np.ndarray]:
        """Index chunks of ``n`` items of ``per`` bytes each, within :data:`_CHUNK_BYTES`."""
        size = max(1, _CHUNK_BYTES // max(per, 1))
        return [np.arange(s, min(n, s + size)) for s in range(0, n, size)]

    def _layer(self, li: int, states, active, Y, R):
        outs, done = [], 0
        lay = self.layers[li]
        per = 8 * self.domain.d * (sum(la.weight.shape[0] for la in self.layers[:li + 1])
                                   + 2 * lay.kink_unit.size + lay.first_kink)
        for chunk in self._chunks(states.shape[0], per):
            out = self._split_chunk(li, states[chunk], active[chunk], Y[chunk], R[chunk],
                                    states.shape[0] - chunk.size + done)
            done += out[0].shape[0] - chunk.size
            outs.append(out)
        return tuple(np.concatenate(parts) for parts in zip(*outs))

    def _split_chunk(self, li, states, active, Y, R, others):
        lay = self.layers[li]
        maps = _compose(self.layers, states, li)
        G, g = maps[li]
        check_range(np.abs(g) + self.domain.spread(G),
                    f"the pre-activations of hidden layer {li + 1}", self.func)
        N, C, norm = _kink_planes(lay, G, g)
        A, beta = _signed_planes(self.layers, maps, states, li)
        on = active[:, :A.shape[1]]
        base = [(A[b, on[b]], beta[b, on[b]]) for b in range(len(states))]
        # interval bound over the domain: kinks outside the range never cut
        spread = self.domain.spread(G)[:, lay.kink_unit]
        z0 = g[:, lay.kink_unit]
        candidate = (norm > 0) & (np.abs(z0 - lay.kink_value) < spread)
        fixed_bits = np.einsum("bkd,bd->bk", N, Y) + C > 0
        cuts = self._prescreen(candidate, N, C, base, Y, R)
        cells = _Cells(np.arange(len(states)), Y.copy(), R.copy(), fixed_bits.copy(),
                       np.zeros(fixed_bits.shape, dtype=bool))
        for k in np.flatnonzero(cuts.any(axis=0)):
            cells = self._apply_kink(k, cuts, cells, N, C, base)
            self._limit(others + cells.group.size)
            self._reserve(others + cells.group.size, others + cells.group.size)
        return self._finish(li, states, active, cells)

    def _balls(self, y, r, n, c):
        """The balls that the hyperplanes ``n y + c = 0`` leave on each side of the cells'
        balls ``(y, r)`` (no LP): ``above`` (side of ``y``), and per side the centre, the radius
        and whether it certifies the side (radius > tol, centre ``tol`` inside the domain)."""
        tol = self.tol
        s = np.einsum("id,id->i", n, y) + c
        above = s > 0
        e = np.where(above, 1.0, -1.0)[:, None] * n          # from the plane into y's side
        dist = np.abs(s)
        far_y = y - e * ((r + dist) / 2)[:, None]
        far_r = (r - dist) / 2
        far_ok = (far_r > tol) & (self.domain.margin(far_y) >= tol)
        straddle = dist < r
        near_y = np.where(straddle[:, None], y + e * ((r - dist) / 2)[:, None], y)
        near_r = np.where(straddle, (r + dist) / 2, r)
        inside = self.domain.margin(near_y) >= tol
        near_y = np.where(inside[:, None], near_y, y)        # else y with the ball left of r
        near_r = np.where(inside, near_r, np.minimum(r, dist))
        return above, (far_y, far_r, far_ok), (near_y, near_r, near_r > tol)

    def _side_lps(self, rows: list, n, c, above, want: np.ndarray, far: bool):
        """LPs of the far (or near) side for items ``want``: (ok, centres, radii)."""
        idx = np.flatnonzero(want)
        ok = np.zeros(want.size, dtype=bool)
        Y = np.zeros((want.size, self.domain.d))
        R = np.zeros(want.size)
        if idx.size:
            blocks = [self._far_block(rows[j], n[j], c[j], above[j] if far else not above[j])
                      for j in idx]
            t, Ys = self.solver.solve(blocks)
            ok[idx], Y[idx], R[idx] = t > self.tol, Ys, np.minimum(t, 1.0)
        return ok, Y, R

    def _prescreen(self, candidate, N, C, base, Y, R) -> np.ndarray:
        """Which candidate kinks may cut each cell (False: the far side holds no ``tol``
        ball)."""
        b_idx, k_idx = np.nonzero(candidate)
        n, c = N[b_idx, k_idx], C[b_idx, k_idx]
        above, (_, _, far_ok), _ = self._balls(Y[b_idx], R[b_idx], n, c)
        rows = [base[b] for b in b_idx]
        lp_ok, _, _ = self._side_lps(rows, n, c, above, ~far_ok, far=True)
        cuts = candidate.copy()
        cuts[b_idx, k_idx] = far_ok | lp_ok
        return cuts

    def _far_block(self, rows, n, c, above: bool):
        """LP block of the side of hyperplane ``n y + c = 0`` opposite to ``above``."""
        A, beta = rows
        sign = 1.0 if above else -1.0              # far side: sign (n y + c) <= 0
        A = np.vstack([A, sign * n[None, :]])
        beta = np.r_[beta, -sign * c]
        return A, beta, np.ones(beta.size)

    def _cell_rows(self, cells: _Cells, i: int, N, C, base):
        """Rows of cell ``i``: its group's rows and the layer's kinks already active in it."""
        b = cells.group[i]
        A, beta = base[b]
        ks = np.flatnonzero(cells.act[i])
        if ks.size == 0:
            return A, beta
        sign = np.where(cells.bits[i, ks], -1.0, 1.0)
        return (np.vstack([A, sign[:, None] * N[b, ks]]), np.r_[beta, -sign * C[b, ks]])

    def _apply_kink(self, k, cuts, cells: _Cells, N, C, base) -> _Cells:
        """Cut every cell whose group kink ``k`` may cut: both sides kept (a split), one side
        (the cell moves its ball there if needed), or none (dropped: no ``tol`` ball left)."""
        todo = np.flatnonzero(cuts[cells.group, k])
        grp = cells.group[todo]
        n, c = N[grp, k], C[grp, k]
        above, (far_y, far_r, far_ok), (near_y, near_r, near_ok) = self._balls(
            cells.Y[todo], cells.R[todo], n, c)
        cells.bits[todo, k] = above
        need = ~far_ok | ~near_ok
        rows = [self._cell_rows(cells, i, N, C, base) if want else None
                for i, want in zip(todo, need)]
        lp_ok, lp_y, lp_r = self._side_lps(rows, n, c, above, ~far_ok, far=True)
        far_y[lp_ok], far_r[lp_ok], far_ok = lp_y[lp_ok], lp_r[lp_ok], far_ok | lp_ok
        lp_ok, lp_y, lp_r = self._side_lps(rows, n, c, above, ~near_ok, far=False)
        near_y[lp_ok], near_r[lp_ok], near_ok = lp_y[lp_ok], lp_r[lp_ok], near_ok | lp_ok
        split = far_ok & near_ok
        move = far_ok & ~near_ok
        cells.Y[todo[near_ok]], cells.R[todo[near_ok]] = near_y[near_ok], near_r[near_ok]
        cells.Y[todo[move]], cells.R[todo[move]] = far_y[move], far_r[move]
        cells.bits[todo[move], k] = ~above[move]
        cells.act[todo[split], k] = True
        new = cells.take(todo[split])
        new.Y, new.R = far_y[split], far_r[split]
        new.bits[:, k] = ~above[split]
        keep = np.ones(cells.group.size, dtype=bool)
        keep[todo[~far_ok & ~near_ok]] = False
        return cells.take(keep).extend(new)

    def _finish(self, li, states, active, cells: _Cells):
        lay = self.layers[li]
        order = np.argsort(cells.group, kind="stable")
        cells = cells.take(order)
        st = states[cells.group].copy()
        ac = active[cells.group].copy()
        n_units = lay.width
        per_unit = cells.bits.reshape(cells.bits.shape[0], n_units, lay.kinks.size)
        st[:, lay.first_unit:lay.first_unit + n_units] = per_unit.sum(axis=2)
        ac[:, lay.first_kink:lay.first_kink + lay.kink_unit.size] = cells.act
        return st, ac, cells.Y, cells.R

    # -- adjacency
    def _adjacency(self, states: np.ndarray, active: np.ndarray, Y: np.ndarray):
        pairs, kinks = _candidate_pairs(self.layers, states, active)
        if pairs.shape[0] == 0:
            return np.zeros((0, 2), dtype=np.int64), np.zeros((0, 2), dtype=np.int64)
        keep = np.zeros(pairs.shape[0], dtype=bool)
        per = 8 * (self.domain.d + 4) * (self.n_units + 2 * self.n_kinks)
        for chunk in self._chunks(pairs.shape[0], per):
            keep[chunk] = self._facets(states, active, Y, pairs[chunk], kinks[chunk])
        pairs, kinks = pairs[keep], kinks[keep]
        unit_layer, unit_index = _unit_table(self.layers)
        unit = np.array([self._unit_of(k) for k in kinks], dtype=np.int64).reshape(-1)
        return pairs, np.stack([unit_layer[unit], unit_index[unit]], axis=1)

    def _unit_of(self, kink: int) -> int:
        for lay in self.layers:
            if lay.first_kink <= kink < lay.first_kink + lay.kink_unit.size:
                return lay.first_unit + int(lay.kink_unit[kink - lay.first_kink])
        raise AssertionError(kink)  # pragma: no cover - kinks come from the layers

    def _facets(self, states, active, Y, pairs, kinks) -> np.ndarray:
        """Whether each pair's shared hyperplane holds a ``(d-1)``-ball of radius ``tol`` in
        both closures. Rows: the union of both regions' active kinks under the first region's
        maps (on the plane the maps downstream of the flipping unit agree), with norms taken
        within the plane. First without LP (a ball around the plane's point on the segment
        between the regions' points, or the projection of either point), then by LP."""
        S = states[pairs[:, 0]]
        maps = _compose(self.layers, S, len(self.layers) - 1)
        A, beta = _signed_planes(self.layers, maps, S, len(self.layers))
        on = active[pairs[:, 0]] | active[pairs[:, 1]]
        P = np.arange(pairs.shape[0])
        on[P, kinks] = False
        # the shared plane a y = gamma (unit normal), from the kink's own row
        a = A[P, kinks]
        gamma = beta[P, kinks]
        coef = np.sqrt(np.maximum(1.0 - np.einsum("pkd,pd->pk", A, a) ** 2, 0.0))
        y1, y2 = Y[pairs[:, 0]], Y[pairs[:, 1]]
        h1 = np.einsum("pd,pd->p", a, y1) - gamma
        h2 = np.einsum("pd,pd->p", a, y2) - gamma
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(h1 != h2, h1 / (h1 - h2), 0.0)
        pts = np.stack([y1 - h1[:, None] * a, y2 - h2[:, None] * a,
                        y1 + w[:, None] * (y2 - y1)], axis=1)             # (P, 3, d)
        slack = beta[:, None, :] - np.einsum("pjd,pkd->pjk", pts, A)
        fits = np.all((slack >= self.tol * coef[:, None, :]) | ~on[:, None, :], axis=2)
        ok = np.any(fits & (self.domain.margin(pts) >= self.tol), axis=1)
        todo = np.flatnonzero(~ok)
        if todo.size:
            blocks = [(A[i, on[i]], beta[i, on[i]], coef[i, on[i]], (a[i], gamma[i]))
                      for i in todo]
            t, _ = self.solver.solve(blocks)
            ok[todo] = t > self.tol
        return ok


def _unit_table(layers: list[_Layer]):
    lay_of = np.concatenate([np.full(lay.width, i) for i, lay in enumerate(layers)])
    idx = np.concatenate([np.arange(lay.width) for lay in layers])
    return lay_of.astype(np.int64), idx.astype(np.int64)


def _candidate_pairs(layers: list[_Layer], states: np.ndarray, active: np.ndarray):
    """Pairs of regions whose patterns differ in one unit by one state, that unit's kink being
    active in one of them: (pairs (P, 2) with the lower state first, global kink ids (P,))."""
    n, n_units = states.shape
    rng = np.random.default_rng(_HASH_SEED)
    weights = rng.integers(1, 2 ** 62, size=n_units, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = (states.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
        order = np.argsort(h)
        sorted_h = h[order]
        n_kinks_of = np.concatenate([np.full(lay.width, lay.kinks.size)
                                     for lay in layers])
        first_kink = np.concatenate([lay.first_kink + lay.kinks.size
                                     * np.arange(lay.width) for lay in layers])
        out_a, out_b, out_k = [], [], []
        for u in range(n_units):
            up = states[:, u] < n_kinks_of[u]                 # the state one step up exists
            src = np.flatnonzero(up)
            key = h[src] + weights[u]
            pos = np.searchsorted(sorted_h, key)
            pos = np.minimum(pos, n - 1)
            hit = sorted_h[pos] == key
            src, dst = src[hit], order[pos[hit]]
            kink = first_kink[u] + states[src, u].astype(np.int64)
            same = np.all(np.delete(states[src], u, axis=1) == np.delete(states[dst], u, axis=1),
                          axis=1) & (states[dst, u] == states[src, u] + 1)
            act = active[src, kink] | active[dst, kink]
            ok = same & act
            out_a.append(src[ok])
            out_b.append(dst[ok])
            out_k.append(kink[ok])
    pairs = np.stack([np.concatenate(out_a), np.concatenate(out_b)], axis=1).astype(np.int64)
    return pairs, np.concatenate(out_k).astype(np.int64)


def search(net: PLNet, domain: Domain, *, tol: float, max_regions: int, max_bytes: int,
           func: str) -> Found:
    """Every activation region of ``net`` holding a ball of radius ``tol`` (``y`` coordinates)
    inside ``domain``, with the adjacency of their facets; see the module docstring."""
    if not net.layers:
        none = np.zeros((0, 2), dtype=np.int64)
        return Found(np.zeros((1, 0), dtype=np.int8), np.zeros((1, domain.d)),
                     domain.margin(np.zeros((1, domain.d))), none, none.copy(), 0)
    return _Search(net, domain, tol, max_regions, max_bytes, func).run()


def pack_states(states: np.ndarray, net: PLNet) -> np.ndarray:
    """Unit states as the packed kink bits of :func:`reluthe.regions._result.unpack_states`
    (per layer: bit ``k`` of a unit is ``state > k``, unit-major, bytes per layer)."""
    return pack_by_layout(states, net.state_layout)


def region_linear(net: PLNet, states: np.ndarray, edges: np.ndarray, relative: float):
    """Linear regions of the regions found (:func:`reluthe.regions._linear.linear_counts` on
    their exact affine maps, equal within the rounding bound or ``relative`` times the largest
    entry)."""
    from reluthe.regions._linear import (
        affine_maps,
        linear_counts,
        map_tolerance,
        rounding_error,
        unit_bounds,
    )

    J, c = affine_maps(net, states)
    tol = map_tolerance(rounding_error(net, *unit_bounds(net, states)), J, c, relative)
    return linear_counts(J, c, edges, tol=tol)
