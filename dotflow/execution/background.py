"""Background mode: the sequential run on a worker thread; ``Manager.wait()`` joins it."""

from __future__ import annotations

import threading
from typing import Callable


def start_background(run: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    """Start ``run`` on a worker thread, in a copy of the caller's ``contextvars``; an
    exception it raises is kept in ``errors``."""
    import contextvars

    context = contextvars.copy_context()

    def target() -> None:
        try:
            context.run(run)
        except BaseException as exc:  # re-raised by Manager.wait() on the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="dotflow-background", daemon=True)
    thread.start()
    return thread
