"""The ASGI application: the API under ``/api/v1``, the page (``/``, ``/workflows/{id}``, their live
fragments under ``/ui`` and ``/static``), and the sweeper that applies the Crashed rule (and
``--keep-days``) in the background while the application lives."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dotflow.backend.api import Api
from dotflow.backend.store import Store
from dotflow.backend.web import STATIC, Page, Sessions, security_headers

logger = logging.getLogger("dotflow.backend")

SWEEP_EVERY = 0.5  # seconds between two looks for runs whose lease ran out
PRUNE_EVERY = 3600.0  # seconds between two prunes of old runs (--keep-days)


@dataclass(frozen=True)
class AppOptions:
    """What the application needs besides its store."""

    public_url: str | None = None  # what runners are told (SERVER_BASE_URL is this + /api/v1)
    keep_days: float | None = None  # finished runs older than this are deleted
    sweep_every: float = SWEEP_EVERY
    on_start: Callable[[], None] | None = None  # called once the server handles signals, before it serves
    on_stop: Callable[[], None] | None = None  # called once the application has shut down


def create_app(store: Store, options: AppOptions | None = None) -> Any:
    """The backend's application over ``store`` (already migrated, its operator token set)."""
    options = options or AppOptions()
    if store.operator_digest is None:
        raise ValueError("the store has no operator token yet (Store.use_operator_token)")
    page = Page(store, Sessions(store.session_secret(), store.operator_digest))

    def base_url(request: Request) -> str:
        root = options.public_url or str(request.base_url)
        return root.rstrip("/") + "/api/v1"

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep_forever(store, options), name="dotflow-backend-sweeper")
        if options.on_start is not None:
            options.on_start()
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            store.engine.dispose()
            if options.on_stop is not None:
                options.on_stop()

    routes = [
        Mount("/api/v1", app=Api(store, base_url=base_url)),
        Route("/", page.home, methods=["GET"]),
        Route("/login", page.login, methods=["POST"]),
        Route("/logout", page.logout, methods=["POST"]),
        Route("/ui/runs", page.runs_fragment, methods=["GET"]),
        Route("/ui/workflows/{rest:path}", page.workflow, methods=["GET"]),
        Route("/workflows/{rest:path}", page.workflow, methods=["GET", "POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC)),
    ]
    return security_headers(Starlette(routes=routes, lifespan=lifespan))


async def _sweep_forever(store: Store, options: AppOptions) -> None:
    pruned_at = 0.0
    while True:
        try:
            crashed = await run_in_threadpool(store.sweep)
            for workflow_id in crashed:
                logger.warning("dotflow backend: run %s is Crashed: its heartbeats stopped", workflow_id)
            if options.keep_days is not None and time.monotonic() - pruned_at >= PRUNE_EVERY:
                pruned_at = time.monotonic()
                gone = await run_in_threadpool(store.prune, options.keep_days)
                if gone:
                    logger.info("dotflow backend: deleted %d runs that ended over %g days ago", gone,
                                options.keep_days)
        except Exception as exc:  # a database that is away for a while: say so, try again
            logger.error("dotflow backend: the sweeper failed (%s: %s); trying again", type(exc).__name__,
                         _short(exc))
        await asyncio.sleep(options.sweep_every)


def _short(exc: Any) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else ""
