"""Pictures and region tables: PlaneRegions.plot / decision_boundary / to_frame / to_dict /
to_geojson, LineRegions.plot / to_frame, BoxRegions.to_frame.

Every quantity is checked against an independent computation: the torch model in float64 at the
points the result names (interior points, polygon vertices mapped to the input space, boundary
segments). Tolerances come from float64 rounding: a forward pass of a network with fan-ins
``n_l`` errs by at most about ``(sum n_l) eps`` times the same pass with absolute weights and
inputs (Higham's bound for inner products); interpolating along an edge adds a few ``eps`` of
that magnitude.
"""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
import torch
from matplotlib import colormaps
from matplotlib.collections import LineCollection, PolyCollection

from reluthe import InvalidInputError, regions
from reluthe.models import mlp
from reluthe.nets import as_plnet

EPS = np.finfo(np.float64).eps


def _model(widths, seed=0):
    return mlp(widths, seed=seed).double()


def _torch_out(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor(np.asarray(x, dtype=np.float64))).numpy()


def _rounding_bound(model, x: np.ndarray) -> np.ndarray:
    """Per point: a bound on the float64 error of each output (see the module docstring)."""
    pl = as_plnet(model)
    h = np.abs(np.asarray(x, dtype=np.float64))
    fan = 0
    for layer in pl.layers:
        h = h @ np.abs(layer.weight).T + np.abs(layer.bias)
        fan += layer.weight.shape[1] + 1
    w, b = pl.output
    h = h @ np.abs(w).T + np.abs(b)
    fan += w.shape[1] + 1
    return 4 * (fan + 8) * EPS * h.max(axis=1)


def _plane(widths=(5, 16, 16, 3), seed=0, n_points=12):
    model = _model(list(widths), seed)
    x = torch.randn(n_points, widths[0], generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64).numpy()
    origin, u, v, extent = regions.plane_through(x[0], x[1], x[2])
    return model, x, regions.count_on_plane(model, origin, u, v, extent)


def _collection(ax, kind=PolyCollection):
    (coll,) = [c for c in ax.collections if isinstance(c, kind)]
    return coll


@pytest.fixture(scope="module")
def plane():
    return _plane()


def test_class_colours_are_the_argmax_of_the_model_at_interior_points(plane):
    model, _, res = plane
    expected = _torch_out(model, res.to_input(res.interior_points)).argmax(axis=1)
    assert len(set(expected.tolist())) >= 2                      # a picture with a boundary
    ax = res.plot("class")
    faces = _collection(ax).get_facecolor()
    tab10 = colormaps["tab10"]
    assert faces.shape[0] == res.count
    np.testing.assert_array_equal(faces, np.array([tab10(c) for c in expected]))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"class {c}" for c in np.unique(expected)]


def test_value_colours_match_the_quantity(plane):
    model, _, res = plane
    inputs = res.to_input(res.interior_points)
    out = _torch_out(model, inputs)
    bound = _rounding_bound(model, inputs)
    for k in range(out.shape[1]):
        values = _collection(res.plot("output", output=k)).get_array()
        assert np.all(np.abs(values - out[:, k]) <= bound)
    pl = as_plnet(model)
    active = np.count_nonzero(pl.states(inputs), axis=1)
    np.testing.assert_array_equal(_collection(res.plot("active")).get_array(), active)
    np.testing.assert_array_equal(_collection(res.plot("area")).get_array(), res.areas)
    ax = res.plot(lambda r: np.arange(r.count) % 3)
    np.testing.assert_array_equal(_collection(ax).get_array(), np.arange(res.count) % 3)
    assert len(ax.figure.axes) == 2                              # the colour bar


def _tie_gap(out: np.ndarray) -> np.ndarray:
    top = np.sort(out, axis=1)
    return top[:, -1] - top[:, -2]


def test_boundary_segments_lie_where_the_top_two_outputs_tie(plane):
    model, _, res = plane
    segs, classes = res.decision_boundary()
    assert segs.shape[0] >= 1 and segs.shape[1:] == (2, 2) and classes.shape == (len(segs), 2)
    w = np.linspace(0.0, 1.0, 5)[None, :, None]
    ab = (segs[:, :1] * (1 - w) + segs[:, 1:] * w).reshape(-1, 2)   # ends and inner points
    inputs = res.to_input(ab)
    out = _torch_out(model, inputs)
    assert np.all(_tie_gap(out) <= _rounding_bound(model, inputs))
    pair = np.sort(np.argsort(out, axis=1)[:, -2:], axis=1)       # the two tied classes
    margin = np.sort(out, axis=1)[:, -2] - np.sort(out, axis=1)[:, -3]
    clear = margin > 1e3 * _rounding_bound(model, inputs)        # third class well below
    np.testing.assert_array_equal(pair[clear], np.repeat(classes, 5, axis=0)[clear])
    a0, a1, b0, b1 = res.extent
    assert np.all((ab[:, 0] >= a0) & (ab[:, 0] <= a1) & (ab[:, 1] >= b0) & (ab[:, 1] <= b1))


def _crosses(p, q, segs) -> np.ndarray:
    """Whether the segment p-q crosses each of ``segs`` (proper or touching)."""
    def orient(a, b, c):
        return ((b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1])
                - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0]))
    s0, s1 = segs[:, 0], segs[:, 1]
    slack = 1e-12
    d1, d2 = orient(s0, s1, p), orient(s0, s1, q)
    d3, d4 = orient(p, q, s0), orient(p, q, s1)
    return (d1 * d2 <= slack) & (d3 * d4 <= slack)


def test_boundary_is_complete_every_class_change_crosses_it(plane):
    """Random chords of the extent whose ends are predicted differently cross a segment."""
    model, _, res = plane
    segs, _ = res.decision_boundary()
    rng = np.random.default_rng(1)
    a0, a1, b0, b1 = res.extent
    ends = rng.uniform([a0, b0], [a1, b1], size=(400, 2, 2))
    out = _torch_out(model, res.to_input(ends.reshape(-1, 2))).reshape(400, 2, -1)
    changes = 0
    for (p, q), (op, oq) in zip(ends, out):
        if op.argmax() != oq.argmax() and min(_tie_gap(np.stack([op, oq]))) > 1e-9:
            changes += 1
            assert _crosses(p, q, segs).any()
    assert changes >= 20


def test_boundary_of_a_class_winning_only_inside_a_region():
    """One affine region on [0, 1]^2, scores -a, a - 1, -0.4: the third class wins for a in
    (0.4, 0.6) without winning at any vertex; the boundary is a = 0.4 and a = 0.6, and the tie
    of the first two at a = 0.5 is not on it (the third class is above)."""
    net = [(np.eye(2), np.array([5.0, 5.0])),
           (np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]), np.array([5.0, -6.0, -0.4]))]
    res = regions.count_on_plane(net, [0, 0], [1, 0], [0, 1], (0, 1, 0, 1))
    assert res.count == 1
    segs, classes = res.decision_boundary()
    order = np.argsort(segs[:, 0, 0])
    np.testing.assert_allclose(segs[order, :, 0], [[0.4, 0.4], [0.6, 0.6]], atol=8 * EPS)
    np.testing.assert_allclose(np.sort(segs[order, :, 1], axis=1), [[0, 1], [0, 1]],
                               atol=8 * EPS)
    assert classes[order].tolist() == [[0, 2], [1, 2]]


def test_one_output_is_a_sign_classifier():
    model = _model([2, 8, 8, 1], seed=3)
    res = regions.count_on_plane(model, [0, 0], [1, 0], [0, 1], (-2, 2, -2, 2))
    out = _torch_out(model, res.to_input(res.interior_points))[:, 0]
    assert 0 < (out > 0).sum() < res.count
    frame = res.to_frame()
    np.testing.assert_array_equal(frame["predicted_class"], (out > 0).astype(int))
    segs, classes = res.decision_boundary()
    assert len(segs) and np.all(classes == [0, 1])
    pts = res.to_input(segs.reshape(-1, 2))
    assert np.all(np.abs(_torch_out(model, pts)[:, 0]) <= _rounding_bound(model, pts))


def test_frame_has_one_row_per_region_and_the_areas_sum_to_the_extent(plane):
    model, _, res = plane
    frame = res.to_frame()
    a0, a1, b0, b1 = res.extent
    assert len(frame) == res.count and frame["region"].tolist() == list(range(res.count))
    assert abs(frame["area"].sum() - (a1 - a0) * (b1 - b0)) <= 1e-12 * (a1 - a0) * (b1 - b0)
    assert frame["n_vertices"].tolist() == [len(p) for p in res.polygons]
    np.testing.assert_array_equal(frame[["a", "b"]].to_numpy(), res.interior_points)
    widths = res.widths
    for row, pat in zip(frame["pattern"], res.patterns):
        layers = row.split("|")
        assert [len(s) for s in layers] == list(widths)
        assert [int(c) for c in "".join(layers)] == pat.tolist()
    assert frame["active"].tolist() == np.count_nonzero(res.patterns, axis=1).tolist()
    inputs = res.to_input(res.interior_points)
    out = _torch_out(model, inputs)
    np.testing.assert_array_equal(frame["predicted_class"], out.argmax(axis=1))
    got = frame[[f"output_{k}" for k in range(out.shape[1])]].to_numpy()
    assert np.all(np.abs(got - out) <= _rounding_bound(model, inputs)[:, None])


def test_line_and_box_frames():
    model = _model([3, 8, 8, 2], seed=1)
    line = regions.count_on_line(model, [-1, -1, -1], [1, 1, 1])
    frame = line.to_frame()
    assert len(frame) == line.count and abs(frame["length"].sum() - 1.0) <= 1e-12
    np.testing.assert_array_equal(frame[["t_start", "t_end"]].to_numpy(), line.intervals)
    assert np.all((frame["t"] > frame["t_start"]) & (frame["t"] < frame["t_end"]))
    np.testing.assert_array_equal(frame["predicted_class"],
                                  _torch_out(model, line.interior_points).argmax(axis=1))
    box = regions.count_in_box(model, [-1, -1, -1], [1, 1, 1])
    frame = box.to_frame()
    assert len(frame) == box.count and abs(frame["volume"].sum() - 8.0) <= 1e-12 * 8
    np.testing.assert_array_equal(frame[["x0", "x1", "x2"]].to_numpy(), box.interior_points)
    assert frame["pattern"].str.len().eq(8 + 1 + 8).all()


def test_polygons_in_input_coordinates_map_back(plane):
    model, _, res = plane
    out = json.loads(json.dumps(res.to_dict(polygons=True)))
    assert "polygons" not in res.to_dict() and len(out["polygons"]) == res.count
    inputs = np.concatenate([np.array(p) for p in out["polygons"]])
    ab = np.concatenate(res.polygons)
    plane_net = as_plnet(model).restrict(res.origin, np.stack([res.u, res.v], axis=1))
    on_plane = plane_net.forward(ab)                     # the value at the plane point (a, b)
    assert np.all(np.abs(_torch_out(model, inputs) - on_plane)
                  <= 2 * _rounding_bound(model, inputs)[:, None])
    basis = np.stack([res.u, res.v], axis=1)
    scale = np.abs(res.origin) + np.abs(ab) @ np.abs(basis).T
    assert np.all(np.abs(inputs - (res.origin + ab @ basis.T)) <= 4 * EPS * scale)


def test_geojson_parses_and_has_one_feature_per_region(plane, tmp_path):
    _, _, res = plane
    path = tmp_path / "sub" / "regions.geojson"
    gj = res.to_geojson(path)
    read = json.loads(path.read_text())
    assert read == json.loads(json.dumps(gj))
    assert read["type"] == "FeatureCollection" and len(read["features"]) == res.count
    columns = list(res.to_frame().columns)
    for feat, poly in zip(read["features"], res.polygons):
        ring = np.array(feat["geometry"]["coordinates"][0])
        assert feat["geometry"]["type"] == "Polygon" and list(feat["properties"]) == columns
        np.testing.assert_array_equal(ring[:-1], poly)
        np.testing.assert_array_equal(ring[0], ring[-1])
        assert feat["properties"]["area"] == pytest.approx(float(res.areas[feat["id"]]))
    assert read["plane"]["u"] == res.u.tolist()
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]     # no temporary left behind
    with pytest.raises(InvalidInputError, match="'path'"):
        res.to_geojson(path=3)


def test_points_are_projected_orthogonally_onto_the_plane(plane):
    _, x, res = plane
    ab = np.array([[0.3, -0.2], [1.0, 0.5]])
    normal = np.linalg.svd(np.stack([res.u, res.v]))[2][2]       # orthogonal to u and v
    pts = res.to_input(ab) + 2.5 * normal
    ax = res.plot(points=pts)
    np.testing.assert_allclose(ax.collections[-1].get_offsets(), ab, atol=1e-12)
    ax = res.plot("class", points=x, labels=[0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"points, label 0", "points, label 1", "points, label 2"} <= set(texts)


def test_figures_render_without_warnings_and_without_pyplot(plane):
    import matplotlib.pyplot as plt

    model, x, res = plane
    figs = plt.get_fignums()
    line = regions.count_on_line(model, x[0], x[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        axes = [res.plot(), res.plot("class", boundary=True, points=x, labels=[0] * len(x)),
                res.plot("area", edges=False), res.plot("active", cmap="magma"),
                line.plot(), line.plot("active", x="distance", breakpoints=False)]
        for ax in axes:
            buf = io.BytesIO()
            ax.figure.savefig(buf, format="png", dpi=40)
            assert buf.getvalue()[:4] == b"\x89PNG"
    assert plt.get_fignums() == figs
    assert len(_collection(axes[1], LineCollection).get_segments()) == len(
        res.decision_boundary()[0])
    assert axes[1].get_xlabel().startswith("a ") and axes[1].get_ylabel().startswith("b ")


def test_line_plot_draws_the_exact_output_and_the_active_units():
    model = _model([3, 8, 8, 2], seed=2)
    line = regions.count_on_line(model, [-1, 0, 1], [1, 1, -1])
    knots = np.concatenate([[0.0], line.breakpoints, [1.0]])
    inputs = line.start + knots[:, None] * (line.end - line.start)
    ax = line.plot(output=1)
    xs, ys = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    np.testing.assert_array_equal(xs, knots)
    assert np.all(np.abs(ys - _torch_out(model, inputs)[:, 1]) <= _rounding_bound(model, inputs))
    assert len([ln for ln in ax.lines if ln.get_xdata()[0] == ln.get_xdata()[1]]) == len(
        line.breakpoints)                                         # one grey line each
    ax = line.plot("active", x="distance")
    (steps,) = ax.patches
    mids = (knots[:-1] + knots[1:]) / 2
    active = np.count_nonzero(as_plnet(model).states(line.start + mids[:, None]
                                                     * (line.end - line.start)), axis=1)
    np.testing.assert_array_equal(steps.get_data().values, active)
    np.testing.assert_allclose(steps.get_data().edges,
                               knots * np.linalg.norm(line.end - line.start))


def test_result_keeps_its_own_copy_of_the_network():
    model = _model([2, 6, 2], seed=4)
    res = regions.count_on_plane(model, [0, 0], [1, 0], [0, 1])
    before = res.to_frame()["output_0"].to_numpy()
    with torch.no_grad():
        model[0].weight.mul_(3.0)
    np.testing.assert_array_equal(res.to_frame()["output_0"].to_numpy(), before)


@pytest.mark.parametrize("call, match", [
    (lambda r: r.plot("colour"), r"\['class', 'output', 'active', 'area'\]"),
    (lambda r: r.plot(3), r"'color'.*callable"),
    (lambda r: r.plot(lambda res: [1.0, 2.0]), r"one number per region"),
    (lambda r: r.plot("output", output=3), r"'output'.*\[0, 2\]"),
    (lambda r: r.plot("output", output=-1), r"'output'"),
    (lambda r: r.plot(points=np.zeros((2, 4))), r"'points'.*\(n, 5\)"),
    (lambda r: r.plot(points=np.zeros((2, 5)), labels=[0]), r"'labels'.*one label per point"),
    (lambda r: r.plot(points=np.zeros((2, 5)), labels="ab"), r"'labels'"),
    (lambda r: r.plot(points=np.zeros((2, 5)), labels=[[0], [1, 2]]), r"'labels'"),
    (lambda r: r.plot(labels=[0, 1]), r"'labels'.*no points given"),
    (lambda r: r.plot(seed=-1), r"'seed'"),
    (lambda r: r.plot(cmap="no-such-map"), r"'cmap'.*colormap"),
    (lambda r: r.plot(boundary=1), r"'boundary'.*True or False"),
    (lambda r: r.plot(edges="yes"), r"'edges'"),
    (lambda r: r.to_dict(polygons=1), r"'polygons'"),
])
def test_bad_input_is_named(plane, call, match):
    _, _, res = plane
    with pytest.raises(InvalidInputError, match=match):
        call(res)


def test_bad_line_plot_input_is_named():
    line = regions.count_on_line(_model([2, 4, 2]), [0, 0], [1, 1])
    with pytest.raises(InvalidInputError, match=r"'y'.*\['output', 'active'\]"):
        line.plot("class")
    with pytest.raises(InvalidInputError, match=r"'x'.*\['distance', 't'\]"):
        line.plot(x="s")
    with pytest.raises(InvalidInputError, match=r"'output'"):
        line.plot(output=2)
