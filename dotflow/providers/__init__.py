"""Built-in providers. Each lives in its own module and is imported on first use,
so ``import dotflow.providers`` pulls in no SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotflow.lazy import LazyExports as _LazyExports

if TYPE_CHECKING:
    from dotflow.providers.log_default import LogDefault
    from dotflow.providers.log_opentelemetry import LogOpenTelemetry
    from dotflow.providers.log_sentry import LogSentry
    from dotflow.providers.metrics_default import MetricsDefault
    from dotflow.providers.metrics_opentelemetry import MetricsOpenTelemetry
    from dotflow.providers.notify_apprise import NotifyApprise
    from dotflow.providers.notify_default import NotifyDefault
    from dotflow.providers.notify_discord import NotifyDiscord
    from dotflow.providers.notify_telegram import NotifyTelegram
    from dotflow.providers.scheduler_cron import SchedulerCron
    from dotflow.providers.scheduler_default import SchedulerDefault
    from dotflow.providers.server_api import ServerAPI
    from dotflow.providers.server_default import ServerDefault
    from dotflow.providers.storage_default import StorageDefault
    from dotflow.providers.storage_file import StorageFile
    from dotflow.providers.storage_gcs import StorageGCS
    from dotflow.providers.storage_s3 import StorageS3
    from dotflow.providers.tracer_default import TracerDefault
    from dotflow.providers.tracer_opentelemetry import TracerOpenTelemetry
    from dotflow.providers.tracer_sentry import TracerSentry

_LAZY = _LazyExports(__name__, {
    "LogDefault": "dotflow.providers.log_default",
    "LogOpenTelemetry": "dotflow.providers.log_opentelemetry",
    "LogSentry": "dotflow.providers.log_sentry",
    "MetricsDefault": "dotflow.providers.metrics_default",
    "MetricsOpenTelemetry": "dotflow.providers.metrics_opentelemetry",
    "NotifyApprise": "dotflow.providers.notify_apprise",
    "NotifyDefault": "dotflow.providers.notify_default",
    "NotifyDiscord": "dotflow.providers.notify_discord",
    "NotifyTelegram": "dotflow.providers.notify_telegram",
    "SchedulerCron": "dotflow.providers.scheduler_cron",
    "SchedulerDefault": "dotflow.providers.scheduler_default",
    "ServerAPI": "dotflow.providers.server_api",
    "ServerDefault": "dotflow.providers.server_default",
    "StorageDefault": "dotflow.providers.storage_default",
    "StorageFile": "dotflow.providers.storage_file",
    "StorageGCS": "dotflow.providers.storage_gcs",
    "StorageS3": "dotflow.providers.storage_s3",
    "TracerDefault": "dotflow.providers.tracer_default",
    "TracerOpenTelemetry": "dotflow.providers.tracer_opentelemetry",
    "TracerSentry": "dotflow.providers.tracer_sentry",
}, globals())

__all__ = [
    "LogDefault",
    "LogOpenTelemetry",
    "LogSentry",
    "MetricsDefault",
    "MetricsOpenTelemetry",
    "NotifyApprise",
    "NotifyDefault",
    "NotifyDiscord",
    "NotifyTelegram",
    "SchedulerCron",
    "SchedulerDefault",
    "ServerAPI",
    "ServerDefault",
    "StorageDefault",
    "StorageFile",
    "StorageGCS",
    "StorageS3",
    "TracerDefault",
    "TracerOpenTelemetry",
    "TracerSentry",
]


def __getattr__(name: str) -> Any:
    return _LAZY.load(name)


def __dir__() -> list[str]:
    return _LAZY.names()
