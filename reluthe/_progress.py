"""Progress of a ``check_claims`` run on stderr: the running claim, its cells done / total.

A *cell* is one unit that a claim's ``measure`` hands to ``Context.map`` (one seed, one
activation, one depth, ...); the one place that maps cells counts them, so every claim that uses
``ctx.map`` gets cell progress without code of its own. On a terminal :class:`RunProgress` shows
tqdm bars (claims, and the running claim's cells); otherwise (a log file, CI) it prints a plain
heartbeat line every ``every_s`` seconds while a claim runs, e.g.::

    check_claims: C09 (3/24 claims) running for 95 s: 12/40 cells done

A claim that maps nothing gets heartbeats without the cell count. :data:`SILENT`, the default of
``Context.progress``, counts nothing and prints nothing.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> with RunProgress(2, terminal=False, every_s=0, stream=out) as progress:
...     progress.start("C01")
...     progress.add_cells(4)
...     progress.cell_done()
...     progress.status()
'C01 (1/2 claims) running for 0 s: 1/4 cells done'
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["Silent", "SILENT", "RunProgress", "HEARTBEAT_S"]

HEARTBEAT_S = 30.0  # seconds between heartbeat lines when stderr is not a terminal


class Silent:
    """Progress that counts nothing and shows nothing (``Context``'s default)."""

    def start(self, label: str) -> None:
        """A claim (or one replicate of it) starts; ``label`` names it."""

    def finish(self) -> None:
        """The claim started last is done."""

    def add_cells(self, n: int) -> None:
        """``n`` more cells of the running claim are handed out."""

    def cell_done(self) -> None:
        """One cell's result is back."""

    def write(self, line: str, file: TextIO | None = None) -> None:
        """Print ``line`` to ``file`` (default standard output)."""
        print(line, file=file or sys.stdout, flush=True)


SILENT = Silent()


class RunProgress(Silent):
    """Progress over ``n_claims`` runs of claims, shown on ``stream`` (default ``sys.stderr``).

    Parameters
    ----------
    n_claims : int
        How many times :meth:`start` will be called (claims × replicates).
    terminal : bool
        tqdm bars (``True``) or heartbeat lines (``False``).
    every_s : float
        Seconds between heartbeat lines; 0 prints none. Ignored on a terminal.
    stream : file, optional
        Where bars and heartbeats go (default ``sys.stderr``, looked up on entry).
    unit : str
        The unit of the claims bar ("claim", or "run" when claims are replicated).

    Use it as a context manager: entering starts the bars or the heartbeat thread, leaving stops
    them. Counters are guarded by a lock, so the heartbeat thread reads a consistent state.
    """

    def __init__(self, n_claims: int, *, terminal: bool, every_s: float = HEARTBEAT_S,
                 stream: TextIO | None = None, unit: str = "claim"):
        self.n_claims, self.terminal, self.every_s = n_claims, terminal, every_s
        self._stream, self._unit = stream, unit
        self._lock = threading.Lock()
        self._label: str | None = None
        self._started = 0.0
        self._index = self._done = self._total = 0
        self._claims_bar = self._cells_bar = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunProgress:
        self._stream = self._stream or sys.stderr
        if self.terminal:
            from tqdm import tqdm

            self._claims_bar = tqdm(total=self.n_claims, file=self._stream, unit=self._unit,
                                    leave=False)
        elif self.every_s > 0:
            self._thread = threading.Thread(target=self._beat, name="reluthe-heartbeat",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._close_cells_bar()
        if self._claims_bar is not None:
            self._claims_bar.close()

    def start(self, label: str) -> None:
        with self._lock:
            self._label, self._started = label, time.monotonic()
            self._index += 1
            self._done = self._total = 0
        if self._claims_bar is not None:
            self._claims_bar.set_description(label)

    def finish(self) -> None:
        with self._lock:
            self._label = None
        self._close_cells_bar()
        if self._claims_bar is not None:
            self._claims_bar.update()

    def add_cells(self, n: int) -> None:
        with self._lock:
            self._total += n
        if not self.terminal:
            return
        if self._cells_bar is None:
            from tqdm import tqdm

            self._cells_bar = tqdm(total=self._total, file=self._stream, unit="cell",
                                   leave=False, position=1, desc="cells")
        else:
            self._cells_bar.total = self._total
            self._cells_bar.refresh()

    def cell_done(self) -> None:
        with self._lock:
            self._done += 1
        if self._cells_bar is not None:
            self._cells_bar.update()

    def write(self, line: str, file: TextIO | None = None) -> None:
        """Print ``line`` to ``file`` (default standard output) without breaking the bars."""
        if self.terminal:
            from tqdm import tqdm

            tqdm.write(line, file=file or sys.stdout)
        else:
            super().write(line, file)

    def status(self) -> str | None:
        """The running claim, its time and its cells done / total; ``None`` between claims."""
        with self._lock:
            if self._label is None:
                return None
            text = (f"{self._label} ({self._index}/{self.n_claims} {self._unit}s) running for "
                    f"{time.monotonic() - self._started:.0f} s")
            if self._total:
                text += f": {self._done}/{self._total} cells done"
            return text

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            line = self.status()
            if line is not None:
                print(f"check_claims: {line}", file=self._stream, flush=True)

    def _close_cells_bar(self) -> None:
        if self._cells_bar is not None:
            self._cells_bar.close()
            self._cells_bar = None
