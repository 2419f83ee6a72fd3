"""Batches prepared ahead of the model: a background thread and a bounded queue.

On a GPU fed from host memory, each step's batch is gathered from the compact training
buffer and copied to pinned memory while the device is still busy with the previous steps;
without it the device waits for that CPU work at every step.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["prefetch"]

T = TypeVar("T")
_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate over ``items`` while a background thread produces up to ``depth`` ahead.

    The order is kept; an exception raised while producing an item is raised here, at that
    item; closing the iterator early (``break``) stops the thread.

    Parameters
    ----------
    items : iterable
        Produced in the background thread (it should release the GIL for the heavy work,
        as numpy and torch operations do).
    depth : int
        Items ready ahead at most (0: no thread, plain iteration).

    Examples
    --------
    >>> list(prefetch(x * x for x in range(5)))
    [0, 1, 4, 9, 16]
    """
    if depth < 1:
        yield from items
        return
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(_DONE)
        except BaseException as err:  # handed to the consumer, raised there
            ready.put(_Failed(err))

    thread = threading.Thread(target=produce, name="seqcnn-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                ready.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=0.05)
