"""Config: the providers of a workflow: where results go, who hears about it, and when it runs."""

from __future__ import annotations

import sys
import threading
from importlib import import_module
from typing import TYPE_CHECKING, Any

from dotflow.errors import UsageError

if TYPE_CHECKING:
    from dotflow.abc.log import Log
    from dotflow.abc.metrics import Metrics
    from dotflow.abc.notify import Notify
    from dotflow.abc.scheduler import Scheduler
    from dotflow.abc.server import Server
    from dotflow.abc.storage import Storage
    from dotflow.abc.tracer import Tracer

# role -> (contract module, contract class, default provider module, default class), in 1.x's order
_ROLES: dict[str, tuple[str, str, str, str]] = {
    "storage": ("dotflow.abc.storage", "Storage", "dotflow.providers.storage_default", "StorageDefault"),
    "notify": ("dotflow.abc.notify", "Notify", "dotflow.providers.notify_default", "NotifyDefault"),
    "log": ("dotflow.abc.log", "Log", "dotflow.providers.log_default", "LogDefault"),
    "server": ("dotflow.abc.server", "Server", "dotflow.providers.server_default", "ServerDefault"),
    "scheduler": ("dotflow.abc.scheduler", "Scheduler", "dotflow.providers.scheduler_default", "SchedulerDefault"),
    "tracer": ("dotflow.abc.tracer", "Tracer", "dotflow.providers.tracer_default", "TracerDefault"),
    "metrics": ("dotflow.abc.metrics", "Metrics", "dotflow.providers.metrics_default", "MetricsDefault"),
}


class Config:
    """The providers of one workflow, with dotflow 1.x's keywords and positional order:
    ``Config(storage, notify, log, server, scheduler, tracer, metrics)``.

    Anything left out is the built-in one: results in memory, no notifications, status
    records on the standard ``dotflow`` logger (``LogDefault(output="logger")``: the library
    attaches no handler), no server, no scheduler, no tracing, no metrics. A built-in provider
    is made the first time its attribute is read, so a run never imports the no-op ones.
    """

    __slots__ = tuple(f"_{role}" for role in _ROLES)
    storage: Storage
    notify: Notify
    log: Log
    server: Server
    scheduler: Scheduler
    tracer: Tracer
    metrics: Metrics

    def __init__(
        self,
        storage: Storage | None = None,
        notify: Notify | None = None,
        log: Log | None = None,
        server: Server | None = None,
        scheduler: Scheduler | None = None,
        tracer: Tracer | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        given = {"storage": storage, "notify": notify, "log": log, "server": server, "scheduler": scheduler,
                 "tracer": tracer, "metrics": metrics}
        for role, value in given.items():
            if value is not None:
                contract_module, contract_name = _ROLES[role][:2]
                _check(role, value, getattr(import_module(contract_module), contract_name))
            setattr(self, f"_{role}", value)

    def is_default(self, role: str) -> bool:
        """Whether ``role`` holds the built-in provider (made yet or not): ``ServerDefault``, say."""
        value = getattr(self, f"_{role}")
        if value is None:
            return True
        default_module = sys.modules.get(_ROLES[role][2])  # loaded whenever a value is of its class
        return default_module is not None and type(value) is getattr(default_module, _ROLES[role][3])

    @classmethod
    def from_profile(cls, name: str | None = None, **options: Any) -> Config:
        """Build the Config of a resolved profile (see ``dotflow.profiles.resolve``)."""
        # What resolve(name, **options).config() does, from the layers below Config: the
        # ResolvedProfile that resolve() returns makes Configs, so it sits above this module.
        from dotflow.profiles import build, precedence

        return Config(**build.providers(precedence.resolve(name, **options).settings))

    def __repr__(self) -> str:
        inner = ", ".join(f"{role}={getattr(self, role)!r}" for role in _ROLES)
        return f"Config({inner})"


def _provider(role: str) -> property:
    slot = f"_{role}"
    default_module, default_name = _ROLES[role][2:]

    def get(self: Config) -> Any:
        value = getattr(self, slot)
        if value is None:
            with _BUILDING:  # one instance even when two threads read it first at once
                value = getattr(self, slot)
                if value is None:
                    default = getattr(import_module(default_module), default_name)
                    value = default(output="logger") if role == "log" else default()
                    setattr(self, slot, value)
        return value

    def set(self, value: Any) -> None:
        setattr(self, slot, value)

    return property(get, set, doc=f"The {role} provider (``{default_name}()`` unless one was given).")


_BUILDING = threading.Lock()
for _role in _ROLES:
    setattr(Config, _role, _provider(_role))
del _role


def _check(role: str, value: Any, contract: type) -> None:
    if not isinstance(value, contract):
        raise UsageError(
            f"Config({role}=...) got {type(value).__name__}; pass an instance of a class "
            f"that subclasses dotflow.abc.{role}.{contract.__name__}"
        )
