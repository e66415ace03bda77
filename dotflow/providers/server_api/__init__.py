"""ServerAPI, the provider that reports to a remote HTTP API, split by responsibility:

- ``options``: each setting's default and validator, shared with the profile schema;
- ``transport``: the HTTP connections (no redirects, encoded ids kept, bounded reads);
- ``_quickack``: the requests adapter that avoids the delayed-ACK stall of dev servers;
- ``api``: the Server hooks, their delivery outcomes, and ``ping``.

The delivery queue and retry policy, which any remote provider can use, are in ``dotflow.delivery``.
The names below load on first use, so the profile schema can read ``options`` alone.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dotflow.providers.server_api.api import TASK_RESULT_MAX, PingResult, PingStatus, ServerAPI
    from dotflow.redact import mask_url

_EXPORTS = {
    "PingResult": "dotflow.providers.server_api.api",
    "PingStatus": "dotflow.providers.server_api.api",
    "ServerAPI": "dotflow.providers.server_api.api",
    "TASK_RESULT_MAX": "dotflow.providers.server_api.api",
    "mask_url": "dotflow.redact",
}

__all__ = ["PingResult", "PingStatus", "ServerAPI", "TASK_RESULT_MAX", "mask_url"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dotflow.providers.server_api' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
