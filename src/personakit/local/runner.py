"""The engine's background machinery: its threads and its cache of loaded models.

:class:`Runner` is one scheduler thread running timed callbacks (the status walks)
and a pool of worker threads running heavy jobs (imports, training, batch jobs);
:class:`ModelCache` keeps the few models served most recently in memory.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from personakit.local.algorithms.base import Model

__all__ = ["ModelCache", "Runner"]

logger = logging.getLogger(__name__)


class Runner:
    """A scheduler thread (timed callbacks) and a pool of worker threads (heavy jobs)."""

    def __init__(self, workers: int) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._stopping = threading.Event()
        self._n_workers = max(1, workers)
        self._workers: list[threading.Thread] = []
        self._workers_lock = threading.Lock()
        self._scheduler = threading.Thread(
            target=self._loop, name="personakit-local-scheduler", daemon=True
        )
        self._scheduler.start()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        if self._stopping.is_set():
            return
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), fn))
            self._cond.notify()

    def submit(self, fn: Callable[[], None]) -> None:
        if self._stopping.is_set():
            return
        with self._workers_lock:
            if len(self._workers) < self._n_workers:
                worker = threading.Thread(
                    target=self._work,
                    name=f"personakit-local-worker-{len(self._workers)}",
                    daemon=True,
                )
                self._workers.append(worker)
                worker.start()
        self._jobs.put(fn)

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the runner stops first; True if it is stopping."""
        if seconds <= 0:
            return self._stopping.is_set()
        return self._stopping.wait(seconds)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping.is_set():
                    if self._heap:
                        wait = self._heap[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._stopping.is_set():
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:  # pragma: no cover - a bug; keep the scheduler alive
                logger.exception("personakit local engine: scheduled step failed")

    def _work(self) -> None:
        while True:
            fn = self._jobs.get()
            if fn is None:
                return
            try:
                fn()
            except Exception:  # pragma: no cover - jobs report their own failures
                logger.exception("personakit local engine: background job failed")

    def stop(self, timeout: float) -> bool:
        """Stop the threads; True if every one ended within ``timeout``."""
        self._stopping.set()
        with self._cond:
            self._heap.clear()
            self._cond.notify_all()
        for _ in self._workers:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        ended = True
        for thread in [self._scheduler, *self._workers]:
            if thread is threading.current_thread():
                continue
            thread.join(max(0.0, deadline - time.monotonic()))
            ended = ended and not thread.is_alive()
        return ended


class ModelCache:
    """Loaded models, by folder (a few at a time; models never change once saved)."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._cache: OrderedDict[str, Model] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, folder: Path) -> Model:
        key = str(folder)
        with self._lock:
            model = self._cache.get(key)
            if model is not None:
                self._cache.move_to_end(key)
                return model
        from personakit.local.algorithms import load  # numpy/scipy: loaded with the first model

        model = load(folder)
        with self._lock:
            self._cache[key] = model
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return model
