"""Who else needs the two cores right now. A learner's search or quiz start marks itself as foreground work; the
local model writes on one thread while any is running and on all of them otherwise. llama.cpp's worker threads
spin between steps, so a model on both cores starved every search beside it (the load bench, 20 learners at once:
evidence shown 1.9 s in session 14, 6.2 s once the model's grammar work had moved into those threads)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_running = 0


@contextmanager
def foreground() -> Iterator[None]:
    """Mark a learner-facing piece of work (a search, a quiz start) for as long as it runs."""
    global _running
    with _lock:
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1


def contended() -> bool:
    """Is some foreground work running now?"""
    return _running > 0
