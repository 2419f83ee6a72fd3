"""prefetch: the same items in the same order, errors where they happen, no thread left."""

import threading
import time

import pytest

from seqcnn.loader import prefetch


def test_prefetch_keeps_order_and_runs_ahead():
    made = []

    def items():
        for i in range(50):
            made.append(i)
            yield i

    it = prefetch(items(), depth=3)
    assert next(it) == 0
    time.sleep(0.2)
    assert 3 <= len(made) <= 5  # produced ahead, but no more than the queue holds
    assert [0, *it] == list(range(50))
    assert list(prefetch(range(4), depth=0)) == [0, 1, 2, 3]


def test_prefetch_raises_the_producers_error_at_its_item():
    def items():
        yield 1
        yield 2
        raise ValueError("bad record 3")

    it = prefetch(items())
    assert next(it) == 1 and next(it) == 2
    with pytest.raises(ValueError, match="bad record 3"):
        next(it)


def test_prefetch_stops_its_thread_when_closed_early():
    def endless():
        i = 0
        while True:
            yield i
            i += 1

    before = threading.active_count()
    for i in prefetch(endless(), depth=2):
        if i == 5:
            break
    deadline = time.time() + 2
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before
