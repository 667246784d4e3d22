"""joblib backends for ``Context.map``: one machine, a Ray cluster or a Dask cluster.

:func:`prepare_backend` checks that a backend can be used (before anything is measured),
:func:`backend_session` holds the cluster connection of a run open (Dask: a client of the given
scheduler, or of a :class:`dask.distributed.LocalCluster` it starts and stops) and
:func:`parallel_map` is what ``Context.map`` runs: the cells of a claim, in item order, counted
on the run's progress as their results come back.

Examples
--------
>>> from reluthe._progress import SILENT
>>> parallel_map(abs, [-2, 3, -1], jobs=2, backend="threading", progress=SILENT)
[2, 3, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CLUSTER_BACKENDS", "prepare_backend", "backend_session", "parallel_map"]

CLUSTER_BACKENDS = ("dask", "ray")
_INSTALL = {"ray": "pip install 'reluthe[ray]' (or pip install ray)",
            "dask": "pip install 'reluthe[dask]' (or pip install 'dask[distributed]')"}
CONNECT_TIMEOUT_S = 10  # how long to wait for a Dask scheduler given by address


def prepare_backend(name: str) -> None:
    """Make the joblib backend ``name`` usable; raise ``ValueError`` with the reason if it is not.

    ``loky``, ``threading``, ``multiprocessing`` and ``sequential`` ship with joblib; any backend
    registered with :func:`joblib.register_parallel_backend` before the run is accepted. ``ray``
    is registered here when Ray is installed (it connects to ``$RAY_ADDRESS``, to a Ray already
    initialised in this process, or starts a local Ray); ``dask`` needs ``dask.distributed``
    (joblib registers its backend when a map selects it).

    Examples
    --------
    >>> prepare_backend("threading")
    >>> prepare_backend("nope")
    Traceback (most recent call last):
    ...
    ValueError: unknown joblib backend 'nope'; use one of [...] or register it with ...
    """
    from joblib.parallel import BACKENDS

    if name in BACKENDS:
        return
    if name == "ray":
        try:
            from ray.util.joblib import register_ray
        except ImportError:
            raise ValueError(f"backend 'ray' needs Ray: {_INSTALL['ray']}") from None
        register_ray()
        return
    if name == "dask":
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise ValueError(f"backend 'dask' needs Dask: {_INSTALL['dask']}") from None
        return
    known = sorted({*BACKENDS, *CLUSTER_BACKENDS})
    raise ValueError(f"unknown joblib backend {name!r}; use one of {known} or register it with "
                     "joblib.register_parallel_backend before calling main()")


@contextmanager
def backend_session(name: str, jobs: int, scheduler: str | None = None) -> Iterator[str | None]:
    """Hold what backend ``name`` needs during a run open; yield a description of it, or ``None``.

    Only ``dask`` needs a session: with ``scheduler`` (an address such as ``tcp://host:8786``) or
    ``$DASK_SCHEDULER_ADDRESS`` it connects a client to that scheduler; otherwise it uses the
    client already open in this process (research code calling ``main()``), and failing that
    starts a :class:`dask.distributed.LocalCluster` of ``jobs`` worker processes with one thread
    each. What it opened it closes on exit. An unreachable scheduler raises ``ValueError``.

    Examples
    --------
    >>> with backend_session("loky", jobs=2) as where:
    ...     where is None
    True
    """
    if name != "dask":
        yield None
        return
    import dask
    from dask.distributed import Client, LocalCluster, default_client

    address = scheduler or dask.config.get("scheduler-address", None)
    if address is None:
        try:
            default_client()
        except ValueError:
            pass
        else:
            yield "the Dask client already open in this process"
            return
    if address is not None:
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot reach the Dask scheduler at {address} within "
                             f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__}: {exc}); start it "
                             "(dask scheduler) or give its address with --scheduler") from None
        with client:
            yield f"the Dask scheduler at {address}"
        return
    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        yield f"a local Dask cluster of {jobs} worker processes at {cluster.scheduler_address}"


def parallel_map(func: Callable[[Any], Any], items: Iterable[Any], *, jobs: int, backend: str,
                 progress) -> list:
    """``[func(item) for item in items]``, on ``jobs`` workers of ``backend`` when ``jobs > 1``.

    Results keep item order whatever the backend. Each item is a cell of ``progress``
    (:mod:`reluthe._progress`): counted when handed out and when its result is back; a backend
    that cannot return results one by one (Ray's, joblib's ``multiprocessing``) reports them all
    at the end. With ``jobs == 1``, or a single item, the items run in this process.
    """
    items = list(items)
    progress.add_cells(len(items))
    if jobs == 1 or len(items) < 2:
        out = []
        for item in items:
            out.append(func(item))
            progress.cell_done()
        return out
    from joblib import Parallel, delayed, parallel_config
    from joblib.parallel import get_active_backend

    with parallel_config(backend=backend, n_jobs=jobs):
        one_by_one = get_active_backend()[0].supports_return_generator
        calls = (delayed(func)(item) for item in items)
        if not one_by_one:
            out = Parallel()(calls)
            for _ in out:
                progress.cell_done()
            return out
        out = []
        for result in Parallel(return_as="generator")(calls):
            out.append(result)
            progress.cell_done()
        return out
