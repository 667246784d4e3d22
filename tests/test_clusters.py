"""``--backend dask`` and ``--backend ray`` on local clusters give the evidence of ``--jobs 1``.

The claim is C15, the cheapest real claim whose cells go through ``ctx.map`` (6 cells, a few
seconds with ``--quick``). Its cells compute float64 gradient norms; a worker may use another
torch thread count than the main process, so floats are compared to a relative ``RTOL`` (far
above the rounding of reordered float64 sums, far below any difference a rule could read) and
everything else (verdict, counts, seeds, labels) exactly.
"""

from __future__ import annotations

import json
import math

import pytest

from reluthe._backends import backend_session, parallel_map
from reluthe._progress import SILENT
from reluthe.check_claims import main

CLAIM = "C15"
RTOL = 1e-9  # float64 eps is 2.2e-16; reordered sums of ~1e4 terms stay below 1e-11


def _claim_record(tmp_path, name: str, *args: str) -> dict:
    out = tmp_path / name
    code = main(["--quick", "--only", CLAIM, "--no-cache", "--out", str(out),
                 "--cache-dir", str(out / "cache"), *args])
    assert code == 0
    return json.loads((out / "report.json").read_text())["claims"][0]


def assert_same(a, b, where: str = "") -> None:
    """``a == b``, floats to ``RTOL``; names the first path that differs."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), where
        assert math.isclose(a, b, rel_tol=RTOL, abs_tol=0.0), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _compare(serial: dict, parallel: dict) -> None:
    assert serial["verdict"] == parallel["verdict"]
    for field in ("evidence", "design", "raw"):
        assert_same(serial[field], parallel[field], field)


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> dict:
    return _claim_record(tmp_path_factory.mktemp("serial"), "serial")


def test_comparison_sees_a_difference_beyond_rounding():
    assert_same({"x": [1.0, 2]}, {"x": [1.0 + 1e-12, 2]})
    with pytest.raises(AssertionError, match=r"\['x'\]\[0\]"):
        assert_same({"x": [1.0, 2]}, {"x": [1.0 + 1e-6, 2]})


def test_dask_local_cluster_gives_the_evidence_of_jobs_1(serial, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        got = _claim_record(tmp_path, "dask", "--backend", "dask", "--jobs", "2",
                            "--scheduler", cluster.scheduler_address)
        ran = {name: sum(p.states.values()) for name, p in cluster.scheduler.task_prefixes.items()}
    assert any("flow_unit" in name for name in ran), f"no cell ran on the cluster: {ran}"
    assert len(serial["raw"]) > 0
    _compare(serial, got)


def test_dask_without_a_scheduler_starts_and_stops_a_local_cluster(monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with backend_session("dask", 2) as where:
        assert "local Dask cluster of 2 worker processes" in where
        client = distributed.default_client()
        assert len(client.scheduler_info()["workers"]) == 2
        assert parallel_map(abs, [-3, 1, -2], jobs=2, backend="dask", progress=SILENT) == [3, 1, 2]
    with pytest.raises(ValueError):
        distributed.default_client()  # closed again


def test_unreachable_dask_scheduler_is_a_usage_error(tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr("reluthe._backends.CONNECT_TIMEOUT_S", 1)
    code = main(["--quick", "--only", CLAIM, "--out", str(tmp_path / "o"), "--backend", "dask",
                 "--jobs", "2", "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 1 s" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_ray_gives_the_evidence_of_jobs_1(serial, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        got = _claim_record(tmp_path, "ray", "--backend", "ray", "--jobs", "2")
        assert ray.is_initialized()
    finally:
        ray.shutdown()
    _compare(serial, got)
