"""ServerAPI, the provider that reports to a remote HTTP API, split by responsibility:

- ``options``: each setting's default and validator, shared with the profile schema;
- ``api``: the Server hooks, their routes and delivery outcomes, and ``ping``.

The delivery queue, the retry policy and the HTTP transport (no redirects, encoded ids kept,
bounded reads), which any remote provider can use, are in ``dotflow.delivery``.
The names below load on first use, so the profile schema can read ``options`` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotflow.lazy import LazyExports as _LazyExports

if TYPE_CHECKING:
    from dotflow.delivery.http import PingResult, PingStatus
    from dotflow.providers.server_api.api import TASK_RESULT_MAX, ServerAPI
    from dotflow.redact import mask_url

_LAZY = _LazyExports(__name__, {
    "PingResult": "dotflow.delivery.http",
    "PingStatus": "dotflow.delivery.http",
    "ServerAPI": "dotflow.providers.server_api.api",
    "TASK_RESULT_MAX": "dotflow.providers.server_api.api",
    "mask_url": "dotflow.redact",
}, globals())

__all__ = ["PingResult", "PingStatus", "ServerAPI", "TASK_RESULT_MAX", "mask_url"]


def __getattr__(name: str) -> Any:
    return _LAZY.load(name)
