"""Built-in providers. Each lives in its own module and is imported on first use,
so ``import dotflow.providers`` pulls in no SDK."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

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

_MODULES = {
    "LogDefault": "log_default",
    "LogOpenTelemetry": "log_opentelemetry",
    "LogSentry": "log_sentry",
    "MetricsDefault": "metrics_default",
    "MetricsOpenTelemetry": "metrics_opentelemetry",
    "NotifyApprise": "notify_apprise",
    "NotifyDefault": "notify_default",
    "NotifyDiscord": "notify_discord",
    "NotifyTelegram": "notify_telegram",
    "SchedulerCron": "scheduler_cron",
    "SchedulerDefault": "scheduler_default",
    "ServerAPI": "server_api",
    "ServerDefault": "server_default",
    "StorageDefault": "storage_default",
    "StorageFile": "storage_file",
    "StorageGCS": "storage_gcs",
    "StorageS3": "storage_s3",
    "TracerDefault": "tracer_default",
    "TracerOpenTelemetry": "tracer_opentelemetry",
    "TracerSentry": "tracer_sentry",
}

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
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'dotflow.providers' has no attribute {name!r}")
    value = getattr(import_module(f"dotflow.providers.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
