"""Interleaved timings as record rows, shared by C06 and C10.

A :class:`reluthe.probes.speed.TimingResult` becomes one row per (repeat, label, activation)
with the measured seconds and the timing-stream seed it used; :func:`timing_of` rebuilds the
result from those rows, so ``decide`` recomputes every median ratio and its order-statistic
interval from the record.

Examples
--------
>>> import numpy as np
>>> from reluthe.probes.speed import TimingResult
>>> t = TimingResult(["relu", "tanh"], ["step"], np.array([[[1.0, 2.0]]] * 6), "relu", "cpu",
...                  1, 81920)
>>> rows = timing_rows(t, timing="step")
>>> rows[1]["seed"], rows[1]["activation"], rows[1]["seconds"]
(81920, 'tanh', 2.0)
>>> timing_of(rows, "cpu", 1).ratio("step", "tanh").value
2.0
"""

from __future__ import annotations

import numpy as np

from reluthe.probes.speed import TimingResult

SLOWER = 1.1  # a time ratio counts as "slower" only if its CI lower bound exceeds this
STEP_WIDTHS = [40, 128, 128, 10]
REFERENCE = "relu"


def timing_rows(result: TimingResult, **cell) -> list[dict]:
    """One row per repeat, label and activation of ``result``, each with the fields ``cell``."""
    return [{"seed": result.seed, **cell, "repeat": r, "label": label, "activation": name,
             "seconds": float(result.seconds[r, i, j])}
            for r in range(result.seconds.shape[0])
            for i, label in enumerate(result.labels)
            for j, name in enumerate(result.names)]


def timing_of(rows: list[dict], device: str, threads: int) -> TimingResult:
    """The :class:`TimingResult` whose :func:`timing_rows` are ``rows`` (labels and names in
    record order)."""
    names = list(dict.fromkeys(row["activation"] for row in rows))
    labels = list(dict.fromkeys(row["label"] for row in rows))
    repeats = max(row["repeat"] for row in rows) + 1
    seconds = np.full((repeats, len(labels), len(names)), np.nan)
    for row in rows:
        seconds[row["repeat"], labels.index(row["label"]), names.index(row["activation"])] = \
            row["seconds"]
    return TimingResult(names, labels, seconds, REFERENCE, device, threads, rows[0]["seed"])
